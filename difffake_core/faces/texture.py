"""How a face's texture relates to its own surroundings, per crop (the ``texture`` signal).

A face swap pastes a generated face into a real frame, a lip-sync model regenerates the mouth,
a talking-head generator renders a face at its own resolution. Each leaves the face (or a
part of it) with a different sharpness, noise or colour than what surrounds it. Measured as
*ratios inside one crop*, these cues are normalised by the video's own resolution,
compression and lighting, which is what differs most between footage sources (the reason
embedding anomaly models score unfamiliar reals as fakes).

Regions of a crop (68 landmarks in crop pixels): ``face`` (the jaw + brow hull, eroded),
``ring`` (a band just outside the hull: hair, ears, neck, near background), ``skin`` (face
without eyes and mouth), ``mouth`` and ``eyes`` (their hulls, dilated), ``jaw`` (a thin band
along the jaw line, where swaps are blended). Per region: mean absolute Laplacian (detail),
mean absolute residual of a 3x3 median (noise) and gradient magnitude; :data:`FEATURES` are
log ratios of these between regions plus the Lab chroma distance of skin to ring.

The crop is first resized to ``size`` pixels (112 by default: the ratios keep their meaning
and the cost drops to ~1 ms per crop).
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from difffake_core.faces.crop import decode_crop

FEATURES = (
    "detail_face_ring", "noise_face_ring", "detail_mouth_skin", "noise_mouth_skin",
    "detail_eyes_skin", "edge_jaw_skin", "chroma_skin_ring",
)  # fmt: skip
_HULL = np.r_[0:17, 26:16:-1]  # jaw, then the brows from right to left
_MIN_PIXELS = 10


def _hull(points: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    mask = np.zeros(shape, np.uint8)
    cv2.fillConvexPoly(mask, cv2.convexHull(np.round(points).astype(np.int32)), 1)
    return mask


def _grow(mask: np.ndarray, k: int) -> np.ndarray:
    return cv2.dilate(mask, np.ones((k, k), np.uint8))


def _shrink(mask: np.ndarray, k: int) -> np.ndarray:
    return cv2.erode(mask, np.ones((k, k), np.uint8))


def _log_mean(values: np.ndarray, mask: np.ndarray) -> float:
    sel = mask.astype(bool)
    if sel.sum() < _MIN_PIXELS:
        return np.nan
    return float(np.log(values[sel].mean() + 1e-2))


def crop_texture(image: np.ndarray, landmarks: np.ndarray, size: int = 112) -> np.ndarray:
    """:data:`FEATURES` of one face crop.

    Args:
        image: ``(H, W, 3)`` uint8 RGB crop.
        landmarks: the 68 landmarks in crop pixels, shape ``(68, 2)`` or ``(136,)``.
        size: side the crop is resized to before measuring.

    Returns:
        Shape ``(len(FEATURES),)`` float32; NaN where a region is too small to measure
        (e.g. the ring of a face that fills the crop).
    """
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"image must be (H, W, 3) uint8, got {image.shape} {image.dtype}")
    lm = np.asarray(landmarks, np.float64).reshape(68, 2)
    h, w = image.shape[:2]
    if (h, w) != (size, size):
        image = cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA)
        lm = lm * [size / w, size / h]
    shape = (size, size)
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    g = grey.astype(np.float32)
    detail = np.abs(cv2.Laplacian(g, cv2.CV_32F, ksize=3))
    noise = np.abs(g - cv2.medianBlur(grey, 3).astype(np.float32))
    edge = cv2.magnitude(cv2.Sobel(g, cv2.CV_32F, 1, 0), cv2.Sobel(g, cv2.CV_32F, 0, 1))
    face_h = float(np.ptp(lm[:, 1]))
    k = max(3, int(0.12 * face_h)) | 1
    hull = _hull(lm[_HULL], shape)
    ring = _grow(hull, k) & (1 - hull)
    face = _shrink(hull, k)
    mouth = _grow(_hull(lm[48:68], shape), 3)
    eyes = _grow(_hull(lm[36:42], shape) | _hull(lm[42:48], shape), 3)
    skin = face & (1 - mouth) & (1 - eyes)
    jaw = np.zeros(shape, np.uint8)
    cv2.polylines(jaw, [np.round(lm[0:17]).astype(np.int32)], False, 1,
                  thickness=max(1, int(0.03 * face_h)))  # fmt: skip
    out = [
        _log_mean(detail, face) - _log_mean(detail, ring),
        _log_mean(noise, face) - _log_mean(noise, ring),
        _log_mean(detail, mouth) - _log_mean(detail, skin),
        _log_mean(noise, mouth) - _log_mean(noise, skin),
        _log_mean(detail, eyes) - _log_mean(detail, skin),
        _log_mean(edge, jaw) - _log_mean(edge, skin),
        np.nan,
    ]
    if skin.sum() >= _MIN_PIXELS and ring.sum() >= _MIN_PIXELS:
        lab = cv2.cvtColor(image, cv2.COLOR_RGB2LAB).astype(np.float32)
        ab_skin = lab[skin.astype(bool)][:, 1:].mean(0)
        ab_ring = lab[ring.astype(bool)][:, 1:].mean(0)
        out[-1] = float(np.linalg.norm(ab_skin - ab_ring))
    return np.asarray(out, np.float32)


def crop_textures(
    crops: Sequence[bytes | np.ndarray], landmarks: np.ndarray, size: int = 112,
    measure: np.ndarray | None = None,
) -> np.ndarray:  # fmt: skip
    """:func:`crop_texture` of each crop (encoded bytes or RGB pixels).

    Args:
        landmarks: crop-pixel landmarks, shape ``(N, 136)`` or ``(N, 68, 2)``.
        measure: shape ``(N,)`` bool, the crops to measure (others get a NaN row); all
            when None.

    Returns:
        Shape ``(N, len(FEATURES))`` float32.
    """
    lms = np.asarray(landmarks, np.float64).reshape(-1, 68, 2)
    if len(lms) != len(crops):
        raise ValueError(f"{len(crops)} crops but {len(lms)} landmark rows")
    out = np.full((len(crops), len(FEATURES)), np.nan, np.float32)
    for i, crop in enumerate(crops):
        if measure is not None and not measure[i]:
            continue
        image = decode_crop(crop) if isinstance(crop, bytes | bytearray) else np.asarray(crop)
        out[i] = crop_texture(image, lms[i], size)
    return out
