"""Real face crops from the shared dev videos (``../shared/data/dev/real``), for the slow
training test and the training benchmark. Needs the shared MediaPipe face-landmarker bundle;
callers skip when :func:`dev_data_missing` returns a reason."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from difffake_core.training import CropRecord

SHARED = Path(os.environ.get("DIFFFAKE_SHARED", Path(__file__).resolve().parents[4] / "shared"))
REAL_VIDEOS = SHARED / "data" / "dev" / "real"
FACE_MODEL = SHARED / "models" / "face_landmarker.task"


def dev_data_missing() -> str | None:
    """Why the shared dev data cannot be used, or ``None`` when it can."""
    if not REAL_VIDEOS.is_dir() or not any(REAL_VIDEOS.glob("*.mp4")):
        return f"shared dev videos not found under {REAL_VIDEOS}"
    if not FACE_MODEL.is_file():
        return f"MediaPipe face landmarker bundle not found: {FACE_MODEL}"
    return None


def _frames(path: Path, n: int) -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(path))
    count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    wanted = set(np.linspace(0, max(0, count - 1), n).round().astype(int).tolist())
    frames, index = [], 0
    while len(frames) < len(wanted):
        ok, bgr = cap.read()
        if not ok:
            break
        if index in wanted:
            frames.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
        index += 1
    cap.release()
    return frames


def dev_video_records(n_videos: int = 15, frames: int = 16, size: int = 224) -> list[CropRecord]:
    """``frames`` evenly spaced frames of the first ``n_videos`` real dev videos, cropped
    square around the face mesh (enlarged 1.3x) and resized to ``size``; PNG-encoded."""
    import mediapipe as mp
    from mediapipe.tasks.python import BaseOptions, vision

    from difffake_core.faces.layout68 import to_68

    options = vision.FaceLandmarkerOptions(
        base_options=BaseOptions(model_asset_path=str(FACE_MODEL)), num_faces=1
    )
    records: list[CropRecord] = []
    with vision.FaceLandmarker.create_from_options(options) as landmarker:
        for path in sorted(REAL_VIDEOS.glob("*.mp4"))[:n_videos]:
            for frame in _frames(path, frames):
                h, w = frame.shape[:2]
                found = landmarker.detect(mp.Image(image_format=mp.ImageFormat.SRGB, data=frame))
                if not found.face_landmarks:
                    continue
                mesh = np.array([(p.x * w, p.y * h) for p in found.face_landmarks[0]], np.float32)
                (x0, y0), (x1, y1) = mesh.min(axis=0), mesh.max(axis=0)
                side = max(x1 - x0, y1 - y0) * 1.3
                left, top = (x0 + x1 - side) / 2, (y0 + y1 - side) / 2
                k = size / side
                m = np.array([[k, 0, -left * k], [0, k, -top * k]], np.float32)
                crop = cv2.warpAffine(
                    frame, m, (size, size), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REPLICATE
                )
                lms = (to_68(mesh) - np.array([left, top], np.float32)) * np.float32(k)
                ok, buf = cv2.imencode(".png", cv2.cvtColor(crop, cv2.COLOR_RGB2BGR))
                if ok:
                    records.append(
                        CropRecord(image_bytes=buf.tobytes(), landmarks=lms, video_id=path.stem)
                    )
    return records
