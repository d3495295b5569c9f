"""Task: metrics, plots and a report for scored, labelled videos."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from prefect import task
from prefect.cache_policies import NO_CACHE

from data_catalog import Catalog
from difffake_core.metrics import binary_metrics, breakdown_by_method
from difffake_core.report import write_histogram_png, write_markdown_report, write_roc_png


def _clean(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_clean(v) for v in obj]
    if isinstance(obj, float | np.floating):
        return None if math.isnan(float(obj)) else float(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    return obj


@task(name="evaluate_scores", cache_policy=NO_CACHE)
def evaluate_scores(
    catalog_root: str,
    archive: str,
    scores_version: str,
    pairs_version: str,
    out_dir: str,
    seen_sha256: list[str] | None = None,
) -> dict[str, Any]:
    """Video-level metrics on continuous scores (DiffFake and the single-frame baseline),
    pair-level AUC, per-method breakdown; writes metrics.json, PNGs and report.md.

    ``seen_sha256``: content hashes of the videos the detector was trained or calibrated on;
    when some evaluated reals are among them, metrics on the unseen reals are added too.
    """
    catalog = Catalog(catalog_root)
    scores = catalog.read_pandas(f"{archive}.scores", scores_version)
    pairs = catalog.read_pandas(f"{archive}.pair_scores", pairs_version)
    labelled = scores[scores["label"].isin(["real", "fake"])]
    ok = labelled[(labelled["status"] == "ok") & labelled["fake_score"].notna()]
    y = (ok["label"] == "fake").to_numpy(int)
    threshold = ok["threshold"].dropna().iloc[0] if ok["threshold"].notna().any() else None
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    video = binary_metrics(y, ok["fake_score"].to_numpy(float), threshold)
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
    curves = {"DiffFake": (y, ok["fake_score"].to_numpy(float))}
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
    breakdown = breakdown_by_method(y, ok["fake_score"].to_numpy(float), methods, threshold)
    result["by_method"] = breakdown.to_dict("records")
    images = {
        "ROC curves (video level)": write_roc_png(out / "roc.png", curves),
        "Fake-score histogram": write_histogram_png(
            out / "scores_hist.png", y, ok["fake_score"].to_numpy(float), threshold
        ),
    }
    summary = {
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
        "videos scored / total": f"{len(ok)} / {len(scores)}",
        "reals seen in training": result["reals_seen_in_training"],
        "note": video.get("note"),
    }
    if "difffake_unseen_only" in result:
        summary["video ROC-AUC, unseen videos only"] = result["difffake_unseen_only"]["roc_auc"]
    result["summary"] = summary
    keep = ["subset", "n", "n_fake", "n_real", "roc_auc", "average_precision", "eer", "tpr", "fpr"]
    write_markdown_report(out / "report.md", summary, breakdown[[c for c in keep if c in breakdown]],
                          images, title=f"DiffFake evaluation: {archive}")  # fmt: skip
    (out / "metrics.json").write_text(json.dumps(_clean(result), indent=2, default=str))
    result["report"] = str(out / "report.md")
    return _clean(result)


def summary_rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for k, v in result["summary"].items():
        if k == "note" and not v:
            continue
        if v is None:
            v = "n/a (needs both real and fake videos)"
        rows.append({"metric": k, "value": f"{v:.4f}" if isinstance(v, float) else v})
    return rows


def frame(result: dict[str, Any]) -> pd.DataFrame:
    return pd.DataFrame(summary_rows(result))
