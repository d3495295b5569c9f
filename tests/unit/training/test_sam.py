from __future__ import annotations

import pytest
import torch
from torch import nn

from difffake_core.training.sam import SAM, linear_decay, no_running_stats


def _quadratic(w: torch.Tensor) -> torch.Tensor:
    return (w**2 * torch.tensor([1.0, 4.0])).sum()


def test_sam_step_uses_the_gradient_at_the_perturbed_point():
    w = nn.Parameter(torch.tensor([1.0, 1.0]))
    sam = SAM(torch.optim.SGD([w], lr=0.1), rho=0.5)
    _quadratic(w).backward()
    g = w.grad.clone()
    sam.first_step()
    e = 0.5 * g / g.norm()
    torch.testing.assert_close(w.detach(), torch.tensor([1.0, 1.0]) + e)
    assert w.grad is None
    _quadratic(w).backward()
    g_perturbed = w.grad.clone()
    sam.second_step()
    torch.testing.assert_close(w.detach(), torch.tensor([1.0, 1.0]) - 0.1 * g_perturbed)
    # it differs from plain SGD, whose step would use g
    assert not torch.allclose(g_perturbed, g)


def test_step_with_closure_matches_the_two_explicit_steps():
    w1 = nn.Parameter(torch.tensor([0.3, -2.0]))
    w2 = nn.Parameter(w1.detach().clone())
    sam1 = SAM(torch.optim.SGD([w1], lr=0.05, momentum=0.9), rho=0.05)
    sam2 = SAM(torch.optim.SGD([w2], lr=0.05, momentum=0.9), rho=0.05)
    for _ in range(3):
        _quadratic(w1).backward()
        sam1.first_step()
        _quadratic(w1).backward()
        sam1.second_step()

        def closure():
            loss = _quadratic(w2)
            loss.backward()
            return loss

        sam2.step(closure)
    torch.testing.assert_close(w1, w2)


def test_sam_misuse_is_reported():
    w = nn.Parameter(torch.ones(2))
    sam = SAM(torch.optim.SGD([w], lr=0.1))
    with pytest.raises(RuntimeError, match="backward"):
        sam.first_step()
    with pytest.raises(RuntimeError, match="first_step"):
        sam.second_step()
    with pytest.raises(ValueError, match="rho"):
        SAM(torch.optim.SGD([w], lr=0.1), rho=-1)


def test_linear_decay_is_flat_then_linear_to_zero():
    f = linear_decay(100, 0.75)
    assert [f(0), f(74), f(75)] == [1.0, 1.0, 1.0]
    assert f(80) == pytest.approx(20 / 25)
    assert f(99) == pytest.approx(1 / 25)
    assert f(100) == 0.0
    with pytest.raises(ValueError, match="total_steps"):
        linear_decay(0)


def test_no_running_stats_freezes_batchnorm_statistics():
    bn = nn.BatchNorm1d(3).train()
    bn(torch.randn(16, 3))
    mean, count = bn.running_mean.clone(), bn.num_batches_tracked.clone()
    with no_running_stats(bn):
        bn(torch.randn(16, 3) + 5)
    assert torch.equal(bn.running_mean, mean) and torch.equal(bn.num_batches_tracked, count)
    bn(torch.randn(16, 3) + 5)  # restored: statistics move again
    assert not torch.equal(bn.running_mean, mean)
