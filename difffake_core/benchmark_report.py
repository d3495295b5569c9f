"""Tables and the markdown report of a leave-source-out benchmark run.

Input: the *test rows* of every fold, one row per (fold, tested video): the fold's held-out
reals and every fake. Columns ``fold, video_id, label, method, generator, source`` and, per
scored detector, a score and its fold's threshold (``fake_score``/``threshold`` for the fused
detector, ``before_score``/``before_threshold`` for the pair-only setting) and each signal's
percentile ``pct_<signal>``.

Pooling: the fused ``fake_score`` (and every ``pct_<signal>``) is a percentile against the
fold's own calibration reals, so scores of different folds share one scale and the folds'
rows can be pooled into one ROC. Pooled, each real appears once (in its source's fold) and
each fake once per fold; bootstrap intervals resample whole videos (all rows of a drawn
video), stratified by label.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score

from difffake_core.benchmark import bootstrap_ci, rank_auc, rates_at
from difffake_core.metrics import equal_error_rate
from difffake_core.report import markdown_table, write_roc_png

FUSED, BEFORE = "fused", "pairs only (before)"
TARGETS = {  # the targets, leave-source-out
    "faceswap": 0.92,
    "reenactment": 0.92,
    "talking_head": 0.80,
    "lipsync": 0.80,
}
TARGET_FPR_MAX = 0.10


def score_columns(rows: pd.DataFrame, signals: Sequence[str]) -> dict[str, tuple[str, str | None]]:
    """``{detector name: (score column, threshold column or None)}`` present in ``rows``."""
    cols: dict[str, tuple[str, str | None]] = {FUSED: ("fake_score", "threshold")}
    if "before_score" in rows:
        cols[BEFORE] = ("before_score", "before_threshold")
    for s in signals:
        if f"pct_{s}" in rows and rows[f"pct_{s}"].notna().any():
            cols[s] = (f"pct_{s}", None)
    return cols


def _subset(rows: pd.DataFrame, score: str) -> pd.DataFrame:
    keep = rows["label"].isin(["real", "fake"]) & np.isfinite(rows[score].astype(float))
    return rows[keep]


def _ap(y: np.ndarray, s: np.ndarray) -> float:
    return float(average_precision_score(y, s)) if 0 < y.sum() < y.size else float("nan")


def _fpr_of_margin(y: np.ndarray, margin: np.ndarray) -> float:
    return float(np.mean(margin[y == 0] > 0)) if (y == 0).any() else float("nan")


def _tpr_of_margin(y: np.ndarray, margin: np.ndarray) -> float:
    return float(np.mean(margin[y == 1] > 0)) if (y == 1).any() else float("nan")


def detector_metrics(
    rows: pd.DataFrame,
    score: str,
    threshold: str | None,
    n_boot: int,
    seed: int,
    full: bool = True,
) -> dict[str, Any]:
    """AUC (with interval) and, with ``full``, AP, EER and rates at each row's threshold
    (with intervals) of one score column over ``rows``."""
    sub = _subset(rows, score)
    y = (sub["label"] == "fake").to_numpy(int)
    s = sub[score].to_numpy(float)
    g = sub["video_id"].to_numpy(object)
    out: dict[str, Any] = {"n_real": int((y == 0).sum()), "n_fake": int(y.sum())}
    out["roc_auc"] = bootstrap_ci(y, s, rank_auc, g, n_boot, seed).as_dict()
    if not full or not (0 < y.sum() < y.size):
        return out
    out["average_precision"] = bootstrap_ci(y, s, _ap, g, n_boot, seed).as_dict()
    out["eer"] = equal_error_rate(y, s)[0]
    if threshold is not None and sub[threshold].notna().all():
        margin = s - sub[threshold].to_numpy(float)
        out["tpr"] = bootstrap_ci(y, margin, _tpr_of_margin, g, n_boot, seed).as_dict()
        out["fpr_unseen_reals"] = bootstrap_ci(y, margin, _fpr_of_margin, g, n_boot, seed).as_dict()
        out["tpr"]["value"], out["fpr_unseen_reals"]["value"] = rates_at(
            y, s, sub[threshold].to_numpy(float)
        )
    return out


def _group_table(
    rows: pd.DataFrame,
    key: str,
    detectors: Mapping[str, tuple[str, str | None]],
    n_boot: int,
    seed: int,
) -> list[dict[str, Any]]:
    """Per value of ``key`` (over fakes): its fakes against every tested real, each detector."""
    reals = rows[rows["label"] == "real"]
    fakes = rows[rows["label"] == "fake"]
    out = []
    for value, g in sorted(fakes.groupby(fakes[key].fillna("unknown")), key=lambda t: str(t[0])):
        part = pd.concat([reals, g])
        entry: dict[str, Any] = {key: value, "n_fake_videos": int(g["video_id"].nunique())}
        if key == "generator":
            entry["method"] = str(g["method"].iloc[0])
        for name, (col, thr) in detectors.items():
            entry[name] = detector_metrics(part, col, thr, n_boot, seed, full=False)["roc_auc"]
            if thr is not None and name == FUSED:
                sub = _subset(g, col)
                entry["fused_tpr"] = rates_at(np.ones(len(sub)), sub[col], sub[thr])[0]
        out.append(entry)
    return out


def summarise(
    rows: pd.DataFrame, signals: Sequence[str], n_boot: int = 1000, seed: int = 0
) -> dict[str, Any]:
    """Every table of the benchmark from its test rows (see the module docstring)."""
    detectors = score_columns(rows, signals)
    pooled = {
        name: detector_metrics(rows, col, thr, n_boot, seed)
        for name, (col, thr) in detectors.items()
    }
    folds = []
    for k, fr in rows.groupby("fold", sort=True):
        entry: dict[str, Any] = {"fold": int(k)}
        for name, (col, thr) in detectors.items():
            entry[name] = detector_metrics(fr, col, thr, n_boot, seed, full=name in (FUSED, BEFORE))
        folds.append(entry)
    unscored = rows[~np.isfinite(rows["fake_score"].astype(float))]
    return {
        "pooled": pooled,
        "folds": folds,
        "by_method": _group_table(rows, "method", detectors, n_boot, seed),
        "by_generator": _group_table(rows, "generator", detectors, n_boot, seed),
        "unscored": unscored[
            [c for c in ("fold", "video_id", "label", "status") if c in unscored]
        ].to_dict("records"),
        "n_boot": n_boot,
        "detectors": list(detectors),
    }


# -- text ---------------------------------------------------------------------------------


def fmt_ci(ci: Mapping[str, float] | None) -> str:
    """``0.812 [0.70, 0.90]`` (or ``n/a``)."""
    if not ci or ci.get("value") is None or not np.isfinite(ci["value"]):
        return "n/a"
    lo, hi = ci.get("low"), ci.get("high")
    if lo is None or not np.isfinite(lo):
        return f"{ci['value']:.3f}"
    return f"{ci['value']:.3f} [{lo:.2f}, {hi:.2f}]"


def _num(v: Any) -> str:
    return "n/a" if v is None or (isinstance(v, float) and not np.isfinite(v)) else f"{v:.3f}"


def headline_table(summary: Mapping[str, Any]) -> pd.DataFrame:
    """One row per detector: pooled AUC, AP, EER, TPR/FPR at the calibrated threshold."""
    out = []
    for name, m in summary["pooled"].items():
        out.append({
            "detector": name,
            "ROC-AUC [95% CI]": fmt_ci(m["roc_auc"]),
            "AP [95% CI]": fmt_ci(m.get("average_precision")),
            "EER": _num(m.get("eer")),
            "TPR at thr": fmt_ci(m.get("tpr")) if "tpr" in m else "-",
            "FPR unseen-source reals": fmt_ci(m.get("fpr_unseen_reals")) if "tpr" in m else "-",
            "reals / fake rows": f"{m['n_real']} / {m['n_fake']}",
        })  # fmt: skip
    return pd.DataFrame(out)


def group_frame(
    entries: Sequence[Mapping[str, Any]], key: str, detectors: Sequence[str], ci: bool = True
) -> pd.DataFrame:
    """A per-method or per-generator table: AUC [CI] of each detector (``ci=False``: AUC
    only, for a console)."""
    cell = fmt_ci if ci else (lambda m: _num((m or {}).get("value")))
    out = []
    for e in entries:
        row = {key: e[key]}
        if "method" in e and key != "method":
            row["method"] = e["method"]
        row["fakes"] = e["n_fake_videos"]
        row.update({d: cell(e.get(d)) for d in detectors})
        if "fused_tpr" in e:
            row["fused TPR at thr"] = _num(e["fused_tpr"])
        out.append(row)
    return pd.DataFrame(out)


def fold_frame(summary: Mapping[str, Any], plan: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    by_fold = {p["fold"]: p for p in plan}
    out = []
    for f in summary["folds"]:
        p = by_fold.get(f["fold"], {})
        fused = f[FUSED]
        row = {
            "fold": f["fold"],
            "test sources": ", ".join(p.get("test_sources", [])),
            "fit / cal / test reals": f"{p.get('fit_videos')} / {p.get('calibration_videos')} / "
            f"{fused['n_real']}",
            "fused AUC": fmt_ci(fused["roc_auc"]),
            "fused AP": fmt_ci(fused.get("average_precision")),
            "fused EER": _num(fused.get("eer")),
            "fused TPR / FPR at thr": f"{_num(fused.get('tpr', {}).get('value'))} / "
            f"{_num(fused.get('fpr_unseen_reals', {}).get('value'))}",
        }
        if BEFORE in f:
            row["before AUC"] = fmt_ci(f[BEFORE]["roc_auc"])
            row["before FPR at thr"] = _num(f[BEFORE].get("fpr_unseen_reals", {}).get("value"))
        for d in summary["detectors"]:
            if d not in (FUSED, BEFORE):
                row[d] = _num(f[d]["roc_auc"]["value"])
        out.append(row)
    return pd.DataFrame(out)


def targets_frame(summary: Mapping[str, Any]) -> pd.DataFrame:
    """Each target of the issue against the fused detector and the best single signal."""
    out = []
    for e in summary["by_method"]:
        target = TARGETS.get(str(e["method"]))
        if target is None:
            continue
        signals = [d for d in summary["detectors"] if d not in (FUSED, BEFORE)]
        best = max(signals, key=lambda d: e[d]["value"] if e.get(d) else -1, default=None)
        fused = e[FUSED]["value"]
        out.append({
            "target": f"{e['method']} AUC >= {target}",
            "fused": _num(fused),
            "met (fused)": "yes" if fused >= target else "no",
            "best signal": f"{best} {_num(e[best]['value'])}" if best else "n/a",
        })  # fmt: skip
    fpr = summary["pooled"][FUSED].get("fpr_unseen_reals", {}).get("value")
    if fpr is not None:
        out.append({
            "target": f"FPR unseen-source reals <= {TARGET_FPR_MAX} (5% target)",
            "fused": _num(fpr), "met (fused)": "yes" if fpr <= TARGET_FPR_MAX else "no",
            "best signal": "-",
        })  # fmt: skip
    return pd.DataFrame(out)


def write_benchmark_report(
    out_dir: str | Path,
    rows: pd.DataFrame,
    summary: Mapping[str, Any],
    context: Mapping[str, Any],
) -> dict[str, Path]:
    """Write ``report.md`` and ROC PNGs into ``out_dir``; returns the paths written.

    ``context``: ``settings`` (a dict shown as a table), ``plan`` (each fold's
    :meth:`~difffake_core.benchmark.Fold.as_dict`), ``timings`` (seconds per step).
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    detectors = summary["detectors"]
    curves = {}
    for name, (col, _) in score_columns(rows, detectors).items():
        sub = _subset(rows, col)
        curves[name] = ((sub["label"] == "fake").to_numpy(int), sub[col].to_numpy(float))
    images = {"Pooled ROC, every detector and signal": write_roc_png(
        out / "roc_pooled.png", curves, "Leave-source-out ROC (pooled folds)")}  # fmt: skip
    sub = _subset(rows, "fake_score")
    by_method = {}
    for method in sorted(sub.loc[sub["label"] == "fake", "method"].dropna().unique()):
        part = sub[(sub["label"] == "real") | (sub["method"] == method)]
        by_method[method] = ((part["label"] == "fake").to_numpy(int), part["fake_score"].to_numpy())
    images["Fused detector by method"] = write_roc_png(
        out / "roc_fused_by_method.png", by_method, "Fused fake_score by method (pooled)"
    )
    folds = {}
    for k, fr in sub.groupby("fold"):
        folds[f"fold {k}"] = ((fr["label"] == "fake").to_numpy(int), fr["fake_score"].to_numpy())
    images["Fused detector per fold"] = write_roc_png(
        out / "roc_fused_by_fold.png", folds, "Fused fake_score per fold"
    )
    settings = pd.DataFrame(
        [(k, str(v)) for k, v in context.get("settings", {}).items()], columns=["setting", "value"]
    )
    parts = [
        "# Leave-source-out benchmark",
        "",
        "Every fold trains the extractor and fits every signal on the reals of its training "
        "sources only, calibrates the fusion on held-out videos of those sources, and tests on "
        "the reals of its held-out sources plus every fake. The fused `fake_score` and each "
        "`pct_<signal>` are percentiles against the fold's calibration reals, so the folds' "
        "rows share one scale and are pooled into one ROC (each real once, each fake once per "
        "fold). Intervals: percentile bootstrap, "
        f"{summary['n_boot']} resamples of whole videos stratified by label, seeded. "
        "TPR/FPR use each fold's calibrated threshold; the FPR counts unseen-source reals only.",
        "",
        "## Settings",
        "",
        markdown_table(settings),
        "",
        "## Folds",
        "",
        markdown_table(pd.DataFrame(context.get("plan", []))),
        "",
        "## Pooled over folds",
        "",
        markdown_table(headline_table(summary)),
        "",
        "## Targets (issue 8)",
        "",
        markdown_table(targets_frame(summary)),
        "",
        "## Per fold",
        "",
        markdown_table(fold_frame(summary, context.get("plan", []))),
        "",
        "## By method (ROC-AUC [95% CI], pooled; every tested real against the method's fakes)",
        "",
        markdown_table(group_frame(summary["by_method"], "method", detectors)),
        "",
        "## By generator (ROC-AUC [95% CI], pooled)",
        "",
        markdown_table(group_frame(summary["by_generator"], "generator", detectors)),
    ]
    if summary["unscored"]:
        parts += ["", "## Not scored (left out of every metric)", "",
                  markdown_table(pd.DataFrame(summary["unscored"]))]  # fmt: skip
    if context.get("timings"):
        t = pd.DataFrame([(k, f"{v:.0f}") for k, v in context["timings"].items()],
                         columns=["step", "seconds"])  # fmt: skip
        parts += ["", "## Wall time", "", markdown_table(t)]
    parts += ["", "## Figures"]
    for caption, image in images.items():
        parts += ["", f"![{caption}]({Path(image).name})"]
    report = out / "report.md"
    report.write_text("\n".join(parts) + "\n", encoding="utf-8")
    return {"report": report, **{Path(p).stem: Path(p) for p in images.values()}}
