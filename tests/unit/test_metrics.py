"""Detection metrics against hand-computed cases and scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import (
    average_precision_score,
    balanced_accuracy_score,
    roc_auc_score,
    roc_curve,
)

from difffake_core.metrics import binary_metrics, breakdown_by_method, roc_curve_points


def test_perfect_and_reversed() -> None:
    m = binary_metrics([0, 0, 1, 1], [1.0, 2.0, 3.0, 4.0], threshold=2.5)
    assert (m["roc_auc"], m["average_precision"], m["eer"]) == (1.0, 1.0, 0.0)
    assert (m["tpr"], m["fpr"], m["balanced_accuracy"]) == (1.0, 0.0, 1.0)
    assert m["note"] is None
    r = binary_metrics([0, 0, 1, 1], [3.0, 4.0, 1.0, 2.0])
    assert r["roc_auc"] == 0.0 and r["eer"] == 1.0


def test_hand_case_and_eer_threshold_reproduces_crossing() -> None:
    y, s = [0, 0, 1, 1], [0.1, 0.6, 0.4, 0.9]
    m = binary_metrics(y, s)
    assert m["roc_auc"] == pytest.approx(0.75)
    assert m["eer"] == pytest.approx(0.5)
    at = binary_metrics(y, s, threshold=m["eer_threshold"])
    assert at["fpr"] == pytest.approx(1.0 - at["tpr"]) == pytest.approx(0.5)


def test_eer_interpolates_between_roc_points() -> None:
    # reals 1, 2, 3; fakes 2.5, 4: FPR = FNR = 1/3 between the points at 3 and 2.5
    y, s = [0, 0, 0, 1, 1], [1.0, 2.0, 3.0, 2.5, 4.0]
    m = binary_metrics(y, s)
    assert m["eer"] == pytest.approx(1.0 / 3.0)
    at = binary_metrics(y, s, threshold=m["eer_threshold"])
    assert at["fpr"] == pytest.approx(1.0 / 3.0) and at["tpr"] == pytest.approx(0.5)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_agrees_with_sklearn(seed: int) -> None:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, size=300)
    s = rng.normal(size=300) + 0.8 * y
    s[:40] = np.round(s[:40])  # ties
    thr = 0.3
    m = binary_metrics(y, s, threshold=thr)
    assert m["roc_auc"] == pytest.approx(roc_auc_score(y, s))
    assert m["average_precision"] == pytest.approx(average_precision_score(y, s))
    assert m["balanced_accuracy"] == pytest.approx(balanced_accuracy_score(y, s > thr))
    fpr, tpr, _ = roc_curve(y, s)
    fnr = 1.0 - tpr
    i = np.argmin(np.abs(fpr - fnr))
    assert abs(m["eer"] - (fpr[i] + fnr[i]) / 2.0) <= abs(fpr[i] - fnr[i]) / 2.0 + 1e-12
    assert (m["n"], m["n_fake"]) == (300, int(y.sum()))


def test_single_class_gives_nan_and_note() -> None:
    m = binary_metrics([1, 1, 1], [0.2, 0.5, 0.9], threshold=0.4)
    assert np.isnan(m["roc_auc"]) and np.isnan(m["eer"]) and np.isnan(m["average_precision"])
    assert "only one class" in m["note"] and "n_real=0" in m["note"]
    assert m["tpr"] == pytest.approx(2.0 / 3.0)
    assert np.isnan(m["fpr"]) and np.isnan(m["balanced_accuracy"])


def test_bad_input() -> None:
    with pytest.raises(ValueError, match="1 non-finite"):
        binary_metrics([0, 1], [0.1, np.nan])
    with pytest.raises(ValueError, match="labels must be 0"):
        binary_metrics([0, 2], [0.1, 0.2])
    with pytest.raises(ValueError, match="same length"):
        binary_metrics([0, 1, 1], [0.1, 0.2])


def test_roc_curve_points() -> None:
    y, s = [0, 1, 0, 1, 1], [0.1, 0.8, 0.3, 0.3, 0.9]
    fpr, tpr, thr = roc_curve_points(y, s)
    ref = roc_curve(y, s, drop_intermediate=False)
    assert np.allclose(fpr, ref[0]) and np.allclose(tpr, ref[1])
    assert (fpr[0], tpr[0], fpr[-1], tpr[-1]) == (0.0, 0.0, 1.0, 1.0)
    assert np.all(np.diff(thr) < 0)
    with pytest.raises(ValueError, match="only label 0"):
        roc_curve_points([0, 0], [0.1, 0.2])


def test_breakdown_by_method() -> None:
    y = np.array([0, 0, 0, 1, 1, 1, 1])
    s = np.array([0.1, 0.2, 0.5, 0.9, 0.3, 0.8, 0.05])
    methods = np.array([None, None, None, "faceswap", "faceswap", "neural", "neural"])
    b = breakdown_by_method(y, s, methods, threshold=0.4).set_index("subset")
    assert b.index.tolist() == ["all", "faceswap", "neural"]
    keep = np.array([1, 1, 1, 1, 1, 0, 0], dtype=bool)
    assert b.loc["faceswap", "roc_auc"] == pytest.approx(roc_auc_score(y[keep], s[keep]))
    assert b.loc["neural", "n_fake"] == 2 and b.loc["neural", "n_real"] == 3
    assert b.loc["all", "roc_auc"] == pytest.approx(roc_auc_score(y, s))
