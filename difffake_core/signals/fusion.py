"""Fusing several signals' video scores into one ``fake_score`` in ``[0, 1]``.

Every signal gives a raw video score (higher = more suspicious; units differ between
signals). Fusion works in three documented steps:

1. **Percentile.** Each raw score becomes its percentile ``p`` among the raw scores of the
   *calibration reals* (held-out real videos never used to fit any signal), a continuous
   empirical CDF: with the ``n`` calibration scores sorted, ``s_1 <= ... <= s_n``, the point
   ``s_i`` sits at plotting position ``q_i = i / (n + 1)`` and ``p`` is interpolated linearly
   between them. Outside ``[s_1, s_n]`` the CDF continues with hyperbolic tails of scale
   ``tau`` (the standard deviation of the calibration scores): with ``z = |x - s| / tau``,
   ``p = q_n + (1 - q_n) z / (1 + z)`` above ``s_n`` and ``p = q_1 / (1 + z)`` below ``s_1``.
   So ``p`` is strictly increasing in ``x`` and stays inside ``(0, 1)`` (in float64 up to
   ``z ~ 1e15``): videos more anomalous than every calibration real keep their order
   instead of tying at 1.
2. **Combination** (:class:`FusionRule`) of the ``K`` available percentiles of a video:

   ``sidak_max`` (default)
       ``fake_score = max(p) ** K``: the probability that ``K`` independent uniform
       percentiles of a real video all stay below the largest one seen (Sidak's correction
       for taking the max of ``K`` tests). Under independence it is itself uniform on real
       videos, whatever ``K`` is, so videos with a signal missing stay comparable.
   ``top2_mean``
       the mean of the two largest percentiles (the one percentile when ``K = 1``): asks two
       signals to agree, robust to one noisy signal.
   ``mean``
       the mean of all percentiles.

   The *driving signal* of a video is the one with the largest percentile.
3. **Threshold** on the fused score at the target false-positive rate
   (:func:`~difffake_core.anomaly.calibrate_threshold`) over the calibration reals, each
   scored with **leave-one-out** percentiles (its own raw score removed from every CDF),
   as an unseen real would be scored. Fewer calibration reals than ``min_calibration``
   raise :class:`CalibrationError`.

With a single signal every rule is a strictly increasing function of that signal's raw
score, so its ROC-AUC is unchanged by fusion.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np

from difffake_core.anomaly.threshold import calibrate_threshold
from difffake_core.errors import DiffFakeError, UnknownNameError

MIN_CALIBRATION = 8


class CalibrationError(DiffFakeError, ValueError):
    """Too few calibration reals (or none scored) to calibrate the fused detector."""


class FusionRule(StrEnum):
    """How signal percentiles combine into the fused ``fake_score``. See the module doc."""

    SIDAK_MAX = "sidak_max"
    TOP2_MEAN = "top2_mean"
    MEAN = "mean"


def _tau(sorted_scores: np.ndarray) -> float:
    tau = float(np.std(sorted_scores)) if sorted_scores.size > 1 else 0.0
    if not np.isfinite(tau) or tau <= 0:
        tau = max(abs(float(sorted_scores[-1])) * 1e-3, 1e-6) if sorted_scores.size else 1.0
    return tau


def percentile(x: np.ndarray | float, reference: np.ndarray) -> np.ndarray:
    """Continuous empirical-CDF percentile of ``x`` among ``reference`` (see module doc).

    Args:
        x: raw scores, any shape; NaN stays NaN.
        reference: calibration raw scores, shape ``(n,)``, ``n >= 1``, finite.

    Returns:
        Array of ``x``'s shape, float64, values in ``(0, 1)``.
    """
    ref = np.sort(np.asarray(reference, np.float64).ravel())
    if ref.size == 0:
        raise ValueError("percentile needs at least one reference score, got none")
    if not np.all(np.isfinite(ref)):
        raise ValueError("reference scores must be finite")
    x = np.asarray(x, np.float64)
    n = ref.size
    q = np.arange(1, n + 1, dtype=np.float64) / (n + 1)
    # ties in the reference: one position per distinct value (the mean of its positions)
    uniq, inverse = np.unique(ref, return_inverse=True)
    qu = np.bincount(inverse, weights=q) / np.bincount(inverse)
    tau = _tau(ref)
    out = np.interp(x, uniq, qu)
    hi, lo = x > uniq[-1], x < uniq[0]
    with np.errstate(invalid="ignore"):
        z_hi = np.maximum(x - uniq[-1], 0.0) / tau
        z_lo = np.maximum(uniq[0] - x, 0.0) / tau
        out = np.where(hi, qu[-1] + (1 - qu[-1]) * z_hi / (1 + z_hi), out)
        out = np.where(lo, qu[0] / (1 + z_lo), out)
    return np.where(np.isnan(x), np.nan, out)


def combine_percentiles(p: np.ndarray, rule: FusionRule | str = FusionRule.SIDAK_MAX) -> np.ndarray:
    """Fused score per row of percentiles.

    Args:
        p: shape ``(V, K)``, one column per signal; NaN = the signal could not score the video.
        rule: a :class:`FusionRule` or its value.

    Returns:
        Shape ``(V,)`` float64 in ``[0, 1]``; NaN for rows with no percentile at all.
    """
    try:
        rule = FusionRule(rule)
    except ValueError:
        raise UnknownNameError("fusion rule", str(rule), [r.value for r in FusionRule]) from None
    p = np.asarray(p, np.float64)
    if p.ndim != 2:
        raise ValueError(f"percentiles must have shape (V, K), got {p.shape}")
    out = np.full(p.shape[0], np.nan)
    k = np.sum(~np.isnan(p), axis=1)
    ok = k > 0
    if not ok.any():
        return out
    filled = np.where(np.isnan(p[ok]), -np.inf, p[ok])
    ordered = -np.sort(-filled, axis=1)  # descending
    if rule is FusionRule.SIDAK_MAX:
        out[ok] = ordered[:, 0] ** k[ok]
    elif rule is FusionRule.TOP2_MEAN:
        second = np.where(k[ok] > 1, ordered[:, min(1, p.shape[1] - 1)], ordered[:, 0])
        out[ok] = 0.5 * (ordered[:, 0] + second)
    else:
        out[ok] = np.nanmean(p[ok], axis=1)
    return out


def driving_signal(p: np.ndarray, names: Sequence[str]) -> list[str | None]:
    """Name of the signal with the largest percentile per row (None when a row is all NaN)."""
    p = np.asarray(p, np.float64)
    out: list[str | None] = []
    for row in p:
        out.append(None if np.all(np.isnan(row)) else names[int(np.nanargmax(row))])
    return out


@dataclass
class Fusion:
    """Calibrated fusion: per-signal reference scores, the rule and the fused threshold.

    Attributes:
        signals: signal names, in column order.
        reference: per signal, the raw scores of the calibration reals it scored, shape ``(n_s,)``.
        rule: the :class:`FusionRule`.
        threshold: the fused-score threshold (``fake_score > threshold`` is "fake").
        target_fpr: the false-positive rate the threshold was set for.
    """

    signals: list[str]
    reference: dict[str, np.ndarray]
    rule: FusionRule = FusionRule.SIDAK_MAX
    threshold: float | None = None
    target_fpr: float = 0.05
    info: dict[str, Any] = field(default_factory=dict)

    def percentiles(self, raw: Mapping[str, np.ndarray | float]) -> np.ndarray:
        """``{signal: raw scores (V,)}`` -> percentiles ``(V, K)`` in :attr:`signals` order."""
        cols = [percentile(np.atleast_1d(raw[s]), self.reference[s]) for s in self.signals]
        return np.stack(cols, axis=1)

    def score(self, raw: Mapping[str, np.ndarray | float]) -> dict[str, Any]:
        """Fused scores of ``V`` videos from their raw per-signal scores (NaN = not scored).

        Returns a dict: ``percentiles`` ``(V, K)``, ``fake_score`` ``(V,)``, ``driving``
        (list of names), ``verdict`` (list of "fake"/"real"/None).
        """
        p = self.percentiles(raw)
        fused = combine_percentiles(p, self.rule)
        verdict: list[str | None] = [None] * len(fused)
        if self.threshold is not None:
            verdict = [
                None if np.isnan(f) else ("fake" if f > self.threshold else "real") for f in fused
            ]
        return {"percentiles": p, "fake_score": fused, "driving": driving_signal(p, self.signals),
                "verdict": verdict}  # fmt: skip


def calibrate_fusion(
    calibration_raw: Mapping[str, np.ndarray],
    rule: FusionRule | str = FusionRule.SIDAK_MAX,
    target_fpr: float = 0.05,
    min_calibration: int = MIN_CALIBRATION,
) -> Fusion:
    """Fit the fusion on calibration reals.

    Args:
        calibration_raw: ``{signal: raw scores (V,)}``, one entry per calibration real video
            in the same order for every signal; NaN where a signal could not score a video.
        rule, target_fpr: see :class:`Fusion`.
        min_calibration: fewest scored calibration reals accepted, per signal and fused.

    Raises:
        CalibrationError: a signal scored fewer than ``min_calibration`` calibration reals.
    """
    rule = FusionRule(rule)
    names = list(calibration_raw)
    if not names:
        raise ValueError("calibrate_fusion needs at least one signal")
    raw = {s: np.asarray(calibration_raw[s], np.float64).ravel() for s in names}
    sizes = {s: v.size for s, v in raw.items()}
    if len(set(sizes.values())) != 1:
        raise ValueError(f"every signal must list the same calibration videos, got {sizes}")
    counts = {s: int(np.count_nonzero(np.isfinite(v))) for s, v in raw.items()}
    short = {s: c for s, c in counts.items() if c < min_calibration}
    if short:
        raise CalibrationError(
            f"too few calibration reals scored: {short} (at least {min_calibration} needed per "
            f"signal; give the detector more held-out real videos or lower min_calibration)"
        )
    reference = {s: np.sort(v[np.isfinite(v)]) for s, v in raw.items()}
    # leave-one-out percentiles: each calibration real scored against the others only
    n = next(iter(sizes.values()))
    p = np.full((n, len(names)), np.nan)
    for j, s in enumerate(names):
        v = raw[s]
        for i in np.flatnonzero(np.isfinite(v)):
            others = np.delete(v, i)
            p[i, j] = percentile(v[i], others[np.isfinite(others)])
    fused = combine_percentiles(p, rule)
    fused_ok = fused[np.isfinite(fused)]
    threshold = calibrate_threshold(fused_ok, target_fpr)
    info = {
        "calibration_videos": int(fused_ok.size),
        "calibration_per_signal": counts,
        "calibration_fpr_loo": float(np.mean(fused_ok > threshold)),
        "min_calibration": int(min_calibration),
    }
    return Fusion(names, reference, rule, threshold, target_fpr, info)
