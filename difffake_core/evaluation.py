"""Metrics of scored, labelled videos: video level (DiffFake and the single-frame baseline),
unseen-only, pair level and per manipulation method, plus the summary a report shows."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from difffake_core.metrics import binary_metrics, breakdown_by_method
from difffake_core.status import Status


def clean_json(obj: Any) -> Any:
    """``obj`` with NaN as None and numpy scalars as Python numbers (JSON-ready)."""
    if isinstance(obj, dict):
        return {k: clean_json(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [clean_json(v) for v in obj]
    if isinstance(obj, float | np.floating):
        return None if math.isnan(float(obj)) else float(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    return obj


@dataclass
class Evaluation:
    """``result``: metrics (JSON-ready after :func:`clean_json`); ``curves``: name ->
    (labels (n,), scores (n,)) for ROC plots; ``labels``/``scores``/``threshold`` of the
    DiffFake video scores; ``breakdown``: one row per method."""

    result: dict[str, Any]
    curves: dict[str, tuple[np.ndarray, np.ndarray]]
    labels: np.ndarray
    scores: np.ndarray
    threshold: float | None
    breakdown: pd.DataFrame


def evaluate(
    scores: pd.DataFrame,
    pairs: pd.DataFrame,
    archive: str,
    scores_version: str,
    seen_sha256: list[str] | None = None,
) -> Evaluation:
    """Metrics of a ``scores`` table (one row per video: label, status, fake_score,
    threshold, baseline_score, method, content_sha256, detector_version) and its ``pairs``
    table (video_id, loglik). ``seen_sha256``: hashes of videos the detector learned from;
    when some evaluated videos are among them, metrics on the unseen ones are added."""
    labelled = scores[scores["label"].isin(["real", "fake"])]
    ok = labelled[(labelled["status"] == Status.OK) & labelled["fake_score"].notna()]
    y = (ok["label"] == "fake").to_numpy(int)
    s = ok["fake_score"].to_numpy(float)
    threshold = ok["threshold"].dropna().iloc[0] if ok["threshold"].notna().any() else None
    video = binary_metrics(y, s, threshold)
    result: dict[str, Any] = {
        "archive": archive,
        "scores_version": scores_version,
        "detector": ok["detector_version"].iloc[0] if len(ok) else None,
        "videos_total": int(len(scores)),
        "videos_scored": int(len(ok)),
        "statuses": scores["status"].value_counts().to_dict(),
        "difffake": video,
    }
    seen = ok["content_sha256"].isin(set(seen_sha256 or []))
    result["reals_seen_in_training"] = int((seen & (ok["label"] == "real")).sum())
    if seen.any():
        unseen = ok[~seen]
        result["difffake_unseen_only"] = binary_metrics(
            (unseen["label"] == "fake").to_numpy(int), unseen["fake_score"].to_numpy(float),
            threshold,
        )  # fmt: skip
    curves = {"DiffFake": (y, s)}
    base = ok[ok["baseline_score"].notna()]
    if len(base):
        yb = (base["label"] == "fake").to_numpy(int)
        result["single_frame_baseline"] = binary_metrics(yb, base["baseline_score"].to_numpy(float))
        curves["single-frame baseline"] = (yb, base["baseline_score"].to_numpy(float))
    lab = pairs.merge(ok[["video_id", "label"]], on="video_id")
    if len(lab):
        result["pair_level"] = binary_metrics(
            (lab["label"] == "fake").to_numpy(int), -lab["loglik"].to_numpy(float)
        )
    methods = ok["method"].fillna("unknown").to_numpy(object)
    breakdown = breakdown_by_method(y, s, methods, threshold)
    result["by_method"] = breakdown.to_dict("records")
    result["summary"] = summary(result, threshold, len(ok), len(scores))
    return Evaluation(result, curves, y, s, threshold, breakdown)


def summary(result: dict[str, Any], threshold: float | None, n_ok: int, n_total: int) -> dict:
    """The headline figures of ``result``, in report order."""
    video = result["difffake"]
    out = {
        "video ROC-AUC (DiffFake)": video["roc_auc"],
        "video ROC-AUC (single-frame baseline)": result.get("single_frame_baseline", {}).get(
            "roc_auc"
        ),
        "pair-level ROC-AUC": result.get("pair_level", {}).get("roc_auc"),
        "average precision": video["average_precision"],
        "EER": video["eer"],
        "threshold (calibrated)": threshold,
        "TPR at threshold": video.get("tpr"),
        "FPR at threshold": video.get("fpr"),
        "balanced accuracy at threshold": video.get("balanced_accuracy"),
        "videos scored / total": f"{n_ok} / {n_total}",
        "reals seen in training": result["reals_seen_in_training"],
        "note": video.get("note"),
    }
    if "difffake_unseen_only" in result:
        out["video ROC-AUC, unseen videos only"] = result["difffake_unseen_only"]["roc_auc"]
    return out
