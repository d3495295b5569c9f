"""Task: metrics, plots and a report for scored, labelled videos."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from data_catalog import Catalog, dataset_name
from difffake_core.evaluation import clean_json, evaluate
from difffake_core.report import write_histogram_png, write_markdown_report, write_roc_png

REPORT_COLUMNS = ["subset", "n", "n_fake", "n_real", "roc_auc", "average_precision", "eer",
                  "tpr", "fpr"]  # fmt: skip


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
    scores = catalog.read_pandas(dataset_name(archive, "scores"), scores_version)
    pairs = catalog.read_pandas(dataset_name(archive, "pair_scores"), pairs_version)
    ev = evaluate(scores, pairs, archive, scores_version, seen_sha256)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    images = {
        "ROC curves (video level)": write_roc_png(out / "roc.png", ev.curves),
        "Fake-score histogram": write_histogram_png(
            out / "scores_hist.png", ev.labels, ev.scores, ev.threshold
        ),
    }
    table = ev.breakdown[[c for c in REPORT_COLUMNS if c in ev.breakdown]]
    write_markdown_report(out / "report.md", ev.result["summary"], table, images,
                          title=f"DiffFake evaluation: {archive}",
                          evidence=evidence_rows(scores))  # fmt: skip
    (out / "metrics.json").write_text(json.dumps(clean_json(ev.result), indent=2, default=str))
    return clean_json({**ev.result, "report": str(out / "report.md")})


EVIDENCE_COLUMNS = ["video_id", "label", "method", "fake_score", "verdict", "driving_signal",
                    "evidence_path"]  # fmt: skip


def evidence_rows(scores: Any) -> Any:
    """The scored videos with an evidence sheet, most suspicious first (None when none)."""
    if "evidence_path" not in scores:
        return None
    rows = scores[scores["evidence_path"].notna()]
    cols = [c for c in EVIDENCE_COLUMNS if c in rows]
    return rows.sort_values("fake_score", ascending=False, kind="stable")[cols]


def summary_rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    """The summary of an evaluation as ``{metric, value}`` rows for a console table."""
    rows = []
    for k, v in result["summary"].items():
        if k == "note" and not v:
            continue
        if v is None:
            v = "n/a (needs both real and fake videos)"
        rows.append({"metric": k, "value": f"{v:.4f}" if isinstance(v, float) else v})
    return rows
