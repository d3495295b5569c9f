"""Face detection and landmarks with MediaPipe Tasks.

Two stages, both from the one Face Landmarker bundle:

1. the bundle's BlazeFace detector (short-range, 128x128 input) gives boxes and confidences, on
   the whole frame and, for faces too small for that, on overlapping square tiles (a pyramid:
   tiles of the short side, then 1/2, 1/4, ... of it, ``tile_overlap`` apart);
2. the Face Landmarker runs on an enlarged square region around each new box, so the mesh is
   fitted at a useful resolution, and its 478 points are mapped back to frame pixels. A mesh that
   does not agree with its box (another face in the region, a texture) is discarded.

BlazeFace finds a face reliably when its mesh height is at least ~16% of the detector's square
input side (20 px of 128; measured on the astronaut photo pasted into real textures), and still
when up to ~20% of the face is cut off by the input's border. So the whole frame alone finds
faces of >= 16% of the *long* side (28% of the height of a 16:9 frame); a tile of side ``s``
finds faces from ``0.16 s`` up to about ``overlap / 0.6``. With the defaults
(``tile_levels=2``, ``tile_overlap=0.25``) a 1920x1080 frame is scanned as the whole frame plus
3 + 15 + 50 tiles (sides 1080, 540, 270), and faces down to 40 px (3.7% of the height) are found
in every trial of ``tests/unit/faces/test_small_faces.py`` (36 px: 78-100%, 32 px: 33-89%).

``tiling="auto"`` walks the pyramid coarse to fine and stops once the coarser passes could
already see every face of at least ``tiling_rel_size`` times the largest confirmed face: a
talking head (one large face) pays for the cheap coarse level only, an empty or distant frame
pays for the whole pyramid. A person much smaller than the main face (below
``tiling_rel_size`` of it) may then be missed; use ``tiling="on"`` to always scan every level.

**Tracking** (:meth:`FaceAnalyzer.follow`): on a frame close in time to one already analysed,
each face's previous mesh box stands in for the detector's box, so only the landmarker runs
(no whole-frame or tile detection). A face it cannot refit (gone, turned away, occluded, or
the landmarker's own re-detection in the region below ``min_region_confidence``) makes the
frame fall back to :meth:`~FaceAnalyzer.analyze`; :func:`difffake_core.ingest.process_video`
also re-detects on a schedule so a face entering the picture is found.

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
from typing import Literal

import cv2
import numpy as np

from difffake_core.faces.assets import resolve_face_model
from difffake_core.faces.layout68 import to_68

_STDERR_LOCK = threading.Lock()

DETECTOR_INPUT = 128  # BlazeFace short-range input side (pixels)
DETECTOR_MIN_FRAC = 0.16  # smallest reliably found face height / detector input side


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
    ``yaw``/``pitch``/``roll`` in degrees from the landmarker's head-pose matrix;
    ``detection_box``: the detector's box; ``level``: 0 for the whole-frame pass, ``k`` for the
    k-th tile level.
    """

    box: np.ndarray
    landmarks478: np.ndarray
    landmarks68: np.ndarray
    score: float
    yaw: float
    pitch: float
    roll: float
    detection_box: np.ndarray
    level: int = 0

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


