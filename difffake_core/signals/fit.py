"""Fitting a set of signals on real videos and calibrating their fusion."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from difffake_core.signals.base import FaceSet, Signal, create_signal
from difffake_core.signals.fusion import MIN_CALIBRATION, Fusion, FusionRule, calibrate_fusion


def fit_signals(
    videos: Sequence[FaceSet],
    names: Sequence[str],
    params: Mapping[str, Mapping[str, Any]] | None = None,
) -> tuple[dict[str, Signal], dict[str, str]]:
    """Fit each named signal on the faces of real ``videos``.

    A signal that cannot be fitted (its inputs are missing, e.g. no neighbour rows for
    ``adjacent_pairs``, or too few units) is left out and its reason returned, never
    dropped silently.

    Returns:
        ``(fitted signals by name, {name: reason} of those left out)``.

    Raises:
        ValueError: no signal could be fitted (the message holds every reason).
    """
    fitted: dict[str, Signal] = {}
    skipped: dict[str, str] = {}
    for name in names:
        sig = create_signal(name, **dict((params or {}).get(name, {})))
        try:
            fitted[name] = sig.fit(videos)
        except ValueError as exc:
            skipped[name] = str(exc)
            warnings.warn(f"signal {name!r} left out: {exc}", stacklevel=2)
    if not fitted:
        raise ValueError(f"no signal could be fitted on the real videos: {skipped}")
    return fitted, skipped


def raw_scores(signals: Mapping[str, Signal], videos: Sequence[FaceSet]) -> dict[str, np.ndarray]:
    """``{signal: raw video scores (V,)}`` (NaN where a signal could not score a video)."""
    return {n: np.array([s.score(v).raw for v in videos], np.float64) for n, s in signals.items()}


def calibrate_signals(
    signals: Mapping[str, Signal],
    calibration: Sequence[FaceSet],
    rule: FusionRule | str = FusionRule.SIDAK_MAX,
    target_fpr: float = 0.05,
    min_calibration: int = MIN_CALIBRATION,
) -> Fusion:
    """The fusion of ``signals`` calibrated on held-out real videos (see
    :func:`~difffake_core.signals.fusion.calibrate_fusion`)."""
    return calibrate_fusion(raw_scores(signals, calibration), rule, target_fpr, min_calibration)
