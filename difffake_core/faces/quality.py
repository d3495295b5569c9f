"""Is a found face usable for masks and pairs? One status per face instead of a bad crop.

Statuses, checked in this order (the first that applies wins):

* ``face_too_small``: mesh height below ``min_face_px`` pixels or ``min_face_frac`` of the
  frame height (a crop would be mostly interpolation);
* ``low_confidence``: detector score below ``min_confidence``, or a mesh that collapsed (non-finite
  points, or a mesh much smaller than the detector's box);
* ``partial_face``: more than ``max_outside_frac`` of the mesh box lies outside the frame (the
  landmarker extrapolated the missing part);
* ``extreme_pose``: ``|yaw| > max_abs_yaw`` or ``|pitch| > max_abs_pitch`` degrees (profiles and
  heads bent far up/down: the 68-point layout and the blending masks assume a visible face);
* ``ok``.

A face with unknown pose (NaN, no transformation matrix) is not rejected for its pose.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from difffake_core.faces.analyzer import FaceObservation

FACE_STATUSES = ("ok", "face_too_small", "low_confidence", "partial_face", "extreme_pose")


@dataclass(frozen=True)
class QualityThresholds:
    """Limits of a usable face (declared once here; :class:`~difffake_core.ingest.IngestParams`
    takes its defaults from these)."""

    min_face_px: float = 32.0
    min_face_frac: float = 0.0
    min_confidence: float = 0.5
    max_outside_frac: float = 0.25
    max_abs_yaw: float = 45.0
    max_abs_pitch: float = 40.0
    min_mesh_to_box: float = 0.4


def outside_fraction(box: np.ndarray, frame_hw: tuple[int, int]) -> float:
    """Fraction of the area of ``box`` (x0, y0, x1, y1) that lies outside the frame."""
    h, w = frame_hw
    x0, y0, x1, y1 = (float(v) for v in box)
    area = max(x1 - x0, 0.0) * max(y1 - y0, 0.0)
    if area <= 0:
        return 1.0
    inside = max(min(x1, w) - max(x0, 0.0), 0.0) * max(min(y1, h) - max(y0, 0.0), 0.0)
    return 1.0 - inside / area


def is_collapsed(face: FaceObservation, min_mesh_to_box: float = 0.4) -> bool:
    """Landmarks that are not a face: non-finite, or a mesh far smaller than its detector box."""
    if not (np.isfinite(face.landmarks68).all() and np.isfinite(face.box).all()):
        return True
    d = face.detection_box
    dw, dh = float(d[2] - d[0]), float(d[3] - d[1])
    mw, mh = float(face.box[2] - face.box[0]), float(face.box[3] - face.box[1])
    return mw < min_mesh_to_box * dw or mh < min_mesh_to_box * dh


def face_status(
    face: FaceObservation, frame_hw: tuple[int, int], thresholds: QualityThresholds
) -> str:
    """The status of one face (see the module docstring); ``"ok"`` when it is usable."""
    t = thresholds
    if face.height < t.min_face_px or face.height < t.min_face_frac * frame_hw[0]:
        return "face_too_small"
    if face.score < t.min_confidence or is_collapsed(face, t.min_mesh_to_box):
        return "low_confidence"
    if outside_fraction(face.box, frame_hw) > t.max_outside_frac:
        return "partial_face"
    yaw, pitch = abs(face.yaw), abs(face.pitch)
    if (not math.isnan(yaw) and yaw > t.max_abs_yaw) or (
        not math.isnan(pitch) and pitch > t.max_abs_pitch
    ):
        return "extreme_pose"
    return "ok"
