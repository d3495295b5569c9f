"""Binary face-region masks from 68-point iBUG landmarks.

Landmark layout (indices): jaw 0-16, right brow 17-21, left brow 22-26, nose 27-35,
right eye 36-41, left eye 42-47, mouth 48-67 ("right" is the subject's right, image left).

Each :class:`MaskRegion` has named variants (hull styles) in :data:`MASK_VARIANTS`; a
variant maps ``(landmarks, shape)`` to a binary mask. Unknown names raise
:class:`~difffake_core.errors.UnknownNameError` listing the valid ones.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import cv2
import numpy as np

from difffake_core.pseudofakes.regions import MaskRegion, as_region
from difffake_core.registry import Registry

N_LANDMARKS = 68
JAW = tuple(range(0, 17))
BROWS = tuple(range(17, 27))
NOSE = tuple(range(27, 36))
EYES = tuple(range(36, 48))
MOUTH = tuple(range(48, 68))
INNER = tuple(range(17, 68))

_SHIFT = 4  # sub-pixel bits used when rasterising polygons
_PART_MARGIN = 0.1  # part masks are dilated by this fraction of the face size
_FOREHEAD = 0.25  # "extended" hull: brows pushed up by this fraction of nose-root-to-chin

MaskBuilder = Callable[[np.ndarray, tuple[int, int]], np.ndarray]
MASK_VARIANTS: dict[MaskRegion, Registry[MaskBuilder]] = {
    region: Registry(f"{region.value} mask variant") for region in MaskRegion
}


def check_landmarks(landmarks: np.ndarray) -> np.ndarray:
    """Validate and return landmarks as float32. Shape: ``(68, 2)`` pixel ``(x, y)``."""
    lms = np.asarray(landmarks)
    if lms.shape != (N_LANDMARKS, 2):
        raise ValueError(f"landmarks must have shape (68, 2), got {lms.shape}")
    lms = lms.astype(np.float32, copy=False)
    if not np.isfinite(lms).all():
        raise ValueError(f"landmarks must be finite, got {np.count_nonzero(~np.isfinite(lms))} bad")
    return lms


def face_size(landmarks: np.ndarray) -> float:
    """Square root of the area of the hull of all 68 points, in pixels."""
    return float(np.sqrt(max(cv2.contourArea(cv2.convexHull(landmarks)), 1.0)))


def _fill_hulls(
    shape: tuple[int, int], groups: Sequence[np.ndarray], margin: float = 0.0
) -> np.ndarray:
    """Union of the convex hulls of ``groups``, each dilated by ``margin`` pixels."""
    mask = np.zeros(shape, np.uint8)
    for pts in groups:
        hull = np.round(cv2.convexHull(pts.astype(np.float32)) * (1 << _SHIFT)).astype(np.int32)
        cv2.fillConvexPoly(mask, hull, 1, cv2.LINE_8, _SHIFT)
        # The outline makes the hull closed (vertices included); a thick outline with
        # round caps dilates the hull by a disc of radius ``margin``.
        cv2.polylines(mask, [hull], True, 1, 2 * int(round(margin)) + 1, cv2.LINE_8, _SHIFT)
    return mask


def _pick(lms: np.ndarray, *index_groups: Sequence[int]) -> np.ndarray:
    return lms[np.concatenate([np.asarray(g) for g in index_groups])]


def _up_direction(lms: np.ndarray) -> np.ndarray:
    """Unit vector from the chin towards the nose root (face 'up', robust to roll)."""
    v = lms[27] - lms[8]
    n = float(np.hypot(*v))
    return v / n if n > 1e-6 else np.array([0.0, -1.0], np.float32)


@MASK_VARIANTS[MaskRegion.FULL_FACE].register("hull")
def _full_hull(lms: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    return _fill_hulls(shape, [lms])


@MASK_VARIANTS[MaskRegion.FULL_FACE].register("extended")
def _full_extended(lms: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    lift = _FOREHEAD * float(np.hypot(*(lms[27] - lms[8])))
    pts = lms.copy()
    pts[list(BROWS)] += lift * _up_direction(lms)
    return _fill_hulls(shape, [pts])


@MASK_VARIANTS[MaskRegion.FULL_FACE].register("components")
def _full_components(lms: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    nose_axis = (27, 30, 33)
    groups = [
        _pick(lms, range(0, 9), nose_axis),  # right cheek and jaw
        _pick(lms, range(8, 17), nose_axis),  # left cheek and jaw
        _pick(lms, BROWS, EYES, (27,)),  # eyes and brows
        _pick(lms, NOSE),
        _pick(lms, MOUTH),
    ]
    return _fill_hulls(shape, groups)


@MASK_VARIANTS[MaskRegion.FULL_FACE].register("inner")
def _full_inner(lms: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    return _fill_hulls(shape, [_pick(lms, INNER)])


@MASK_VARIANTS[MaskRegion.EYES].register("eyes_brows")
def _eyes_band(lms: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    return _fill_hulls(shape, [_pick(lms, BROWS, EYES)], _PART_MARGIN * face_size(lms))


@MASK_VARIANTS[MaskRegion.EYES].register("eye_pair")
def _eye_pair(lms: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    groups = [_pick(lms, range(17, 22), range(36, 42)), _pick(lms, range(22, 27), range(42, 48))]
    return _fill_hulls(shape, groups, _PART_MARGIN * face_size(lms))


@MASK_VARIANTS[MaskRegion.MOUTH].register("mouth_jaw")
def _mouth_jaw(lms: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    return _fill_hulls(shape, [_pick(lms, MOUTH, range(5, 12))], _PART_MARGIN * face_size(lms))


@MASK_VARIANTS[MaskRegion.MOUTH].register("mouth")
def _mouth_only(lms: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    return _fill_hulls(shape, [_pick(lms, MOUTH)], 1.5 * _PART_MARGIN * face_size(lms))


@MASK_VARIANTS[MaskRegion.LOWER_HEAD].register("below_nose")
def _below_nose(lms: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    return _fill_hulls(shape, [_pick(lms, range(1, 16), range(31, 36))])


DEFAULT_VARIANTS: dict[MaskRegion, str] = {
    MaskRegion.FULL_FACE: "hull",
    MaskRegion.EYES: "eyes_brows",
    MaskRegion.MOUTH: "mouth_jaw",
    MaskRegion.LOWER_HEAD: "below_nose",
}


def region_mask(
    landmarks: np.ndarray,
    shape: tuple[int, ...],
    region: MaskRegion | str,
    variant: str | None = None,
) -> np.ndarray:
    """Binary mask of a face region, before any deformation or blur.

    Args:
        landmarks: ``(68, 2)`` pixel ``(x, y)`` coordinates, iBUG order.
        shape: ``(H, W)`` or ``(H, W, C)`` of the image the mask belongs to.
        region: which part of the face.
        variant: hull style; ``None`` takes ``DEFAULT_VARIANTS[region]``
            (``MASK_VARIANTS[region].names()`` lists them all).

    Returns:
        Shape ``(H, W)`` float32, values exactly 0 or 1.
    """
    lms = check_landmarks(landmarks)
    if len(shape) < 2 or shape[0] < 1 or shape[1] < 1:
        raise ValueError(f"shape must be (H, W) or (H, W, C) with H, W >= 1, got {shape}")
    region = as_region(region)
    name = variant if variant is not None else DEFAULT_VARIANTS[region]
    mask = MASK_VARIANTS[region].get(name)(lms, (int(shape[0]), int(shape[1])))
    return mask.astype(np.float32)
