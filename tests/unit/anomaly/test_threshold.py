"""Threshold calibration on real validation scores."""

from __future__ import annotations

import numpy as np
import pytest

from difffake_core.anomaly import calibrate_threshold


def test_hundred_scores_five_percent() -> None:
    scores = np.random.default_rng(0).permutation(np.arange(1.0, 101.0))
    t = calibrate_threshold(scores, 0.05)
    assert t == 95.0
    assert np.count_nonzero(scores > t) == 5


def test_zero_fpr_and_small_sets_flag_no_real() -> None:
    scores = np.array([0.3, 2.0, -1.0, 0.7])
    assert calibrate_threshold(scores, 0.0) == 2.0
    assert calibrate_threshold(scores, 0.2) == 2.0  # floor(0.8) = 0 false positives allowed
    assert calibrate_threshold(scores, 0.25) == 0.7


@pytest.mark.parametrize("fpr", [0.01, 0.05, 0.1, 0.33])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_rule_is_tight_with_ties(fpr: float, seed: int) -> None:
    rng = np.random.default_rng(seed)
    scores = rng.integers(0, 40, size=257).astype(float)  # many ties
    t = calibrate_threshold(scores, fpr)
    assert t in scores
    assert np.mean(scores > t) <= fpr
    lower = scores[scores < t]
    if lower.size:  # the next lower observed score would flag too many reals
        assert np.mean(scores > lower.max()) > fpr


@pytest.mark.parametrize(
    ("scores", "fpr", "match"),
    [
        ([1.0, 2.0], 1.0, r"target_fpr must be in \[0, 1\), got 1.0"),
        ([1.0, 2.0], -0.1, "target_fpr"),
        ([], 0.05, "got none"),
        ([1.0, np.nan], 0.05, "1 non-finite"),
    ],
)
def test_bad_input(scores, fpr: float, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        calibrate_threshold(np.asarray(scores), fpr)
