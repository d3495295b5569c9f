"""Fixtures for the training tests: a tiny backbone and jittered real face crops."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.unit.models.tiny_backbone import ensure_tiny_backbone
from tests.unit.training.faces_fixture import astronaut_records


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
def records():
    """5 videos x 4 frames of 64x64 PNG-encoded crops with 68-point landmarks."""
    return astronaut_records(5, 4, 64, np.random.default_rng(0))
