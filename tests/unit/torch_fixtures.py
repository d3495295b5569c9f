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


def tiny_extractor_with_bn_stats(name: str, seed: int) -> torch.nn.Module:
    """The tiny backbone in eval mode with non-trivial batch-norm statistics, as after training."""
    from difffake_core.models.backbones import create_extractor

    torch.manual_seed(seed)
    model = create_extractor(name, weights="none")
    model.train()
    with torch.no_grad():
        for _ in range(3):
            model(torch.randn(8, 3, 64, 64) * 2 + 0.5)
    return model.eval()
