"""Leave-source-out benchmark: fold planning over real sources, and bootstrap intervals.

Protocol. Every real video belongs to a *source* (its footage domain, e.g. ``news``; a corpus
without sources is one source named after the corpus). The sources are dealt into ``K``
folds; in fold ``k`` the detector (extractor, signals and calibration) learns only from the
reals of the other folds' sources, split into *fit* and *calibration* videos, and is tested
on the reals of fold ``k``'s sources plus every fake. So a test real's source is never seen
in training or calibration, and every real is tested exactly once.

Pure numerics on plain tables; the flow around it trains, scores and writes the report.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from difffake_core.errors import UsageError


@dataclass(frozen=True)
class Fold:
    """One leave-source-out fold (video ids sorted).

    ``fit_ids``/``calibrate_ids``: reals of the training sources (extractor and signals are
    fitted on ``fit_ids``, the fusion calibrated on ``calibrate_ids``); ``test_real_ids``:
    reals of the held-out ``test_sources`` (tested with every fake).
    """

    index: int
    test_sources: tuple[str, ...]
    train_sources: tuple[str, ...]
    fit_ids: tuple[str, ...]
    calibrate_ids: tuple[str, ...]
    test_real_ids: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "fold": self.index,
            "test_sources": list(self.test_sources),
            "train_sources": list(self.train_sources),
            "fit_videos": len(self.fit_ids),
            "calibration_videos": len(self.calibrate_ids),
            "test_reals": len(self.test_real_ids),
        }


def assign_sources(counts: dict[str, int], k: int, seed: int) -> list[list[str]]:
    """Deal sources into ``k`` groups balancing their real counts.

    Sources in a seeded random order, then stably by decreasing count, each to the group
    with the fewest reals so far (ties: the lowest group index). Deterministic per seed.

    Raises:
        UsageError: fewer sources than groups, or ``k < 2``.
    """
    if k < 2:
        raise UsageError(f"leave-source-out needs at least 2 folds, got {k}")
    if len(counts) < k:
        raise UsageError(
            f"{k} folds need at least {k} real sources, got {len(counts)}: {sorted(counts)}"
        )
    names = sorted(counts)
    order = [names[i] for i in np.random.default_rng(seed).permutation(len(names))]
    order.sort(key=lambda s: -counts[s])  # stable: the seeded order breaks ties
    groups: list[list[str]] = [[] for _ in range(k)]
    load = [0] * k
    for s in order:
        g = int(np.argmin(load))
        groups[g].append(s)
        load[g] += counts[s]
    return [sorted(g) for g in groups]


def split_calibration(ids: Sequence[str], fraction: float, seed: int) -> tuple[list, list]:
    """(fit, calibrate) of ``ids``: a seeded share ``fraction`` (at least one) calibrates."""
    if not 0.0 < fraction < 1.0:
        raise UsageError(f"calibration fraction must be in (0, 1), got {fraction}")
    order = [sorted(ids)[i] for i in np.random.default_rng(seed).permutation(len(ids))]
    n_cal = max(1, int(round(fraction * len(order)))) if len(order) > 1 else 0
    return sorted(order[n_cal:]), sorted(order[:n_cal])


def plan_folds(
    reals: pd.DataFrame, k: int = 3, seed: int = 0, calibration_fraction: float = 0.3
) -> list[Fold]:
    """Leave-source-out folds of ``reals`` (columns ``video_id``, ``source``; one row per
    usable real video). See the module docstring for the protocol."""
    missing = {"video_id", "source"} - set(reals.columns)
    if missing:
        raise ValueError(f"reals table lacks columns {sorted(missing)}")
    if reals["video_id"].duplicated().any():
        dup = reals.loc[reals["video_id"].duplicated(), "video_id"].tolist()[:5]
        raise ValueError(f"real video ids must be unique, got duplicates {dup}")
    if reals["source"].isna().any():
        raise ValueError("every real needs a source (fill a corpus's missing ones first)")
    by_source = reals.groupby("source")["video_id"].apply(lambda s: sorted(s)).to_dict()
    groups = assign_sources({s: len(v) for s, v in by_source.items()}, k, seed)
    folds = []
    for i, test in enumerate(groups):
        train = sorted(set(by_source) - set(test))
        train_ids = sorted(v for s in train for v in by_source[s])
        fit, cal = split_calibration(train_ids, calibration_fraction, seed + 1000 * (i + 1))
        test_ids = sorted(v for s in test for v in by_source[s])
        folds.append(Fold(i, tuple(test), tuple(train), tuple(fit), tuple(cal), tuple(test_ids)))
    return folds


# -- metrics with bootstrap intervals -----------------------------------------------------


def rank_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """ROC-AUC by the Mann-Whitney rank sum (ties count one half); NaN with one class."""
    y = np.asarray(labels).astype(bool)
    n1, n0 = int(y.sum()), int(y.size - y.sum())
    if not (n1 and n0):
        return float("nan")
    r = rankdata(scores)
    return float((r[y].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def rates_at(labels: np.ndarray, scores: np.ndarray, thresholds: np.ndarray) -> tuple[float, float]:
    """(TPR, FPR) of ``score > threshold`` with a threshold per row (each fold's own)."""
    y = np.asarray(labels).astype(bool)
    pred = np.asarray(scores) > np.asarray(thresholds)
    tpr = float(pred[y].mean()) if y.any() else float("nan")
    fpr = float(pred[~y].mean()) if (~y).any() else float("nan")
    return tpr, fpr


@dataclass(frozen=True)
class Interval:
    """A point estimate and its percentile bootstrap interval."""

    value: float
    low: float
    high: float
    n_boot: int = field(default=0, compare=False)

    def as_dict(self) -> dict[str, float]:
        return {"value": self.value, "low": self.low, "high": self.high}


def bootstrap_ci(
    labels: Sequence[int] | np.ndarray,
    scores: Sequence[float] | np.ndarray,
    metric: Callable[[np.ndarray, np.ndarray], float] = rank_auc,
    groups: Sequence[Any] | np.ndarray | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> Interval:
    """``metric(labels, scores)`` with a percentile bootstrap interval.

    Resampling draws whole videos with replacement, stratified by label (as many real and
    as many fake videos as observed), so both classes are always present. ``groups`` (shape
    ``(n,)``) ties rows of the same video together (a fake scored in every fold is one video):
    a drawn group brings all its rows. Seeded: the same inputs give the same interval.

    Args:
        labels: shape ``(n,)``, 1 = fake, 0 = real.
        scores: shape ``(n,)``, higher = more likely fake.
        metric: ``f(labels, scores) -> float``.
    """
    y = np.asarray(labels).astype(int).ravel()
    s = np.asarray(scores, np.float64).ravel()
    if y.shape != s.shape:
        raise ValueError(f"labels {y.shape} and scores {s.shape} must have the same length")
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level}")
    g = np.arange(y.size) if groups is None else np.asarray(groups, dtype=object).ravel()
    if g.shape != y.shape:
        raise ValueError(f"groups {g.shape} must match labels {y.shape}")
    point = float(metric(y, s))
    strata = []
    for label in (0, 1):
        codes, inverse = np.unique(g[y == label].astype(str), return_inverse=True)
        rows = np.flatnonzero(y == label)
        strata.append([rows[inverse == c] for c in range(codes.size)])
    if not (strata[0] and strata[1]) or n_boot < 1:
        return Interval(point, float("nan"), float("nan"), 0)
    rng = np.random.default_rng(seed)
    stats = np.empty(n_boot)
    for b in range(n_boot):
        idx = np.concatenate(
            [np.concatenate([st[i] for i in rng.integers(0, len(st), len(st))]) for st in strata]
        )
        stats[b] = metric(y[idx], s[idx])
    alpha = (1.0 - level) / 2.0
    lo, hi = np.nanquantile(stats, [alpha, 1.0 - alpha])
    return Interval(point, float(lo), float(hi), n_boot)


# -- corpus labels ------------------------------------------------------------------------


def corpus_labels(videos: pd.DataFrame, manifest: pd.DataFrame | None, corpus: str) -> pd.DataFrame:
    """Labels of one corpus's videos for the benchmark.

    Args:
        videos: the corpus's ``videos`` table (``video_id``, ``label``, ``method``, ``status``).
        manifest: its manifest (``path`` and optionally ``source``, ``generator``,
            ``method``), or None. A manifest row matches the video whose id is its path
            without the extension.
        corpus: the corpus name: the source of reals the manifest gives none.

    Returns:
        ``video_id, label, status, method, generator, source``. ``method`` is the
        manipulation family (a ``family:generator`` spelling is split, as in ``data/dev``);
        ``generator`` falls back to the part after the colon, then to the method.
    """
    out = videos[["video_id", "label", "status", "method"]].copy()
    out["generator"] = None
    out["source"] = None
    if manifest is not None and "path" in manifest:
        m = manifest.copy()
        m["video_id"] = m["path"].astype(str).str.replace(r"\.[^./]+$", "", regex=True)
        m = m.drop_duplicates("video_id").set_index("video_id")
        for col in ("source", "generator", "method"):
            if col in m:
                vals = out["video_id"].map(m[col]).where(lambda v: v.notna() & (v != ""))
                out[col] = vals.fillna(out[col]) if col == "method" else vals
    method = out["method"].fillna("").astype(str)
    family = method.str.split(":", n=1).str[0]
    after = method.str.split(":", n=1).str[1]
    is_fake = out["label"] == "fake"
    out["generator"] = (
        out["generator"].fillna(after.where(is_fake)).fillna(family.where(is_fake & (family != "")))
    )
    out["method"] = family.where(is_fake, "real").replace("", "unknown")
    real = out["label"] != "fake"
    out.loc[real, "source"] = out.loc[real, "source"].fillna(corpus)
    out.loc[real, "generator"] = None
    return out.reset_index(drop=True)
