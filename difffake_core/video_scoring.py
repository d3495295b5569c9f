"""One video's faces -> its detector score: the numerics of bulk scoring, without I/O.

:func:`score_faces` embeds the usable face rows of a :class:`~difffake_core.ingest.VideoFaces`
and scores them with a :class:`~difffake_core.detector.Detector` (fused signals, or the
legacy pair-only model on sampled frames); :func:`score_values` turns the result into the
flat values of one scores row, :func:`pair_rows` into its pair/unit table.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from difffake_core.detector import Detector, VideoScore
from difffake_core.faces.texture import crop_textures
from difffake_core.ingest import FrameFace
from difffake_core.signals import build_faceset, head_logits
from difffake_core.status import Status

PAIR_COLUMNS = ("track_id", "frame_a", "frame_b", "loglik", "signal")


def finite_or_none(value: float | None) -> float | None:
    """``value`` as a float, or None when missing or not finite (NaN, inf)."""
    return None if value is None or not np.isfinite(value) else float(value)


def score_faces(
    detector: Detector,
    key: str,
    faces: Sequence[FrameFace],
    embed: Callable[[list[bytes]], np.ndarray],
    head: tuple[np.ndarray, np.ndarray] | None = None,
    crop_size: int = 224,
    fps: float | None = None,
) -> VideoScore:
    """Score one video from its usable face rows.

    Args:
        key: stable id of the content (its sha256): seeds the pairing.
        faces: usable rows (status ok), sampled and neighbour frames.
        embed: crops (encoded bytes or RGB pixels) -> embeddings, shape ``(N, D)``.
        head: the extractor's classifier ``(weights, bias)`` for the ``sbi_head`` signal.
    """
    crops = [r.crop if r.image is None else r.image for r in faces]
    vectors = embed(crops)
    frames = np.array([r.frame_index for r in faces], np.int64)
    tracks = np.array([r.track_id for r in faces], np.int64)
    sampled = np.array([r.anchor_frame is None for r in faces], bool)
    if not detector.is_fused:  # legacy pair-only detectors: sampled frames only
        return detector.score_embeddings(key, frames[sampled], tracks[sampled], vectors[sampled])
    anchors = [r.frame_index if r.anchor_frame is None else r.anchor_frame for r in faces]
    crop_lm = np.array([r.landmarks for r in faces], np.float64).reshape(-1, 136)
    texture = None
    if "texture" in detector.signals:  # measured on sampled crops only, as in training
        texture = crop_textures(crops, crop_lm, measure=sampled)
    fs = build_faceset(
        key, frames, tracks, anchor_frame=np.array(anchors, np.int64),
        timestamp_s=np.array([r.timestamp_s for r in faces], np.float64),
        vectors=vectors,
        logits=head_logits(vectors, *head) if head and len(vectors) else None,
        crop_landmarks=crop_lm,
        crop_boxes=np.array([r.bbox for r in faces], np.float64).reshape(-1, 4),
        crop_size=crop_size, fps=fps, texture=texture,
    )  # fmt: skip
    return detector.score_faces(fs)


def score_values(result: VideoScore, threshold: float | None, n_faces: int) -> dict[str, Any]:
    """The values of one scores row (``pct_{signal}`` / ``raw_{signal}`` per signal)."""
    values: dict[str, Any] = {f"pct_{k}": finite_or_none(v) for k, v in result.percentiles.items()}
    values.update({f"raw_{k}": finite_or_none(v) for k, v in result.raw.items()})
    ok = result.status == Status.OK
    values.update(
        fake_score=finite_or_none(result.fake_score),
        baseline_score=finite_or_none(result.baseline_score),
        verdict=result.verdict, threshold=threshold, frames_used=result.frames_used,
        pairs_used=result.pairs_used, tracks=result.tracks, status=result.status,
        driving_signal=result.driving_signal,
        error=None if ok else f"{result.status}: {n_faces} usable face frames",
    )  # fmt: skip
    return values


def pair_rows(result: VideoScore, video_id: str) -> pd.DataFrame:
    """The pair (or signal unit) table of one video: ``video_id`` + :data:`PAIR_COLUMNS`."""
    table = result.pair_table.assign(video_id=video_id)
    if "signal" not in table:
        table = table.assign(signal="pairs")
    return table[["video_id", *PAIR_COLUMNS]]