def tile_levels(
    frame_hw: tuple[int, int], levels: int, overlap: float = 0.25, min_tile: int = DETECTOR_INPUT
) -> list[tuple[int, list[tuple[int, int]]]]:
    """Square detector tiles of a frame, coarsest level first.

    Level sides are the frame's short side (only for frames at least 1.2 times wider than high,
    or higher than wide: the whole-frame pass already covers a square frame), then half, a
    quarter, ... of it, ``levels`` halvings in all, never below ``min_tile`` pixels. Neighbouring
    tiles overlap by at least ``overlap`` of the side; tiles are spread evenly and end flush
    with the frame's edges.

    Returns:
        ``[(side, [(x0, y0), ...]), ...]``: tile side and top-left corners in frame pixels.
    """
    if not 0.0 <= overlap < 1.0:
        raise ValueError(f"tile overlap must be in [0, 1), got {overlap}")
    h, w = frame_hw
    short, long = min(h, w), max(h, w)
    sides = [short] if long >= 1.2 * short else []
    sides += [short // 2**k for k in range(1, levels + 1)]
    out = []
    for side in sides:
        if side < min_tile:
            break
        stride = side * (1.0 - overlap)

        def starts(length: int, side: int = side, stride: float = stride) -> list[int]:
            n = 1 if length <= side else math.ceil((length - side) / stride) + 1
            return [int(round(v)) for v in np.linspace(0, length - side, n)]

        out.append((side, [(x, y) for y in starts(h) for x in starts(w)]))
    return out


def shrink(frame: np.ndarray, k: float) -> tuple[np.ndarray, float, float]:
    """``frame`` scaled by about ``k`` <= 1, and the exact x and y scales used.

    Area averaging by the integer part of ``1 / k`` (cv2's fast path: a face of a few pixels
    keeps its detail instead of aliasing), then bilinear for the remaining factor below 2.
    """
    h, w = frame.shape[:2]
    f = max(1, int(1.0 / k))
    img = frame
    if f >= 2:
        hh, ww = h // f, w // f
        img = cv2.resize(frame[: hh * f, : ww * f], (ww, hh), interpolation=cv2.INTER_AREA)
    tw, th = max(1, round(w * k)), max(1, round(h * k))
    kx = ky = 1.0 / f
    if (img.shape[1], img.shape[0]) != (tw, th):
        kx, ky = kx * tw / img.shape[1], ky * th / img.shape[0]
        img = cv2.resize(img, (tw, th), interpolation=cv2.INTER_LINEAR)
    return img, kx, ky


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise IoU of boxes ``(N, 4)`` and ``(M, 4)`` (x0, y0, x1, y1). Shape ``(N, M)``."""
    a = np.asarray(a, np.float64).reshape(-1, 4)
    b = np.asarray(b, np.float64).reshape(-1, 4)
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.clip(rb - lt, 0, None).prod(-1)
    area_a = (a[:, 2:] - a[:, :2]).clip(0).prod(-1)
    area_b = (b[:, 2:] - b[:, :2]).clip(0).prod(-1)
    return inter / np.maximum(area_a[:, None] + area_b[None, :] - inter, 1e-9)


def nms(
    detections: list[tuple[np.ndarray, float]], iou: float = 0.3
) -> list[tuple[np.ndarray, float]]:
    """Greedy non-maximum suppression, best score first; ties keep the earlier detection."""
    order = sorted(range(len(detections)), key=lambda i: (-detections[i][1], i))
    kept: list[tuple[np.ndarray, float]] = []
    for i in order:
        box = detections[i][0]
        if not kept or box_iou(box, np.stack([k[0] for k in kept])).max() <= iou:
            kept.append(detections[i])
    return kept


def _explained(box: np.ndarray, faces: list[FaceObservation]) -> bool:
    """A detection overlaps a fitted face, or its centre lies inside one (a part of it)."""
    boxes = np.stack([f.box for f in faces])
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    inside = (boxes[:, 0] <= cx) & (cx <= boxes[:, 2]) & (boxes[:, 1] <= cy) & (cy <= boxes[:, 3])
    return bool(inside.any() or box_iou(box, boxes).max() > 0.3)


class FaceAnalyzer:
    """Find faces in RGB frames and fit the 478-point mesh to each.

    Args:
        model_path: Face Landmarker ``.task`` bundle; resolved by
            :func:`~difffake_core.faces.assets.resolve_face_model` when ``None``.
        max_faces: most faces returned per frame (larger faces are found first).
        min_detection_confidence: detector score threshold.
        region_scale: side of the landmarker's region relative to the detector box.
        quiet: hide MediaPipe's native start-up logs.
        tiling: ``"off"``: the whole frame only; ``"on"``: the whole frame and every tile level;
            ``"auto"``: tile levels only while they could find a face the coarser passes
            missed and that is at least ``tiling_rel_size`` of the largest face found.
        tile_levels: halvings of the short side in the tile pyramid (2: tiles of 1/2 and 1/4).
        tile_overlap: overlap of neighbouring tiles, as a fraction of their side.
        tiling_rel_size: see ``tiling="auto"``.
        min_tile: smallest tile side in pixels (smaller tiles add no detail for the detector).
        min_region_confidence: the landmarker re-detects the face inside its region, where the
            face fills half the input; requiring this score there rejects face-like textures
            (logos, animals) that the detector passed on tiles. Measured: 0.7 keeps every real
            face of 30-300 px in our tests and drops a NASA logo and a cat's face.
    """

    def __init__(
        self,
        model_path: str | os.PathLike | None = None,
        max_faces: int = 5,
        min_detection_confidence: float = 0.5,
        region_scale: float = 2.0,
        quiet: bool = True,
        tiling: Literal["auto", "on", "off"] = "auto",
        tile_levels: int = 2,
        tile_overlap: float = 0.25,
        tiling_rel_size: float = 0.5,
        min_tile: int = DETECTOR_INPUT,
        min_region_confidence: float = 0.7,
    ) -> None:
        from mediapipe.tasks.python import BaseOptions, vision

        if tiling not in ("auto", "on", "off"):
            raise ValueError(f"tiling must be 'auto', 'on' or 'off', got {tiling!r}")
        if tile_levels < 0:
            raise ValueError(f"tile_levels must be >= 0, got {tile_levels}")
        self.model_path = resolve_face_model(model_path)
        self.max_faces = max_faces
        self.min_detection_confidence = min_detection_confidence
        self.region_scale = region_scale
        self.quiet = quiet
        self.tiling = tiling
        self.tile_levels = tile_levels
        self.tile_overlap = tile_overlap
        self.tiling_rel_size = tiling_rel_size
        self.min_tile = min_tile
        self.min_region_confidence = min_region_confidence
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
                min_face_detection_confidence=self.min_region_confidence,
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

    def detect_tiles(
        self, frame: np.ndarray, side: int, origins: list[tuple[int, int]]
    ) -> list[tuple[np.ndarray, float]]:
        """Detections on square tiles of one level, in frame pixels, merged by NMS.

        The frame is shrunk once (:func:`shrink`) so each tile reaches the detector at its
        input size; boxes are mapped back to the full frame.
        """
        small, kx, ky = shrink(frame, min(1.0, DETECTOR_INPUT / side))
        tw, th = max(1, round(side * kx)), max(1, round(side * ky))
        found = []
        for x, y in origins:
            sx = min(round(x * kx), max(small.shape[1] - tw, 0))
            sy = min(round(y * ky), max(small.shape[0] - th, 0))
            scale = np.array([kx, ky, kx, ky])
            for box, score in self.detect(small[sy : sy + th, sx : sx + tw]):
                found.append(((box + [sx, sy, sx, sy]) / scale, score))
        return nms(found)

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

    @staticmethod
    def _agrees(face: FaceObservation) -> bool:
        """The mesh is the face the detector boxed: centre inside the box, similar size."""
        d = face.detection_box
        cx, cy = (face.box[0] + face.box[2]) / 2, (face.box[1] + face.box[3]) / 2
        ratio = face.height / max(d[3] - d[1], 1e-6)
        return bool(d[0] <= cx <= d[2] and d[1] <= cy <= d[3] and 0.5 <= ratio <= 2.5)

    def _fit(self, frame, detections, faces, tried, level) -> int:
        """Landmark the detections not yet explained; append agreeing meshes to ``faces``.

        Returns how many unexplained detections were left unfitted because ``faces`` is full.
        """
        over = 0
        for box, score in detections:
            if faces and _explained(box, faces):
                continue  # already fitted (at a coarser level or by a neighbouring tile)
            if tried and box_iou(box, np.stack(tried)).max() > 0.5:
                continue  # the landmarker already refused this region
            if len(faces) >= self.max_faces:
                over += 1
                continue
            tried.append(box)
            face = self.landmarks_in_region(frame, box, score)
            if face is None or not self._agrees(face):
                continue
            if faces and box_iou(face.box, np.stack([f.box for f in faces])).max() > 0.5:
                continue  # the region's mesh is a face found before
            face.level = level
            faces.append(face)
        return over

    def follow(
        self, frame: np.ndarray, previous: list[FaceObservation]
    ) -> list[FaceObservation] | None:
        """The faces of ``previous`` (from a nearby frame) refitted in ``frame``, largest first;
        None when any of them is lost, so the caller re-detects.

        Each face's previous mesh box is the region's detection box; the refit must agree
        with it (centre inside, height within 0.5-2.5 times) and not duplicate another face.
        Score and tile level are carried over from the face's detection.
        """
        if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
            raise ValueError(f"frame must be (H, W, 3) uint8, got {frame.shape} {frame.dtype}")
        faces: list[FaceObservation] = []
        for prev in previous:
            face = self.landmarks_in_region(frame, np.asarray(prev.box, np.float64), prev.score)
            if face is None or not self._agrees(face):
                return None
            if faces and box_iou(face.box, np.stack([f.box for f in faces])).max() > 0.5:
                return None  # two tracks collapsed onto one face: let detection sort it out
            face.level = prev.level
            faces.append(face)
        faces.sort(key=lambda f: -f.area)
        return faces

    def levels(self, frame_hw: tuple[int, int]) -> list[tuple[int, list[tuple[int, int]]]]:
        """The tile levels this analyzer may scan on frames of this size (coarsest first)."""
        if self.tiling == "off":
            return []
        return tile_levels(frame_hw, self.tile_levels, self.tile_overlap, self.min_tile)

    def analyze(
        self, frame: np.ndarray, max_level: int | None = None
    ) -> tuple[list[FaceObservation], int]:
        """Faces in one frame, largest first (at most ``max_faces``), and how many were seen.

        The count is the faces fitted plus the detections left unfitted once ``max_faces``
        was reached; detections the landmarker refused (textures, logos) are not counted.
        ``frame``: ``(H, W, 3)`` uint8 RGB. ``max_level``: scan tile levels ``1..max_level``
        at most (0: the whole frame only; None: every level of :meth:`levels`).
        """
        if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
            raise ValueError(f"frame must be (H, W, 3) uint8, got {frame.shape} {frame.dtype}")
        faces: list[FaceObservation] = []
        tried: list[np.ndarray] = []
        over = self._fit(frame, self.detect(frame), faces, tried, 0)
        if self.tiling != "off":
            # Smallest face the previous pass finds reliably (the whole frame is letterboxed).
            floor = DETECTOR_MIN_FRAC * max(frame.shape[:2])
            for level, (side, origins) in enumerate(self.levels(frame.shape[:2]), start=1):
                if len(faces) >= self.max_faces or (max_level is not None and level > max_level):
                    break
                largest = max((f.height for f in faces), default=0.0)
                if self.tiling == "auto" and faces and self.tiling_rel_size * largest >= floor:
                    break  # every face of interest is already large enough to have been found
                tiles = self.detect_tiles(frame, side, origins)
                over += self._fit(frame, tiles, faces, tried, level)
                floor = DETECTOR_MIN_FRAC * side
        faces.sort(key=lambda f: -f.area)
        return faces, len(faces) + over

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
