"""A fitted DiffFake detector: extractor + signals + fusion (or, in the legacy pair-only
format, one pair anomaly model + threshold), saved as one folder.

Folder layout (no pickle anywhere)::

    checksums.json           sha256 and size of every other file (verified on load)
    detector.json            card: settings, threshold, validation figures, data versions
    extractor/               model.safetensors + card.json (see difffake_core.training),
                             int8/ its calibrated int8 graph (difffake_core.quantization)
    signals/<name>/          one fitted signal each (difffake_core.signals.persistence)
    fusion.json/.safetensors percentile references, fusion rule, fused threshold
    anomaly/, baseline/      legacy pair-only detectors (format difffake-detector/1)

Integrity: :meth:`Detector.save` writes ``checksums.json`` last; :meth:`Detector.load` refuses
a folder where any file is missing, altered or unlisted, naming the file. The detector's
``version`` is derived from that listing (:func:`content_version`), so two detectors with one
version have the same bytes, threshold included.

Fused scoring (:meth:`Detector.score_faces`): every signal scores the video's
:class:`~difffake_core.signals.FaceSet`; the raw scores become percentiles against the
calibration reals and combine into ``fake_score`` in ``[0, 1]``
(:mod:`difffake_core.signals.fusion`).

Legacy pair-only scoring:

Scoring one video: embed its usable face crops, pair frames inside each face track, combine
and L2-normalise, take the pair log-likelihoods under the anomaly model; a track's
``fake_score`` is minus their mean and the video's is its most suspicious track's.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from difffake_core.anomaly import AnomalyModel, load_anomaly_model, save_anomaly_model
from difffake_core.errors import ModelAssetError
from difffake_core.pairs import CombineOp, PairSet, PairStrategy, build_pairs
from difffake_core.scoring import score_groups, video_verdicts
from difffake_core.signals import FaceSet, Fusion, Signal
from difffake_core.signals.persistence import load_fusion, load_signal, save_fusion, save_signal
from difffake_core.status import Status

FORMAT = "difffake-detector/1"
FUSED_FORMAT = "difffake-detector/2"
CARD_FILE = "detector.json"
CHECKSUMS_FILE = "checksums.json"
CHECKSUMS_FORMAT = "difffake-checksums/1"
# Written next to an artifact's files by the catalog, not part of the detector.
FOREIGN_FILES = frozenset({"manifest.json"})


def _file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def _detector_files(directory: Path) -> list[str]:
    """Relative posix paths of the folder's files (hidden ones, the checksums file and
    the catalog's manifest left out)."""
    out = []
    for path in sorted(directory.rglob("*")):
        rel = path.relative_to(directory)
        if path.is_dir() or any(p.startswith(".") for p in rel.parts):
            continue
        if rel.as_posix() == CHECKSUMS_FILE or rel.as_posix() in FOREIGN_FILES:
            continue
        out.append(rel.as_posix())
    return out


