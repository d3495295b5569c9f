"""Fixtures shared by the model and training tests (imported by their conftest files)."""

from __future__ import annotations

import pytest
import torch

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
