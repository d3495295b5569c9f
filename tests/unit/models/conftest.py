"""Fixtures for the backbone and runtime tests: a tiny timm backbone and real photos."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage import data

from tests.unit.torch_fixtures import _one_thread, tiny_name  # noqa: F401 (fixtures)


@pytest.fixture(scope="session")
def photos() -> np.ndarray:
    """Five real photos resized to 64x64: ``(5, 64, 64, 3)`` uint8."""
    images = [data.astronaut(), data.chelsea(), data.coffee(), data.rocket(), data.cat()]
    return np.stack([cv2.resize(im, (64, 64), interpolation=cv2.INTER_AREA) for im in images])
