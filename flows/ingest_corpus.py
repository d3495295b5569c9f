"""Flow ``ingest-corpus``: corpus adapter -> ``{corpus}.videos`` -> ``{corpus}.face_crops``."""

from __future__ import annotations

import os
from typing import Any

from prefect import flow, unmapped
from prefect.futures import wait
from prefect.task_runners import ThreadPoolTaskRunner
from pydantic import Field

from data_catalog.catalog import default_root
from data_catalog.preflight import check_writable
from difffake_core.ingest import IngestParams
from flows.config import CorpusSource
from tasks.ingest import ingest_video, list_corpus, publish_ingest, work_key
from tasks.resources import close_all


class IngestConfig(CorpusSource):
    """Parameters of one ingest run."""

    params: IngestParams = Field(default_factory=IngestParams)
    limit: int | None = Field(None, description="Only the first N videos (for trials)")

    def corpus_name(self) -> str:
        return self.corpus or os.path.basename(os.path.normpath(self.root)) or "corpus"


@flow(name="ingest-corpus", task_runner=ThreadPoolTaskRunner(max_workers=2), log_prints=True)
def ingest_corpus(config: IngestConfig) -> dict[str, Any]:
    """Ingest a corpus; resumable (finished videos are kept in the catalog's work area)."""
    catalog_root = config.catalog or default_root()
    check_writable(catalog_root, "catalog")  # before any work, not after it
    entries = list_corpus(config.adapter, config.root, config.adapter_options, config.limit)
    key = work_key(config.params, config.face_model)
    futures = ingest_video.map(
        entries,
        unmapped(config.params),
        unmapped(catalog_root),
        unmapped(key),
        unmapped(config.face_model),
    )
    try:
        wait(futures)
    finally:
        close_all()  # MediaPipe graphs must close before the interpreter shuts down
    summaries = [f.result() for f in futures]
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
