"""Choosing the decision threshold on real validation videos.

Convention: ``fake_score`` is higher for more suspicious videos, and a video is called fake
when ``fake_score > threshold``.
"""

from __future__ import annotations

import math

import numpy as np


def calibrate_threshold(real_fake_scores: np.ndarray, target_fpr: float = 0.05) -> float:
    """The threshold that flags at most ``target_fpr`` of the given real videos.

    Rule: with ``n`` real scores sorted ascending ``s_1 <= ... <= s_n``, let
    ``k = floor(target_fpr * n)`` be the number of false positives allowed; the threshold is
    ``s_(n - k)``, the conservative empirical ``(1 - k/n)`` quantile. Since the rule is
    ``fake_score > threshold``, at most ``k`` reals are flagged (fewer when scores tie).
    The achieved false-positive rate on these videos is ``<= target_fpr`` and can be much
    lower when ``n`` is small (with ``n < 1 / target_fpr`` no false positive is allowed and
    the threshold is the highest real score). Use real videos that were *not* used to fit the
    anomaly model, or the threshold will be too low.

    Args:
        real_fake_scores: fake scores of real validation videos, shape ``(n,)``.
        target_fpr: allowed false-positive rate, in ``[0, 1)``.

    Returns:
        The threshold, a float taken from the given scores.
    """
    scores = np.asarray(real_fake_scores, dtype=np.float64).ravel()
    if not 0.0 <= target_fpr < 1.0:
        raise ValueError(f"target_fpr must be in [0, 1), got {target_fpr}")
    if scores.size == 0:
        raise ValueError("need at least one real score to calibrate a threshold, got none")
    bad = int(scores.size - np.count_nonzero(np.isfinite(scores)))
    if bad:
        raise ValueError(f"real_fake_scores contains {bad} non-finite values")
    n = scores.size
    k = math.floor(target_fpr * n + 1e-9)  # tolerate 0.05 * 100 = 5.000000000000001
    return float(np.sort(scores)[n - k - 1])
