"""Flow ``ingest-corpus``: corpus adapter -> ``{corpus}.videos`` -> ``{corpus}.face_crops``."""

from __future__ import annotations

import os
from typing import Any

from prefect import flow, unmapped
from prefect.futures import wait
from pydantic import Field

from data_catalog.catalog import default_root
from data_catalog.preflight import check_writable
from difffake_core.ingest import IngestParams
from flows.config import CorpusSource
from flows.runners import fan_out, fan_out_context, report_progress
from tasks.ingest import ingest_video, list_corpus, publish_ingest, work_key
from tasks.resources import close_all


class IngestConfig(CorpusSource):
    """Parameters of one ingest run."""

    params: IngestParams = Field(default_factory=IngestParams)
    limit: int | None = Field(None, description="Only the first N videos (for trials)")

    def corpus_name(self) -> str:
        return self.corpus or os.path.basename(os.path.normpath(self.root)) or "corpus"


@flow(name="ingest-videos", log_prints=True)
def ingest_videos(
    entries: list[dict[str, Any]],
    params: IngestParams,
    catalog_root: str,
    key: str,
    face_model: str | None,
) -> list[dict[str, Any]]:
    """The per-video fan-out, on the job's task runner (:func:`flows.runners.fan_out`)."""
    futures = ingest_video.map(
        entries, unmapped(params), unmapped(catalog_root), unmapped(key), unmapped(face_model)
    )
    try:
        report_progress(futures)  # worker processes' events do not reach this process
        wait(futures)
    finally:
        close_all()  # MediaPipe graphs must close before the interpreter shuts down
    return [f.result() for f in futures]


@flow(name="ingest-corpus", log_prints=True)
def ingest_corpus(config: IngestConfig) -> dict[str, Any]:
    """Ingest a corpus; resumable (finished videos are kept in the catalog's work area)."""
    catalog_root = config.catalog or default_root()
    check_writable(catalog_root, "catalog")  # before any work, not after it
    entries = list_corpus(config.adapter, config.root, config.adapter_options, config.limit)
    key = work_key(config.params, config.face_model)
    with fan_out_context(config):
        summaries = fan_out(ingest_videos, config)(
            entries, config.params, catalog_root, key, config.face_model
        )
    versions = publish_ingest(
        config.corpus_name(),
        entries,
        summaries,
        config.params,
        catalog_root,
        key,
        config.adapter,
        config.root,
    )
    return {"corpus": config.corpus_name(), "versions": versions, "videos": summaries}
