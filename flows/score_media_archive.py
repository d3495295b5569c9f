"""Flow ``score-media-archive``: media -> per-video fake scores and verdicts (+ pair table).

Resumable: a video already scored by the same detector version (same content hash) is not
scored again. Media that cannot be scored get a status row and never stop the run.
"""

from __future__ import annotations

import os
from typing import Any

from prefect import flow, unmapped
from prefect.futures import wait
from prefect.task_runners import ThreadPoolTaskRunner
from pydantic import Field

from data_catalog import Catalog
from data_catalog.catalog import default_root
from data_catalog.preflight import check_writable
from flows.choices import DEFAULT_ADAPTER, DEFAULT_RUNTIME, AdapterName, RuntimeName
from flows.config import JobOptions
from tasks.evidence import EvidenceMode, wants_sheet, write_evidence
from tasks.resources import close_all
from tasks.score import list_media, publish_scores, resolve_detector, score_video


class ScoreConfig(JobOptions):
    source: str = Field(description="Folder, glob pattern or CSV manifest of media")
    adapter: AdapterName = Field(
        DEFAULT_ADAPTER, description="Corpus adapter for folders/manifests"
    )
    adapter_options: dict[str, Any] = Field(default_factory=dict)
    detector: str | None = Field(None, description="NAME[@VERSION] or folder; default newest")
    archive: str | None = Field(None, description="Dataset prefix for the results")
    out_dir: str | None = Field(None, description="Also write scores.parquet/.csv here")
    runtime: RuntimeName = Field(DEFAULT_RUNTIME, description="Embedding runtime")
    evidence: EvidenceMode = Field(
        "flagged", description="Evidence sheets into out_dir/evidence: flagged, all or none"
    )
    workers: int = Field(2, ge=1)
    limit: int | None = None

    def archive_name(self) -> str:
        if self.archive:
            return self.archive
        base = self.source.split("*")[0].rstrip("/") or "archive"
        return os.path.basename(os.path.normpath(base)) or "archive"


@flow(name="score-media-archive", task_runner=ThreadPoolTaskRunner(max_workers=2), log_prints=True)
def score_media_archive(config: ScoreConfig) -> dict[str, Any]:
    catalog_root = config.catalog or default_root()
    check_writable(catalog_root, "catalog")  # before any work, not after it
    if config.out_dir:
        check_writable(config.out_dir, "output folder", create=False)
    name, version, folder = resolve_detector(Catalog(catalog_root), config.detector)
    entries = list_media(config.source, config.adapter, config.adapter_options)
    if config.limit:
        entries = entries[: config.limit]
    futures = score_video.map(
        entries,
        unmapped(folder),
        unmapped(version),
        unmapped(catalog_root),
        unmapped(config.runtime),
        unmapped(config.face_model),
        unmapped(config.evidence),
    )
    try:
        wait(futures)
    finally:
        close_all()  # MediaPipe graphs must close before the interpreter shuts down
    results = [f.result() for f in futures]
    wanted = [r for r in results if config.out_dir and wants_sheet(r, config.evidence)]
    if wanted:
        sheet_dir = os.path.join(config.out_dir, "evidence")
        sheets = write_evidence.map(wanted, unmapped(folder), unmapped(f"{name}@{version}"),
                                    unmapped(catalog_root), unmapped(sheet_dir),
                                    unmapped(config.evidence))  # fmt: skip
        for row, sheet in zip(wanted, sheets, strict=True):
            row["evidence_path"] = sheet.result()
    versions = publish_scores(
        config.archive_name(), results, name, version, catalog_root, config.out_dir
    )
    return {
        "archive": config.archive_name(),
        "detector": f"{name}@{version}",
        "results": results,
        "versions": versions,
    }
