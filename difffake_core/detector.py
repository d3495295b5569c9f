"""A fitted DiffFake detector: extractor + pair anomaly model + threshold, saved as one folder.

Folder layout (no pickle anywhere)::

    detector.json            card: settings, threshold, validation figures, data versions
    extractor/               model.safetensors + card.json (see difffake_core.training)
    anomaly/                 pair model (arrays.safetensors + model.json)
    baseline/                single-frame model of the paper's "Baseline" (optional)

Scoring one video: embed its usable face crops, pair frames inside each face track, combine
and L2-normalise, take the pair log-likelihoods under the anomaly model; a track's
``fake_score`` is minus their mean and the video's is its most suspicious track's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd

from difffake_core.anomaly import AnomalyModel, load_anomaly_model, save_anomaly_model
from difffake_core.errors import ModelAssetError
from difffake_core.pairs import PairSet, build_pairs
from difffake_core.scoring import score_groups, video_verdicts

FORMAT = "difffake-detector/1"
CARD_FILE = "detector.json"


class Embedder(Protocol):
    def embed(self, batch: np.ndarray) -> np.ndarray:  # (N, H, W, 3) uint8 -> (N, D) float32
        ...


@dataclass(frozen=True)
class PairSettings:
    """How frames are paired and combined (the paper: ``paper`` strategy, ``sq_diff``)."""

    strategy: str = "paper"
    op: str = "sq_diff"
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


@dataclass
class Detector:
    """Everything needed to score a video. ``card`` holds the provenance written to disk."""

    anomaly: AnomalyModel
    threshold: float | None
    pairs: PairSettings = field(default_factory=PairSettings)
    baseline: AnomalyModel | None = None
    card: dict[str, Any] = field(default_factory=dict)

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
            return VideoScore(np.nan, np.nan, None, "too_few_frames", len(frames), 0,
                              len(set(tracks.tolist())), empty_pairs, pd.DataFrame())  # fmt: skip
        ps = video_pairs(key, frames, tracks, vectors, self.pairs)
        if len(ps) == 0:
            return VideoScore(np.nan, np.nan, None, "too_few_pairs", len(frames), 0,
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
            verdict=verdict["verdict"] if verdict["status"] == "ok" else None,
            status=str(verdict["status"]),
            frames_used=len(frames),
            pairs_used=len(ps),
            tracks=int(groups.shape[0]),
            pair_table=pair_table,
            track_table=groups,
        )

    # -- persistence ---------------------------------------------------------------------
    def save(self, directory: str | Path, extractor_dir: str | Path | None = None) -> Path:
        """Write the detector folder; ``extractor_dir`` is copied into ``extractor/``."""
        import shutil

        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        save_anomaly_model(self.anomaly, directory / "anomaly")
        if self.baseline is not None:
            save_anomaly_model(self.baseline, directory / "baseline")
        if extractor_dir is not None:
            shutil.copytree(extractor_dir, directory / "extractor", dirs_exist_ok=True)
        card = dict(self.card)
        card.update(
            format=FORMAT,
            threshold=self.threshold,
            pairs=self.pairs.__dict__,
            has_baseline=self.baseline is not None,
        )
        (directory / CARD_FILE).write_text(json.dumps(card, indent=2, sort_keys=True, default=str))
        return directory

    @classmethod
    def load(cls, directory: str | Path) -> Detector:
        directory = Path(directory)
        path = directory / CARD_FILE
        if not path.is_file():
            raise ModelAssetError(f"not a detector folder (no {CARD_FILE}): {directory}")
        card = json.loads(path.read_text())
        if card.get("format") != FORMAT:
            raise ModelAssetError(f"{path}: format {card.get('format')!r}, expected {FORMAT!r}")
        baseline = load_anomaly_model(directory / "baseline") if card.get("has_baseline") else None
        return cls(
            anomaly=load_anomaly_model(directory / "anomaly"),
            threshold=card.get("threshold"),
            pairs=PairSettings(**card.get("pairs", {})),
            baseline=baseline,
            card=card,
        )
