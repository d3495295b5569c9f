"""Config models the flow configs compose: the options every job shares, and a corpus source.

Each setting is declared once here; a flow config extends these instead of copying fields,
and hands the shared part on to the flows it calls (``model_dump(include=...)``).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, model_validator

from data_catalog.catalog import default_root
from flows.choices import DEFAULT_ADAPTER, AdapterName
from flows.runners import DEFAULT_RUNNER, DEFAULT_WORKERS, RunnerName


class JobOptions(BaseModel):
    """Settings every job shares. Job-wide execution settings belong here too."""

    catalog: str | None = Field(None, description="Catalog root; default $DIFFFAKE_CATALOG")
    face_model: str | None = Field(None, description="Face Landmarker .task file")
    runner: RunnerName = Field(
        DEFAULT_RUNNER,
        description="Task runner of the per-video work: threads, processes, "
        "dask or ray (see flows/runners.py)",
    )
    workers: int = Field(
        DEFAULT_WORKERS, ge=1, description="Threads or worker processes the runner starts"
    )
    address: str | None = Field(
        None, description="An existing Dask scheduler or Ray cluster (runner dask or ray)"
    )

    @model_validator(mode="after")
    def _address_needs_a_cluster_runner(self) -> JobOptions:
        if self.address and self.runner in (RunnerName.THREADS, RunnerName.PROCESSES):
            raise ValueError(f"address {self.address!r} needs runner dask or ray")
        return self

    def catalog_root(self) -> str:
        return self.catalog or default_root()

    def job_fields(self) -> dict[str, Any]:
        """This config's :class:`JobOptions` part, to hand on to the flows it calls."""
        return self.model_dump(include=set(JobOptions.model_fields))


class CorpusSource(JobOptions):
    """Where a corpus comes from and the dataset prefix it is ingested under."""

    root: str = Field(description="Corpus folder (or file for manifest-based adapters)")
    adapter: AdapterName = Field(DEFAULT_ADAPTER, description="Corpus adapter name")
    adapter_options: dict[str, Any] = Field(default_factory=dict)
    corpus: str | None = Field(None, description="Dataset prefix; default: the folder's name")

    def source_fields(self) -> dict[str, Any]:
        """This config's :class:`CorpusSource` part, to build another config from."""
        return self.model_dump(include=set(CorpusSource.model_fields))
