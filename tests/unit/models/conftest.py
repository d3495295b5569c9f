"""Fixtures for the backbone and runtime tests: a tiny timm backbone and real photos."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch
from skimage import data

from tests.unit.models.tiny_backbone import ensure_tiny_backbone


@pytest.fixture(scope="session")
def tiny_name() -> str:
    return ensure_tiny_backbone()


@pytest.fixture(autouse=True)
def _one_thread():
    prev = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny models: thread sync costs more than it saves
    yield
    torch.set_num_threads(prev)


@pytest.fixture(scope="session")
def photos() -> np.ndarray:
    """Five real photos resized to 64x64: ``(5, 64, 64, 3)`` uint8."""
    images = [data.astronaut(), data.chelsea(), data.coffee(), data.rocket(), data.cat()]
    return np.stack([cv2.resize(im, (64, 64), interpolation=cv2.INTER_AREA) for im in images])
