"""Signal ``sbi_head``: the extractor's own real-vs-pseudo-fake logit, per track.

The extractor is trained to tell real crops from self-blended pseudo-fakes; its classifier
logit (``logit_fake - logit_real``) is a detector in its own right. Per face track, two
statistics of the frame logits: the mean and the mean of the ``top_k`` largest. The model
fitted on real tracks is the mean and standard deviation of each statistic; a track's raw
score is the larger of its two z-scores (one-sided: only *more* fake-looking than reals is
suspicious) and the video's is its worst track's.

:func:`head_logits` computes the logit from embeddings and the classifier weights of an
extractor checkpoint: timm's ``forward_head(pre_logits=True)`` returns exactly the pooled
features the classifier's linear layer reads (dropout is off at inference), so
``logit = W f + b`` gives the same numbers as running the classifier on the image.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from difffake_core.errors import ModelAssetError
from difffake_core.signals.base import (
    SIGNALS,
    STATUS_MISSING_INPUT,
    FaceSet,
    Signal,
    SignalScore,
    empty_units_table,
    track_max,
)


def classifier_weights(checkpoint_dir: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """``(W (C, D), b (C,))`` of the extractor's classifier, read from its safetensors file.

    The classifier is the one ``(num_classes, embed_dim)`` matrix of the state dict (with its
    bias), named after the card's ``embed_dim`` and ``num_classes``.

    Raises:
        ModelAssetError: no checkpoint, or no unique classifier layer in it.
    """
    import json

    from safetensors.numpy import load_file

    directory = Path(checkpoint_dir)
    try:
        card = json.loads((directory / "card.json").read_text())
        state = load_file(str(directory / "model.safetensors"))
    except (OSError, ValueError) as exc:
        raise ModelAssetError(f"cannot read extractor checkpoint {directory}: {exc}") from None
    shape = (int(card.get("num_classes", 2)), int(card["embed_dim"]))
    heads = [k for k, v in state.items() if k.endswith(".weight") and tuple(v.shape) == shape]
    if len(heads) != 1:
        raise ModelAssetError(
            f"{directory}: expected one classifier weight of shape {shape}, found {heads}"
        )
    weight = state[heads[0]].astype(np.float64)
    bias = state.get(heads[0][: -len("weight")] + "bias")
    bias = np.zeros(shape[0]) if bias is None else bias.astype(np.float64)
    return weight, bias


def head_logits(vectors: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """Fake-vs-real logit per embedding: ``(N, D)`` -> ``(N,)`` float32.

    Two classes (0 = real, 1 = fake, as in training): ``logit_1 - logit_0``; one class: the
    logit itself.
    """
    vectors = np.asarray(vectors, np.float64)
    if vectors.ndim != 2 or vectors.shape[1] != weight.shape[1]:
        raise ValueError(f"vectors must have shape (N, {weight.shape[1]}), got {vectors.shape}")
    z = vectors @ weight.T + bias
    out = z[:, 1] - z[:, 0] if z.shape[1] >= 2 else z[:, 0]
    return out.astype(np.float32)


def _track_stats(values: np.ndarray, top_k: int) -> tuple[float, float]:
    v = np.sort(np.asarray(values, np.float64))[::-1]
    return float(v.mean()), float(v[: max(1, min(top_k, v.size))].mean())


@SIGNALS.register("sbi_head")
class SbiHeadSignal(Signal):
    """Track mean and top-k mean of the frame logits, z-scored against real tracks."""

    name = "sbi_head"
    requires = ("logits",)

    def __init__(self, top_k: int = 4, min_units: int = 4) -> None:
        if top_k < 1:
            raise ValueError(f"top_k must be >= 1, got {top_k}")
        self.top_k = top_k
        self.min_units = min_units

    def get_params(self) -> dict[str, Any]:
        return {"top_k": self.top_k, "min_units": self.min_units}

    def _stats(self, faces: FaceSet) -> pd.DataFrame:
        df = pd.DataFrame({"track_id": faces.track_id, "logit": faces.logits})
        rows = [(int(t), len(g), *_track_stats(g["logit"].to_numpy(), self.top_k))
                for t, g in df.groupby("track_id", sort=True)]  # fmt: skip
        return pd.DataFrame(rows, columns=["track_id", "n_units", "mean", "topk"])

    def fit(self, videos: Sequence[FaceSet]) -> SbiHeadSignal:
        stats = [self._stats(v) for v in videos if not self.missing(v) and len(v)]
        table = pd.concat(stats) if stats else pd.DataFrame(columns=["n_units", "mean", "topk"])
        table = table[table["n_units"] >= self.min_units]
        if len(table) < 2:
            raise ValueError(f"signal 'sbi_head': {len(table)} real tracks to fit on, need >= 2")
        X = table[["mean", "topk"]].to_numpy(np.float64)
        self.center_ = X.mean(axis=0)
        spread = X.std(axis=0)
        self.spread_ = np.where(spread > 1e-9, spread, 1.0)
        self.n_fit_units_ = int(len(table))
        return self

    def score(self, faces: FaceSet) -> SignalScore:
        if self.missing(faces) or len(faces) == 0:
            return SignalScore(np.nan, STATUS_MISSING_INPUT, units=empty_units_table())
        stats = self._stats(faces)
        z = (stats[["mean", "topk"]].to_numpy(np.float64) - self.center_) / self.spread_
        stats["raw"] = z.max(axis=1)
        # evidence rows: one per frame, "loglik" = minus the frame's logit (lower = faker)
        units = pd.DataFrame({"track_id": faces.track_id, "frame_a": faces.frame_index,
                              "frame_b": np.full(len(faces), -1, np.int64),
                              "loglik": -np.asarray(faces.logits, np.float64)})  # fmt: skip
        expanded = stats.loc[stats.index.repeat(stats["n_units"]), ["track_id", "raw"]]
        out = track_max(expanded, "raw", self.min_units, negate=False)
        out.units, out.n_units = units, len(units)
        out.tracks = stats[["track_id", "n_units", "raw"]].reset_index(drop=True)
        return out

    def _state(self):
        return (
            {"center": self.center_, "spread": self.spread_},
            {"n_fit_units": self.n_fit_units_},
            None,
        )

    def _restore(self, arrays, scalars, model) -> None:
        self.center_, self.spread_ = arrays["center"], arrays["spread"]
        self.n_fit_units_ = int(scalars["n_fit_units"])