def content_version(files: dict[str, dict[str, Any]]) -> str:
    """The detector version: 16 hex digits of the sha256 of its file listing."""
    blob = json.dumps(files, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def write_checksums(directory: str | Path) -> str:
    """Write ``checksums.json`` covering every file of ``directory``; returns the version."""
    directory = Path(directory)
    files = {
        rel: {"sha256": _file_digest(directory / rel), "bytes": (directory / rel).stat().st_size}
        for rel in _detector_files(directory)
    }
    doc = {"format": CHECKSUMS_FORMAT, "files": files}
    (directory / CHECKSUMS_FILE).write_text(json.dumps(doc, indent=2, sort_keys=True))
    return content_version(files)


def verify_checksums(directory: str | Path) -> str:
    """Check every file of a detector folder against ``checksums.json``; returns the version.

    Raises:
        ModelAssetError: no checksums (an older detector), or a file missing, altered or
            not listed; the message names the file.
    """
    directory = Path(directory)
    path = directory / CHECKSUMS_FILE
    if not path.is_file():
        raise ModelAssetError(
            f"{directory}: no {CHECKSUMS_FILE}, so its files cannot be verified (a detector "
            "saved by difffake before detectors were checksummed): retrain it with "
            "`difffake retrain`"
        )
    try:
        doc = json.loads(path.read_text())
        files = doc["files"]
    except (ValueError, KeyError, TypeError) as exc:
        raise ModelAssetError(f"{path}: unreadable checksums ({exc})") from exc
    if doc.get("format") != CHECKSUMS_FORMAT:
        raise ModelAssetError(
            f"{path}: format {doc.get('format')!r}, expected {CHECKSUMS_FORMAT!r}"
        )
    for rel, want in sorted(files.items()):
        file = directory / rel
        if not file.is_file():
            raise ModelAssetError(f"{file}: listed in {CHECKSUMS_FILE} but missing")
        if file.stat().st_size != want["bytes"] or _file_digest(file) != want["sha256"]:
            raise ModelAssetError(
                f"{file}: content differs from {CHECKSUMS_FILE} (altered or damaged); "
                "the detector is refused"
            )
    extra = sorted(set(_detector_files(directory)) - set(files))
    if extra:
        raise ModelAssetError(f"{directory / extra[0]}: not listed in {CHECKSUMS_FILE}")
    return content_version(files)


@dataclass(frozen=True)
class PairSettings:
    """How frames are paired and combined (the paper: ``paper`` strategy, ``sq_diff``)."""

    strategy: PairStrategy = PairStrategy.PAPER
    op: CombineOp = CombineOp.SQ_DIFF
    images_to_pair: int = 8
    seed: int = 0
    min_pairs: int = 4


def l2_normalise(x: np.ndarray) -> np.ndarray:
    """Row-wise L2 normalisation, zero rows stay zero. ``(N, D)`` -> ``(N, D)`` float32."""
    x = np.asarray(x, np.float32)
    norm = np.linalg.norm(x, axis=1, keepdims=True)
    return np.divide(x, norm, out=np.zeros_like(x), where=norm > 0)


def video_pairs(
    key: str, frames: np.ndarray, tracks: np.ndarray, vectors: np.ndarray, pairs: PairSettings
) -> PairSet:
    """Pairs of one video (inside each track), seeded by ``key`` so they are reproducible."""
    return build_pairs(
        np.full(len(frames), key, dtype=object),
        frames,
        vectors,
        pairs.strategy,
        pairs.op,
        np.random.default_rng(pairs.seed),  # build_pairs derives each video's stream from key
        pairs.images_to_pair,
        group_ids=tracks,
    )


@dataclass
class VideoScore:
    """Result of scoring one video (``fake_score`` higher = more likely fake)."""

    fake_score: float
    baseline_score: float
    verdict: str | None
    status: str
    frames_used: int
    pairs_used: int
    tracks: int
    pair_table: pd.DataFrame
    track_table: pd.DataFrame
    driving_signal: str | None = None
    percentiles: dict[str, float] = field(default_factory=dict)
    raw: dict[str, float] = field(default_factory=dict)
    signal_status: dict[str, str] = field(default_factory=dict)


@dataclass
class Detector:
    """Everything needed to score a video. ``card`` holds the provenance written to disk.

    A fused detector has ``signals`` and ``fusion`` (``anomaly`` None); a legacy one has
    ``anomaly`` (and optionally ``baseline``).
    """

    anomaly: AnomalyModel | None
    threshold: float | None
    pairs: PairSettings = field(default_factory=PairSettings)
    baseline: AnomalyModel | None = None
    card: dict[str, Any] = field(default_factory=dict)
    signals: dict[str, Signal] | None = None
    fusion: Fusion | None = None
    version: str | None = None  # content version, set by save and load

    @property
    def is_fused(self) -> bool:
        return self.signals is not None and self.fusion is not None

    def score_faces(self, faces: FaceSet) -> VideoScore:
        """Fused score of one video's faces (needs a fused detector).

        The pair table holds every signal's units (column ``signal``); ``pairs_used`` counts
        the ``pairs`` signal's pairs (or all units without it).
        """
        if not self.is_fused:
            raise ValueError("score_faces needs a fused detector (signals + fusion)")
        results = {name: sig.score(faces) for name, sig in self.signals.items()}
        raw = {name: np.array([r.raw], np.float64) for name, r in results.items()}
        fused = self.fusion.score(raw)
        pct = dict(zip(self.fusion.signals, fused["percentiles"][0].tolist(), strict=True))
        fake = float(fused["fake_score"][0])
        tables = [r.units.assign(signal=name) for name, r in results.items() if len(r.units)]
        units = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(
            columns=["track_id", "frame_a", "frame_b", "loglik", "signal"])  # fmt: skip
        tracks = [r.tracks.assign(signal=name) for name, r in results.items() if len(r.tracks)]
        n_pairs = results["pairs"].n_units if "pairs" in results else len(units)
        status = Status.OK if np.isfinite(fake) else Status.TOO_FEW_PAIRS
        return VideoScore(
            fake_score=fake,
            baseline_score=float(results["frame"].raw) if "frame" in results else np.nan,
            verdict=fused["verdict"][0] if status == Status.OK else None,
            status=status,
            frames_used=int(np.count_nonzero(faces.is_sampled)),
            pairs_used=int(n_pairs),
            tracks=len(set(faces.track_id.tolist())),
            pair_table=units,
            track_table=pd.concat(tracks, ignore_index=True) if tracks else pd.DataFrame(),
            driving_signal=fused["driving"][0],
            percentiles=pct,
            raw={name: float(r.raw) for name, r in results.items()},
            signal_status={name: r.status for name, r in results.items()},
        )

    def score_embeddings(
        self, key: str, frames: np.ndarray, tracks: np.ndarray, vectors: np.ndarray
    ) -> VideoScore:
        """Score one video from its face embeddings.

        Args:
            key: stable id of the content (its sha256): seeds the pairing.
            frames, tracks: shape ``(N,)`` frame index and face-track id of each embedding.
            vectors: shape ``(N, D)`` embeddings.
        """
        frames = np.asarray(frames, np.int64)
        tracks = np.asarray(tracks, np.int64)
        empty_pairs = pd.DataFrame(columns=["track_id", "frame_a", "frame_b", "loglik"])
        if len(frames) < 2:
            return VideoScore(np.nan, np.nan, None, Status.TOO_FEW_FRAMES, len(frames), 0,
                              len(set(tracks.tolist())), empty_pairs, pd.DataFrame())  # fmt: skip
        ps = video_pairs(key, frames, tracks, vectors, self.pairs)
        if len(ps) == 0:
            return VideoScore(np.nan, np.nan, None, Status.TOO_FEW_PAIRS, len(frames), 0,
                              len(set(tracks.tolist())), empty_pairs, pd.DataFrame())  # fmt: skip
        loglik = self.anomaly.score_samples(ps.vectors)
        groups = score_groups(ps.video_id, ps.group_id, loglik)
        verdict = video_verdicts(groups, self.pairs.min_pairs, self.threshold).iloc[0]
        baseline = np.nan
        if self.baseline is not None:
            single = self.baseline.score_samples(l2_normalise(vectors))
            per_track = pd.Series(single).groupby(tracks).mean()
            baseline = float(-per_track.min())
        pair_table = pd.DataFrame(
            {"track_id": ps.group_id.astype(np.int64), "frame_a": ps.frame_a,
             "frame_b": ps.frame_b, "loglik": loglik}
        )  # fmt: skip
        fake = float(verdict["fake_score"]) if pd.notna(verdict["fake_score"]) else np.nan
        return VideoScore(
            fake_score=fake,
            baseline_score=baseline,
            verdict=verdict["verdict"] if verdict["status"] == Status.OK else None,
            status=str(verdict["status"]),
            frames_used=len(frames),
            pairs_used=len(ps),
            tracks=int(groups.shape[0]),
            pair_table=pair_table,
            track_table=groups,
        )

    # -- persistence ---------------------------------------------------------------------
    def save(
        self, directory: str | Path, extractor_dir: str | Path | None = None, int8=None
    ) -> Path:
        """Write the detector folder; ``extractor_dir`` is copied into ``extractor/``.

        ``int8``: a calibrated :class:`~difffake_core.quantization.Int8Model` of that
        extractor, written to ``extractor/int8/`` (covered by the checksums like every file);
        it must have been made from the very weights of ``extractor_dir``.
        """
        import shutil

        from difffake_core.quantization import save_int8, weights_sha256

        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        if self.is_fused:
            for name, sig in self.signals.items():
                save_signal(sig, directory / "signals" / name)
            save_fusion(self.fusion, directory)
        if self.anomaly is not None:
            save_anomaly_model(self.anomaly, directory / "anomaly")
        if self.baseline is not None:
            save_anomaly_model(self.baseline, directory / "baseline")
        if extractor_dir is not None:
            shutil.copytree(extractor_dir, directory / "extractor", dirs_exist_ok=True)
        card = dict(self.card)
        if int8 is not None:
            if extractor_dir is None:
                raise ValueError("an int8 model is saved with its extractor: pass extractor_dir")
            if int8.card.get("weights_sha256") != weights_sha256(extractor_dir):
                raise ValueError(
                    f"the int8 model was quantised from other weights than {extractor_dir}'s"
                )
            save_int8(int8, directory / "extractor")
            card["int8"] = {k: int8.card[k] for k in ("onnx_sha256", "calibration_crops",
                            "calibration_sha256", "settings") if k in int8.card}  # fmt: skip
        card.update(
            format=FUSED_FORMAT if self.is_fused else FORMAT,
            signals=list(self.signals) if self.is_fused else None,
            threshold=self.fusion.threshold if self.is_fused else self.threshold,
            pairs=self.pairs.__dict__,
            has_baseline=self.baseline is not None,
        )
        (directory / CARD_FILE).write_text(json.dumps(card, indent=2, sort_keys=True, default=str))
        self.version = write_checksums(directory)  # last: covers every file above
        return directory

    @classmethod
    def load(cls, directory: str | Path) -> Detector:
        """Load a detector folder after verifying every file (see :func:`verify_checksums`)."""
        directory = Path(directory)
        path = directory / CARD_FILE
        if not path.is_file():
            raise ModelAssetError(f"not a detector folder (no {CARD_FILE}): {directory}")
        version = verify_checksums(directory)
        card = json.loads(path.read_text())
        if card.get("format") not in (FORMAT, FUSED_FORMAT):
            raise ModelAssetError(
                f"{path}: format {card.get('format')!r}, expected {FUSED_FORMAT!r} or {FORMAT!r}"
            )
        if card["format"] == FUSED_FORMAT:
            signals = {n: load_signal(directory / "signals" / n) for n in card["signals"]}
            fusion = load_fusion(directory)
            return cls(anomaly=None, threshold=fusion.threshold,
                       pairs=PairSettings(**card.get("pairs", {})), card=card, signals=signals,
                       fusion=fusion, version=version)  # fmt: skip
        baseline = load_anomaly_model(directory / "baseline") if card.get("has_baseline") else None
        return cls(
            anomaly=load_anomaly_model(directory / "anomaly"),
            threshold=card.get("threshold"),
            pairs=PairSettings(**card.get("pairs", {})),
            baseline=baseline,
            card=card,
            version=version,
        )
