"""Sharpness-aware minimisation (Foret et al., ICLR 2021) over a base optimizer, and the
learning-rate schedule used to train the extractor.

One SAM update, with ``g = grad L(w)``:

1. ascend to the worst nearby point ``w + e``, ``e = rho * g / ||g||_2`` (norm over all
   parameters together);
2. take the gradient there, ``g' = grad L(w + e)``;
3. step the base optimizer from the original ``w`` with ``g'``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch
from torch import nn


class SAM:
    """Sharpness-aware minimisation around ``base`` (an optimizer over the same parameters).

    Usage, per batch::

        loss_fn().backward(); sam.first_step()      # to w + e
        with no_running_stats(model): loss_fn().backward()
        sam.second_step()                           # back to w, base step with grad at w + e

    or ``sam.step(closure)`` where ``closure()`` zeroes nothing, computes the loss, calls
    ``backward()`` and returns the loss. Learning-rate schedulers attach to ``sam.base``.
    """

    def __init__(self, base: torch.optim.Optimizer, rho: float = 0.05) -> None:
        if rho < 0:
            raise ValueError(f"rho must be >= 0, got {rho}")
        self.base = base
        self.rho = float(rho)
        self._perturbation: dict[torch.nn.Parameter, torch.Tensor] = {}

    @property
    def param_groups(self) -> list[dict]:
        return self.base.param_groups

    def _params_with_grad(self) -> list[torch.nn.Parameter]:
        return [p for g in self.base.param_groups for p in g["params"] if p.grad is not None]

    @torch.no_grad()
    def first_step(self) -> None:
        """Move every parameter to ``w + rho * g / ||g||`` and clear the gradients."""
        params = self._params_with_grad()
        if not params:
            raise RuntimeError("SAM.first_step called without gradients; call backward() first")
        norm = torch.linalg.vector_norm(torch.stack([p.grad.norm(2) for p in params]), 2)
        scale = self.rho / (norm + 1e-12)
        for p in params:
            e = p.grad * scale
            p.add_(e)
            self._perturbation[p] = e
        self.zero_grad()

    @torch.no_grad()
    def second_step(self) -> None:
        """Restore ``w`` and take the base optimizer's step with the gradient at ``w + e``."""
        if not self._perturbation:
            raise RuntimeError("SAM.second_step called before first_step")
        for p, e in self._perturbation.items():
            p.sub_(e)
        self._perturbation.clear()
        self.base.step()
        self.zero_grad()

    def step(self, closure: Callable[[], torch.Tensor]) -> torch.Tensor:
        """Both passes. ``closure`` computes the loss and calls ``backward()``; returns the
        loss of the first pass (at ``w``)."""
        self.zero_grad()
        with torch.enable_grad():
            loss = closure()
        self.first_step()
        with torch.enable_grad():
            closure()
        self.second_step()
        return loss

    def zero_grad(self) -> None:
        self.base.zero_grad(set_to_none=True)


class no_running_stats:
    """Context manager: batch-norm layers of ``model`` normalise with batch statistics but
    do not update their running statistics (for SAM's second forward pass, so each batch
    counts once)."""

    def __init__(self, model: nn.Module) -> None:
        self._bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
        self._saved: list[float | None] = []

    def __enter__(self) -> no_running_stats:
        self._saved = [m.momentum for m in self._bns]
        self._counts = [
            None if m.num_batches_tracked is None else m.num_batches_tracked.clone()
            for m in self._bns
        ]
        for m in self._bns:
            m.momentum = 0.0
        return self

    def __exit__(self, *exc) -> None:
        for m, momentum, count in zip(self._bns, self._saved, self._counts, strict=True):
            m.momentum = momentum
            if count is not None:
                m.num_batches_tracked.copy_(count)


def linear_decay(total_steps: int, decay_start: float = 0.75) -> Callable[[int], float]:
    """LR factor per step: 1 until ``decay_start * total_steps``, then linear down to 0 at
    ``total_steps`` (for :class:`torch.optim.lr_scheduler.LambdaLR`)."""
    if total_steps < 1:
        raise ValueError(f"total_steps must be >= 1, got {total_steps}")
    if not 0.0 <= decay_start <= 1.0:
        raise ValueError(f"decay_start must be in [0, 1], got {decay_start}")
    start = int(round(decay_start * total_steps))

    def factor(step: int) -> float:
        if step < start:
            return 1.0
        return max(0.0, (total_steps - step) / max(1, total_steps - start))

    return factor


def trainable(params: Iterable[torch.nn.Parameter]) -> list[torch.nn.Parameter]:
    """The parameters that require gradients."""
    return [p for p in params if p.requires_grad]
