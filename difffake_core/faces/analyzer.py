"""Face detection and landmarks with MediaPipe Tasks.

Two stages, both from the one Face Landmarker bundle:

1. the bundle's BlazeFace detector on the whole frame gives boxes and confidences;
2. the Face Landmarker runs on an enlarged square region around each box, so the mesh is fitted
   at a useful resolution, and its 478 points are mapped back to frame pixels.

One :class:`FaceAnalyzer` is not thread-safe: use one per thread.
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from difffake_core.faces.assets import resolve_face_model
from difffake_core.faces.layout68 import to_68


_STDERR_LOCK = threading.Lock()


@contextlib.contextmanager
def quiet_native_stderr(enabled: bool = True) -> Iterator[None]:
    """Silence the C++ logs MediaPipe/LiteRT print on file descriptor 2 while graphs start."""
    if not enabled:
        yield
        return
    with _STDERR_LOCK:
        sys.stderr.flush()
        saved = os.dup(2)
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, 2)
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            os.close(devnull)


@dataclass
class FaceObservation:
    """One face in one frame (all coordinates in frame pixels).

    ``box``: tight box of the mesh ``(x0, y0, x1, y1)``; ``landmarks478``: ``(478, 3)`` (x, y in
    pixels, z relative depth); ``landmarks68``: ``(68, 2)``; ``score``: detector confidence;
    ``yaw``/``pitch``/``roll`` in degrees from the landmarker's head-pose matrix.
    """

    box: np.ndarray
    landmarks478: np.ndarray
    landmarks68: np.ndarray
    score: float
    yaw: float
    pitch: float
    roll: float
    detection_box: np.ndarray

    @property
    def height(self) -> float:
        return float(self.box[3] - self.box[1])

    @property
    def area(self) -> float:
        return float((self.box[2] - self.box[0]) * (self.box[3] - self.box[1]))


def pose_from_matrix(matrix: np.ndarray) -> tuple[float, float, float]:
    """(yaw, pitch, roll) in degrees from a 4x4 facial transformation matrix."""
    r = np.asarray(matrix, np.float64)[:3, :3]
    sy = math.hypot(r[0, 0], r[1, 0])
    pitch = math.degrees(math.atan2(r[2, 1], r[2, 2]))
    yaw = math.degrees(math.atan2(-r[2, 0], sy))
    roll = math.degrees(math.atan2(r[1, 0], r[0, 0]))
    return yaw, pitch, roll


def _square(box: np.ndarray, scale: float, hw: tuple[int, int]) -> tuple[int, int, int, int]:
    h, w = hw
    x0, y0, x1, y1 = box
    side = max(x1 - x0, y1 - y0) * scale
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    return (
        max(0, int(cx - side / 2)),
        max(0, int(cy - side / 2)),
        min(w, int(math.ceil(cx + side / 2))),
        min(h, int(math.ceil(cy + side / 2))),
    )


class FaceAnalyzer:
    """Find faces in RGB frames and fit the 478-point mesh to each.

    Args:
        model_path: Face Landmarker ``.task`` bundle; resolved by
            :func:`~difffake_core.faces.assets.resolve_face_model` when ``None``.
        max_faces: most faces returned per frame (largest first).
        min_detection_confidence: detector score threshold.
        region_scale: side of the landmarker's region relative to the detector box.
        quiet: hide MediaPipe's native start-up logs.
    """

    def __init__(
        self,
        model_path: str | os.PathLike | None = None,
        max_faces: int = 5,
        min_detection_confidence: float = 0.5,
        region_scale: float = 2.0,
        quiet: bool = True,
    ) -> None:
        from mediapipe.tasks.python import BaseOptions, vision

        self.model_path = resolve_face_model(model_path)
        self.max_faces = max_faces
        self.min_detection_confidence = min_detection_confidence
        self.region_scale = region_scale
        self.quiet = quiet
        with zipfile.ZipFile(self.model_path) as z:
            detector_bytes = z.read("face_detector.tflite")
        with quiet_native_stderr(quiet):
            self._create(vision, BaseOptions, detector_bytes, min_detection_confidence)

    def _create(self, vision, BaseOptions, detector_bytes: bytes, min_conf: float) -> None:
        self._detector = vision.FaceDetector.create_from_options(
            vision.FaceDetectorOptions(
                base_options=BaseOptions(model_asset_buffer=detector_bytes),
                min_detection_confidence=min_conf,
            )
        )
        self._landmarker = vision.FaceLandmarker.create_from_options(
            vision.FaceLandmarkerOptions(
                base_options=BaseOptions(model_asset_path=str(self.model_path)),
                running_mode=vision.RunningMode.IMAGE,
                num_faces=1,
                min_face_detection_confidence=0.3,
                min_face_presence_confidence=0.3,
                output_facial_transformation_matrixes=True,
            )
        )
        # The first inference allocates and logs; do it now, while logs are silenced.
        warm = np.zeros((64, 64, 3), np.uint8)
        self.detect(warm)
        self.landmarks_in_region(warm, np.array([8.0, 8.0, 56.0, 56.0]), 0.0)

    # -- detection -------------------------------------------------------------------------
    def detect(self, frame: np.ndarray) -> list[tuple[np.ndarray, float]]:
        """Detector boxes ``(x0, y0, x1, y1)`` and scores on an RGB frame, best first."""
        import mediapipe as mp

        image = mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(frame))
        out = []
        for det in self._detector.detect(image).detections:
            b = det.bounding_box
            box = np.array(
                [b.origin_x, b.origin_y, b.origin_x + b.width, b.origin_y + b.height], np.float64
            )
            out.append((box, float(det.categories[0].score if det.categories else 0.0)))
        out.sort(key=lambda t: -t[1])
        return out

    def landmarks_in_region(
        self, frame: np.ndarray, detection_box: np.ndarray, score: float
    ) -> FaceObservation | None:
        """Fit the mesh inside an enlarged square around ``detection_box``; None if it fails."""
        import mediapipe as mp

        h, w = frame.shape[:2]
        x0, y0, x1, y1 = _square(detection_box, self.region_scale, (h, w))
        if x1 - x0 < 8 or y1 - y0 < 8:
            return None
        region = np.ascontiguousarray(frame[y0:y1, x0:x1])
        result = self._landmarker.detect(mp.Image(image_format=mp.ImageFormat.SRGB, data=region))
        if not result.face_landmarks:
            return None
        rw, rh = x1 - x0, y1 - y0
        pts = np.array([(p.x * rw + x0, p.y * rh + y0, p.z * rw) for p in result.face_landmarks[0]])
        box = np.array([pts[:, 0].min(), pts[:, 1].min(), pts[:, 0].max(), pts[:, 1].max()])
        yaw = pitch = roll = float("nan")
        if result.facial_transformation_matrixes:
            yaw, pitch, roll = pose_from_matrix(result.facial_transformation_matrixes[0])
        return FaceObservation(
            box=box,
            landmarks478=pts.astype(np.float32),
            landmarks68=to_68(pts[:, :2]).astype(np.float32),
            score=score,
            yaw=yaw,
            pitch=pitch,
            roll=roll,
            detection_box=detection_box,
        )

    def analyze(self, frame: np.ndarray) -> tuple[list[FaceObservation], int]:
        """All faces in one frame, largest first, and how many the detector saw.

        ``frame``: ``(H, W, 3)`` uint8 RGB.
        """
        if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
            raise ValueError(f"frame must be (H, W, 3) uint8, got {frame.shape} {frame.dtype}")
        detections = self.detect(frame)
        faces = []
        for box, score in detections[: self.max_faces]:
            obs = self.landmarks_in_region(frame, box, score)
            if obs is not None:
                faces.append(obs)
        faces.sort(key=lambda f: -f.area)
        return faces, len(detections)

    def close(self) -> None:
        with quiet_native_stderr(getattr(self, "quiet", True)):
            for task in (getattr(self, "_detector", None), getattr(self, "_landmarker", None)):
                if task is not None:
                    task.close()
        self._detector = self._landmarker = None

    def __enter__(self) -> FaceAnalyzer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
