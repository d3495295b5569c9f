"""Detection metrics on video-level fake scores.

Conventions: ``labels`` are 1 for fake and 0 for real; ``scores`` are continuous and higher
means more likely fake; a threshold predicts fake when ``score > threshold``. ROC-AUC and
average precision are always computed on the continuous scores, never on thresholded
predictions. Metrics that need both classes are NaN (with a ``note``) when one is missing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, roc_auc_score, roc_curve


def check_labels_scores(labels: Any, scores: Any) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(labels).ravel()
    s = np.asarray(scores, dtype=np.float64).ravel()
    if y.shape != s.shape:
        raise ValueError(f"labels {y.shape} and scores {s.shape} must have the same length")
    if y.size == 0:
        raise ValueError("need at least one labelled score, got none")
    bad = set(np.unique(y).tolist()) - {0, 1}
    if bad:
        raise ValueError(f"labels must be 0 (real) or 1 (fake), got {sorted(map(str, bad))}")
    n_bad = int(s.size - np.count_nonzero(np.isfinite(s)))
    if n_bad:
        raise ValueError(
            f"scores contain {n_bad} non-finite values; drop videos whose status is not 'ok'"
        )
    return y.astype(np.int64), s


def roc_curve_points(labels: Any, scores: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ROC curve ``(fpr, tpr, thresholds)``, each shape ``(m,)``, thresholds decreasing.

    As scikit-learn's ``roc_curve`` (every distinct score kept): a point's rates are those
    of ``score >= threshold``; the first point is ``(0, 0)`` at threshold ``+inf``. Raises
    ``ValueError`` when only one class is present (the curve is undefined).
    """
    y, s = check_labels_scores(labels, scores)
    if y.min() == y.max():
        raise ValueError(f"ROC curve needs real and fake videos; only label {y[0]} present")
    fpr, tpr, thr = roc_curve(y, s, drop_intermediate=False)
    return fpr, tpr, thr


def equal_error_rate(labels: Any, scores: Any) -> tuple[float, float]:
    """EER and its threshold.

    The EER is where the false-positive rate equals the false-negative rate, linearly
    interpolated between the two ROC points that bracket the crossing. The threshold is that
    of the bracketing point closer to the crossing, expressed in this module's convention
    (``score > threshold`` => fake), so ``binary_metrics(..., threshold=eer_threshold)``
    reproduces that point.
    """
    fpr, tpr, thr = roc_curve_points(labels, scores)
    gap = fpr - (1.0 - tpr)  # non-decreasing along the curve, -1 at (0, 0), +1 at (1, 1)
    i = int(np.argmax(gap >= 0))
    if gap[i] == 0:
        eer, j = float(fpr[i]), i
    else:
        t = -gap[i - 1] / (gap[i] - gap[i - 1])
        eer = float(fpr[i - 1] + t * (fpr[i] - fpr[i - 1]))
        j = i if t >= 0.5 else i - 1
    # thr[j] is a ">=" threshold over distinct scores; the next lower score is the ">" one
    strict = thr[j + 1] if j + 1 < thr.size else np.nextafter(thr[j], -np.inf)
    return eer, float(strict)


def binary_metrics(labels: Any, scores: Any, threshold: float | None = None) -> dict[str, Any]:
    """Metrics of fake scores against labels.

    Args:
        labels: shape ``(n,)``, 1 = fake, 0 = real.
        scores: shape ``(n,)``, finite, higher = more likely fake.
        threshold: optional decision threshold (``score > threshold`` => fake).

    Returns:
        ``n, n_fake, n_real, roc_auc, average_precision, eer, eer_threshold`` and, with a
        threshold, ``threshold, tpr, fpr, balanced_accuracy``; ``note`` explains NaNs
        (None when all are defined).
    """
    y, s = check_labels_scores(labels, scores)
    n_fake = int(y.sum())
    n_real = int(y.size - n_fake)
    out: dict[str, Any] = {"n": int(y.size), "n_fake": n_fake, "n_real": n_real}
    notes = []
    if n_fake and n_real:
        out["roc_auc"] = float(roc_auc_score(y, s))
        out["average_precision"] = float(average_precision_score(y, s))
        out["eer"], out["eer_threshold"] = equal_error_rate(y, s)
    else:
        for key in ("roc_auc", "average_precision", "eer", "eer_threshold"):
            out[key] = float("nan")
        notes.append(
            f"only one class present (n_fake={n_fake}, n_real={n_real}): "
            "ROC-AUC, average precision and EER are undefined"
        )
    if threshold is not None:
        pred = s > threshold
        tpr = float(pred[y == 1].mean()) if n_fake else float("nan")
        fpr = float(pred[y == 0].mean()) if n_real else float("nan")
        out.update(
            threshold=float(threshold),
            tpr=tpr,
            fpr=fpr,
            balanced_accuracy=(tpr + 1.0 - fpr) / 2.0,
        )
        if not (n_fake and n_real):
            notes.append("balanced accuracy needs both classes")
    out["note"] = "; ".join(notes) or None
    return out


def breakdown_by_method(
    labels: Any,
    scores: Any,
    methods: Sequence[Any] | np.ndarray,
    threshold: float | None = None,
) -> pd.DataFrame:
    """Per-manipulation metrics: all reals against the fakes of each method.

    Args:
        labels, scores, threshold: as :func:`binary_metrics`.
        methods: shape ``(n,)``, manipulation method of each fake (ignored for reals).

    Returns:
        One row ``"all"`` then one per method (sorted), columns ``subset`` and the keys of
        :func:`binary_metrics`.
    """
    y, s = check_labels_scores(labels, scores)
    m = np.asarray(methods, dtype=object).ravel()
    if m.shape != y.shape:
        raise ValueError(f"methods {m.shape} must match labels {y.shape}")
    rows = [{"subset": "all", **binary_metrics(y, s, threshold)}]
    real = y == 0
    for method in sorted({str(v) for v in m[y == 1]}):
        keep = real | ((y == 1) & (m.astype(str) == method))
        rows.append({"subset": method, **binary_metrics(y[keep], s[keep], threshold)})
    return pd.DataFrame(rows)
