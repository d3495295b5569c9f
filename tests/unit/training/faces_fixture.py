"""Synthetic-but-real face crops for training tests: jittered crops of scikit-image's
astronaut portrait with a 68-point landmark template fitted to her face."""

from __future__ import annotations

import cv2
import numpy as np
from skimage import data

from difffake_core.training import CropRecord

# Box of the astronaut's face landmarks in the 512x512 image (x0, y0, x1, y1), measured
# once with MediaPipe's face landmarker.
FACE_BOX = (181.0, 87.0, 270.0, 177.0)


def template68() -> np.ndarray:
    """A frontal 68-point iBUG layout in the unit square. Shape ``(68, 2)``."""
    pts = []
    for k in range(17):  # jaw, image-left to image-right through the chin
        t = np.pi - k * np.pi / 16
        pts.append((0.5 + 0.5 * np.cos(t), 0.3 + 0.7 * np.sin(t)))
    for x0 in (0.08, 0.58):  # brows
        for i in range(5):
            x = x0 + i * 0.085
            pts.append((x, 0.12 - 0.04 * np.sin(np.pi * i / 4)))
    for i in range(4):  # nose bridge
        pts.append((0.5, 0.3 + i * 0.09))
    for i in range(5):  # nostrils
        pts.append((0.4 + i * 0.05, 0.62))
    for cx in (0.3, 0.7):  # eyes: ring of 6
        for i in range(6):
            t = np.pi + i * np.pi / 3
            pts.append((cx + 0.09 * np.cos(t), 0.32 + 0.035 * np.sin(t)))
    for i in range(12):  # outer lips
        t = np.pi + i * np.pi / 6
        pts.append((0.5 + 0.18 * np.cos(t), 0.8 + 0.07 * np.sin(t)))
    for i in range(8):  # inner lips
        t = np.pi + i * np.pi / 4
        pts.append((0.5 + 0.12 * np.cos(t), 0.8 + 0.03 * np.sin(t)))
    return np.asarray(pts, dtype=np.float32)


def astronaut_records(
    n_videos: int, frames: int, size: int, rng: np.random.Generator, encode: bool = True
) -> list[CropRecord]:
    """``n_videos * frames`` crops of side ``size``; frames of one video share a jitter."""
    image = data.astronaut()
    x0, y0, x1, y1 = FACE_BOX
    tmpl = template68() * np.array([x1 - x0, y1 - y0], np.float32) + np.array([x0, y0], np.float32)
    records = []
    for v in range(n_videos):
        base_shift = rng.uniform(-8, 8, 2)
        gain = rng.uniform(0.8, 1.2)
        for _ in range(frames):
            cx, cy = (x0 + x1) / 2 + base_shift[0] + rng.normal(0, 2), (y0 + y1) / 2 + base_shift[1]
            side = (x1 - x0) * 1.6 * rng.uniform(0.95, 1.05)
            left, top = cx - side / 2, cy - side / 2
            m = np.array(
                [[size / side, 0, -left * size / side], [0, size / side, -top * size / side]]
            )
            crop = cv2.warpAffine(image, m, (size, size), flags=cv2.INTER_AREA)
            crop = np.clip(crop.astype(np.float32) * gain, 0, 255).astype(np.uint8)
            lms = (tmpl - np.array([left, top], np.float32)) * np.float32(size / side)
            if encode:
                ok, buf = cv2.imencode(".png", cv2.cvtColor(crop, cv2.COLOR_RGB2BGR))
                assert ok
                records.append(
                    CropRecord(image_bytes=buf.tobytes(), landmarks=lms, video_id=f"v{v:02d}")
                )
            else:
                records.append(CropRecord(image=crop, landmarks=lms, video_id=f"v{v:02d}"))
    return records
