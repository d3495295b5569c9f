"""Square face crops around a face box, with landmarks moved into crop coordinates."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass
class FaceCrop:
    """One face crop.

    ``image``: ``(S, S, 3)`` uint8 RGB. ``landmarks``: ``(68, 2)`` float32 crop pixels.
    ``box``: the crop square ``(x0, y0, x1, y1)`` in frame pixels.
    """

    image: np.ndarray
    landmarks: np.ndarray
    box: np.ndarray


def crop_box(face_box: np.ndarray, frame_hw: tuple[int, int], scale: float = 1.3) -> np.ndarray:
    """Square box around ``face_box`` (x0, y0, x1, y1), enlarged ``scale`` times.

    The square keeps its centre where the frame allows; near a border it is shifted inside the
    frame, and it shrinks to the frame's short side when larger, so the crop is never padded
    and never distorted. Returns float64 ``(4,)``.
    """
    h, w = frame_hw
    x0, y0, x1, y1 = (float(v) for v in face_box)
    side = max(x1 - x0, y1 - y0) * scale
    side = max(2.0, min(side, float(w), float(h)))
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    bx = min(max(cx - side / 2, 0.0), w - side)
    by = min(max(cy - side / 2, 0.0), h - side)
    return np.array([bx, by, bx + side, by + side], dtype=np.float64)


def crop_face(
    frame: np.ndarray,
    face_box: np.ndarray,
    landmarks: np.ndarray,
    size: int = 224,
    scale: float = 1.3,
) -> FaceCrop:
    """Cut and resize the square crop of a face.

    Args:
        frame: ``(H, W, 3)`` uint8 RGB.
        face_box: tight face box ``(x0, y0, x1, y1)`` in frame pixels.
        landmarks: ``(K, 2)`` frame pixels; returned in crop pixels.
        size: output side in pixels.
        scale: box enlargement (1.3 in the paper).
    """
    if frame.ndim != 3 or frame.shape[2] != 3:
        raise ValueError(f"frame must have shape (H, W, 3), got {frame.shape}")
    box = crop_box(face_box, frame.shape[:2], scale)
    x0, y0, x1, y1 = box
    side = x1 - x0
    k = size / side
    # Sub-pixel accurate crop + resize in one affine warp.
    m = np.array([[k, 0, -x0 * k], [0, k, -y0 * k]], dtype=np.float64)
    interp = cv2.INTER_AREA if k < 1 else cv2.INTER_LINEAR
    image = cv2.warpAffine(frame, m, (size, size), flags=interp, borderMode=cv2.BORDER_REPLICATE)
    if k < 1:  # warpAffine ignores INTER_AREA; resize the integer crop instead
        ix0, iy0 = int(round(x0)), int(round(y0))
        iside = max(1, int(round(side)))
        patch = frame[iy0 : iy0 + iside, ix0 : ix0 + iside]
        image = cv2.resize(patch, (size, size), interpolation=cv2.INTER_AREA)
        k = size / patch.shape[1]
        x0, y0 = ix0, iy0
    pts = (np.asarray(landmarks, np.float64)[:, :2] - [x0, y0]) * k
    return FaceCrop(image=image, landmarks=pts.astype(np.float32), box=box)


def encode_crop(image: np.ndarray, fmt: str = "png", quality: int = 95) -> bytes:
    """Encode an RGB crop as PNG (lossless, default) or JPEG bytes."""
    bgr = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    if fmt == "png":
        ok, buf = cv2.imencode(".png", bgr, [cv2.IMWRITE_PNG_COMPRESSION, 1])
    elif fmt in ("jpg", "jpeg"):
        ok, buf = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, quality])
    else:
        raise ValueError(f"crop format must be 'png' or 'jpeg', got {fmt!r}")
    if not ok:
        raise ValueError("image encoding failed")
    return buf.tobytes()


def decode_crop(data: bytes) -> np.ndarray:
    """Decode PNG/JPEG bytes to an ``(H, W, 3)`` uint8 RGB array."""
    arr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if arr is None:
        raise ValueError("bytes are not a decodable image")
    return cv2.cvtColor(arr, cv2.COLOR_BGR2RGB)
