"""A calibrated int8 copy of an extractor's embedding graph, made once at detector fit time.

Static int8 quantisation needs activation ranges measured on inputs like the ones it will
see; scoring flows carry no training data, so :func:`quantize_extractor` runs at ``retrain``
on crops of the training reals (:func:`calibration_indices`: a seeded draw spread over the
real videos) and the result travels inside the detector folder::

    extractor/int8/embed.onnx   the quantised graph (input ``images`` (N, 3, S, S) float32
                                normalised, output ``embeddings`` (N, D))
    extractor/int8/card.json    how it was made: settings, calibration digest and count, the
                                sha256 of ``embed.onnx`` and of the fp32 weights it quantises

The detector's ``checksums.json`` covers both files; :func:`load_int8` also checks the card
against the bytes and the weights beside it, so a bare extractor folder cannot pair an int8
graph with other weights. The ``int8-onnx`` runtime loads it with :func:`stored_int8`.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from difffake_core.errors import ModelAssetError

INT8_DIR = "int8"
INT8_MODEL = "embed.onnx"
INT8_CARD = "card.json"
INT8_FORMAT = "difffake-int8/1"
DEFAULT_CALIBRATION_CROPS = 256
# Kept in float: the stem convolution sees raw pixels, the head convolution and pooling make
# the embedding itself (measured: quantising them costs the most pair-vector agreement).
DEFAULT_EXCLUDE = ("/conv_stem/Conv", "/conv_head/Conv", "/bn2/act/Clip",
                   "/global_pool/pool/GlobalAveragePool")  # fmt: skip


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def weights_sha256(checkpoint_dir: str | os.PathLike) -> str:
    """sha256 of an extractor checkpoint's ``model.safetensors``."""
    from difffake_core.training.checkpoint import MODEL_FILE

    return _sha256((Path(checkpoint_dir) / MODEL_FILE).read_bytes())


def is_real_label(label: Any) -> bool:
    """``"real"``, or no label at all (an unlabelled corpus counts as real footage)."""
    if label is None or (isinstance(label, float) and np.isnan(label)):
        return True
    return str(label) == "real"


def calibration_indices(
    video_ids: Sequence[Any], labels: Sequence[Any], n: int, seed: int
) -> np.ndarray:
    """Indices of at most ``n`` crop rows of *real* videos for int8 calibration, ascending.

    Spread over videos: the real videos in a seeded order, one crop of each per round (each
    video's crops in a seeded order) until ``n`` are drawn, so a long video cannot fill the
    set alone. Rows of fake videos are never drawn. Same inputs and seed, same indices.

    Args:
        video_ids, labels: shape ``(N,)``, one entry per crop row.
    """
    video_ids = np.asarray(video_ids, dtype=object)
    if len(video_ids) != len(labels):
        raise ValueError(f"video_ids and labels differ in length: {len(video_ids)}, {len(labels)}")
    real = np.flatnonzero([is_real_label(v) for v in labels])
    rng = np.random.default_rng(seed)
    ids = sorted({str(v) for v in video_ids[real]})
    queues = {}
    for vid in (ids[i] for i in rng.permutation(len(ids))):
        rows = real[np.asarray([str(v) == vid for v in video_ids[real]], bool)]
        queues[vid] = list(rows[rng.permutation(len(rows))])
    picked: list[int] = []
    while len(picked) < n and any(queues.values()):
        for queue in queues.values():
            if queue and len(picked) < n:
                picked.append(int(queue.pop(0)))
    return np.sort(np.asarray(picked, np.int64))


@dataclass(frozen=True)
class Int8Settings:
    """How the graph is quantised (onnxruntime ``quantize_static``): QDQ format, symmetric
    per-channel int8 weights, uint8 activations with min-max ranges; ``exclude``: node names
    left in float."""

    crops: int = DEFAULT_CALIBRATION_CROPS
    seed: int = 0
    quant_format: str = "qdq"
    per_channel: bool = True
    calibrate_method: str = "minmax"
    exclude: tuple[str, ...] = DEFAULT_EXCLUDE
    batch_size: int = 8

    def as_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "exclude": list(self.exclude)}


@dataclass
class Int8Model:
    """A quantised embedding graph (``onnx``: the model bytes) and its card."""

    onnx: bytes
    card: dict[str, Any] = field(default_factory=dict)

    @property
    def sha256(self) -> str:
        return _sha256(self.onnx)


