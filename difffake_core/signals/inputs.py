"""Building a :class:`FaceSet` from the rows of the face-crops and embeddings tables."""

from __future__ import annotations

import numpy as np

from difffake_core.signals.base import FaceSet


def frame_landmarks(
    crop_landmarks: np.ndarray, crop_boxes: np.ndarray, crop_size: np.ndarray | int
) -> np.ndarray:
    """Crop-pixel landmarks back to frame pixels.

    Args:
        crop_landmarks: shape ``(N, 136)`` or ``(N, 68, 2)``, crop pixels.
        crop_boxes: shape ``(N, 4)``, the crop square ``(x0, y0, x1, y1)`` in frame pixels.
        crop_size: the crop side in pixels, scalar or ``(N,)``.

    Returns:
        Shape ``(N, 68, 2)`` float32 frame pixels.
    """
    lm = np.asarray(crop_landmarks, np.float64).reshape(-1, 68, 2)
    box = np.asarray(crop_boxes, np.float64).reshape(-1, 4)
    size = np.broadcast_to(np.asarray(crop_size, np.float64), (len(lm),))
    k = (box[:, 2] - box[:, 0]) / np.maximum(size, 1.0)
    return (lm * k[:, None, None] + box[:, None, :2]).astype(np.float32)


def build_faceset(
    key: str,
    frame_index: np.ndarray,
    track_id: np.ndarray,
    *,
    anchor_frame: np.ndarray | None = None,
    timestamp_s: np.ndarray | None = None,
    vectors: np.ndarray | None = None,
    logits: np.ndarray | None = None,
    crop_landmarks: np.ndarray | None = None,
    crop_boxes: np.ndarray | None = None,
    crop_size: np.ndarray | int | None = None,
    fps: float | None = None,
    texture: np.ndarray | None = None,
) -> FaceSet:
    """A FaceSet from table columns (landmarks converted to frame pixels when the crop boxes
    are known; ``None`` inputs stay missing, so the signals needing them say so)."""
    landmarks = None
    if crop_landmarks is not None and crop_boxes is not None and crop_size is not None:
        landmarks = frame_landmarks(crop_landmarks, crop_boxes, crop_size)
    if logits is not None and np.any(np.isnan(np.asarray(logits, np.float64))):
        logits = None
    return FaceSet(key=key, frame_index=frame_index, track_id=track_id, anchor_frame=anchor_frame,
                   timestamp_s=timestamp_s, vectors=vectors, logits=logits, landmarks=landmarks,
                   fps=fps, texture=texture)  # fmt: skip
