"""Fixtures for the training tests: a tiny backbone and jittered real face crops."""

from __future__ import annotations

import numpy as np
import pytest

from tests.unit.torch_fixtures import _one_thread, tiny_name  # noqa: F401 (fixtures)
from tests.unit.training.faces_fixture import astronaut_records


@pytest.fixture(scope="session")
def records():
    """5 videos x 4 frames of 64x64 PNG-encoded crops with 68-point landmarks."""
    return astronaut_records(5, 4, 64, np.random.default_rng(0))