def quantize_extractor(
    model, calibration: np.ndarray, weights_digest: str, settings: Int8Settings | None = None
) -> Int8Model:
    """Quantise ``model``'s embedding graph with ``calibration`` crops.

    Args:
        model: a :class:`~difffake_core.models.backbones.FaceExtractor`.
        calibration: ``(N, H, W, 3)`` uint8 RGB crops of real faces (see
            :func:`calibration_indices`), resized by the model's preprocessing.
        weights_digest: :func:`weights_sha256` of the checkpoint ``model`` was loaded from.
    """
    from difffake_core.runtime import _check_batch, export_onnx, quantize_onnx

    settings = settings or Int8Settings()
    calibration = _check_batch(calibration)
    if len(calibration) == 0:
        raise ValueError("int8 calibration needs at least one face crop, got 0")
    from difffake_core.runtime import calibration_digest

    with tempfile.TemporaryDirectory() as tmp:
        fp32 = export_onnx(model.eval(), Path(tmp) / "embed.onnx")
        out = quantize_onnx(
            fp32, Path(tmp) / "embed.int8.onnx", "static",
            model.preprocess(calibration).numpy(), batch_size=settings.batch_size,
            quant_format=settings.quant_format, per_channel=settings.per_channel,
            calibrate_method=settings.calibrate_method, exclude=settings.exclude,
        )  # fmt: skip
        data = out.read_bytes()
    import onnxruntime

    card = {
        "format": INT8_FORMAT,
        "settings": settings.as_dict(),
        "calibration_crops": len(calibration),
        "calibration_sha256": calibration_digest(calibration),
        "weights_sha256": weights_digest,
        "onnx_sha256": _sha256(data),
        "input_size": int(model.input_size),
        "embed_dim": int(model.embed_dim),
        "onnxruntime": onnxruntime.__version__,
    }
    return Int8Model(onnx=data, card=card)


def save_int8(int8: Int8Model, checkpoint_dir: str | os.PathLike) -> Path:
    """Write ``int8/embed.onnx`` and ``int8/card.json`` into an extractor folder."""
    folder = Path(checkpoint_dir) / INT8_DIR
    folder.mkdir(parents=True, exist_ok=True)
    (folder / INT8_MODEL).write_bytes(int8.onnx)
    (folder / INT8_CARD).write_text(json.dumps(int8.card, indent=2, sort_keys=True))
    return folder


def has_int8(checkpoint_dir: str | os.PathLike) -> bool:
    return (Path(checkpoint_dir) / INT8_DIR / INT8_CARD).is_file()


def load_int8(checkpoint_dir: str | os.PathLike) -> Int8Model:
    """The int8 model stored in an extractor folder, checked against its card and weights.

    Raises:
        ModelAssetError: none stored, an unreadable card, bytes that differ from the card's
            sha256, or a card made for other weights than the folder's ``model.safetensors``.
    """
    folder = Path(checkpoint_dir) / INT8_DIR
    card_path, model_path = folder / INT8_CARD, folder / INT8_MODEL
    if not card_path.is_file() or not model_path.is_file():
        raise ModelAssetError(
            f"{checkpoint_dir}: no calibrated int8 model ({INT8_DIR}/{INT8_MODEL}); detectors "
            "retrained by this version of difffake carry one (`difffake retrain`), or use "
            "runtime 'onnx'"
        )
    try:
        card = json.loads(card_path.read_text())
    except ValueError as exc:
        raise ModelAssetError(f"{card_path}: unreadable int8 card ({exc})") from exc
    if card.get("format") != INT8_FORMAT:
        raise ModelAssetError(
            f"{card_path}: format {card.get('format')!r}, expected {INT8_FORMAT!r}"
        )
    data = model_path.read_bytes()
    if _sha256(data) != card.get("onnx_sha256"):
        raise ModelAssetError(f"{model_path}: content differs from {card_path.name}; refused")
    if weights_sha256(checkpoint_dir) != card.get("weights_sha256"):
        raise ModelAssetError(
            f"{model_path}: quantised from other weights than {checkpoint_dir}'s; refused"
        )
    return Int8Model(onnx=data, card=card)
