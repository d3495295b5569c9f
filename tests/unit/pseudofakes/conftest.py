"""Shared fixtures: a real face crop (astronaut) with plausible 68-point landmarks."""

from __future__ import annotations

import numpy as np
import pytest

from difffake_core.pseudofakes import MaskRegion, SBIConfig
from tests.unit.pseudofakes.face_fixture import astronaut_face_crop

# Landmark groups (iBUG 68): which points each region must hold, and which it must avoid.
BROWS_EYES = list(range(17, 27)) + list(range(36, 48))
MOUTH = list(range(48, 68))
LOWER_JAW = list(range(3, 14))
OWN_POINTS = {
    MaskRegion.EYES: BROWS_EYES,
    MaskRegion.MOUTH: MOUTH,
    MaskRegion.LOWER_HEAD: MOUTH + LOWER_JAW,
    MaskRegion.FULL_FACE: list(range(17, 68)),
}
FORBIDDEN_POINTS = {
    MaskRegion.EYES: MOUTH + LOWER_JAW,
    MaskRegion.MOUTH: BROWS_EYES,
    MaskRegion.LOWER_HEAD: BROWS_EYES,
    MaskRegion.FULL_FACE: [],
}


@pytest.fixture(scope="session")
def face() -> tuple[np.ndarray, np.ndarray]:
    """``(image, landmarks)``: (224, 224, 3) uint8 crop and (68, 2) float32 points."""
    image, landmarks = astronaut_face_crop(224)
    image.flags.writeable = False
    landmarks.flags.writeable = False
    return image, landmarks


def region_centres(landmarks: np.ndarray, region: MaskRegion) -> np.ndarray:
    """Points deep inside a region (eye centres, mouth centre, ...). Shape ``(k, 2)``."""
    eyes = [landmarks[36:42].mean(axis=0), landmarks[42:48].mean(axis=0)]
    mouth = landmarks[60:68].mean(axis=0)
    chin = (landmarks[8] + landmarks[57]) / 2
    return np.array(
        {
            MaskRegion.EYES: eyes,
            MaskRegion.MOUTH: [mouth],
            MaskRegion.LOWER_HEAD: [mouth, chin],
            MaskRegion.FULL_FACE: [*eyes, mouth, landmarks[30]],
        }[region]
    )


def still_config(region: MaskRegion, **kwargs) -> SBIConfig:
    """Forces ``region`` and removes the affine shift and the elastic deformation."""
    return SBIConfig(
        region_weights={region: 1.0},
        translate_x=0.0,
        translate_y=0.0,
        scale=(1.0, 1.0),
        elastic_alpha=0.0,
        **kwargs,
    )


def window_values(mask: np.ndarray, points: np.ndarray, radius: int = 1) -> np.ndarray:
    """Mask values in the ``(2r+1)^2`` window around each rounded point. Shape ``(k, w*w)``."""
    h, w = mask.shape
    p = np.round(np.asarray(points)).astype(int)
    offs = np.arange(-radius, radius + 1)
    ys = np.clip(p[:, 1, None, None] + offs[None, :, None], 0, h - 1)
    xs = np.clip(p[:, 0, None, None] + offs[None, None, :], 0, w - 1)
    return mask[ys, xs].reshape(len(p), -1)
