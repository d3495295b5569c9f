"""Flow ``evaluate-detector``: score a labelled corpus, then metrics, plots and a report."""

from __future__ import annotations

import os
from typing import Any

from prefect import flow
from pydantic import BaseModel, Field

from data_catalog import Catalog
from data_catalog.catalog import default_root
from difffake_core.detector import Detector
from flows.choices import DEFAULT_ADAPTER, DEFAULT_RUNTIME, AdapterName, RuntimeName
from flows.score_media_archive import ScoreConfig, score_media_archive
from tasks.evaluate import evaluate_scores
from tasks.score import resolve_detector


class EvaluateConfig(BaseModel):
    source: str = Field(description="Labelled corpus (folder with real/ fake/, or manifest)")
    adapter: AdapterName = DEFAULT_ADAPTER
    adapter_options: dict[str, Any] = Field(default_factory=dict)
    detector: str | None = None
    archive: str | None = None
    catalog: str | None = None
    out_dir: str = Field("evaluation", description="Folder for metrics.json, plots, report.md")
    runtime: RuntimeName = DEFAULT_RUNTIME
    face_model: str | None = None


@flow(name="evaluate-detector", log_prints=True)
def evaluate_detector(config: EvaluateConfig) -> dict[str, Any]:
    catalog_root = config.catalog or default_root()
    scored = score_media_archive(
        ScoreConfig(
            source=config.source,
            adapter=config.adapter,
            adapter_options=config.adapter_options,
            detector=config.detector,
            archive=config.archive,
            catalog=catalog_root,
            out_dir=config.out_dir,
            runtime=config.runtime,
            face_model=config.face_model,
        )
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
