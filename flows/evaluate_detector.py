"""Flow ``evaluate-detector``: score a labelled corpus, then metrics, plots and a report."""

from __future__ import annotations

import os
from typing import Any

from prefect import flow
from pydantic import Field

from data_catalog import Catalog
from data_catalog.catalog import default_root
from difffake_core.detector import Detector
from flows.score_media_archive import ScoreConfig, score_media_archive
from tasks.evaluate import evaluate_scores
from tasks.score import resolve_detector


class EvaluateConfig(ScoreConfig):
    """Scoring settings of a labelled corpus, plus where the report goes."""

    source: str = Field(description="Labelled corpus (folder with real/ fake/, or manifest)")
    out_dir: str = Field("evaluation", description="Folder for metrics.json, plots, report.md")


@flow(name="evaluate-detector", log_prints=True)
def evaluate_detector(config: EvaluateConfig) -> dict[str, Any]:
    catalog_root = config.catalog or default_root()
    scored = score_media_archive(
        ScoreConfig(
            **{**config.model_dump(include=set(ScoreConfig.model_fields)), "catalog": catalog_root}
        )  # fmt: skip
    )
    _, _, folder = resolve_detector(Catalog(catalog_root), scored["detector"])
    seen = Detector.load(folder).card.get("seen_content_sha256", [])
    result = evaluate_scores(
        catalog_root,
        scored["archive"],
        scored["versions"]["scores"],
        scored["versions"]["pair_scores"],
        os.path.abspath(config.out_dir),
        seen,
    )
    return {**result, "detector": scored["detector"], "results": scored["results"]}
