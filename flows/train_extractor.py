"""Flow ``train-extractor``: ``{corpus}.face_crops`` -> ``{corpus}.extractor``."""

from __future__ import annotations

from typing import Any

from prefect import flow
from pydantic import Field

from data_catalog import Catalog
from data_catalog.catalog import default_root
from flows.choices import DEFAULT_PRESET, PresetName
from flows.config import JobOptions
from tasks.data import real_video_ids, video_table
from tasks.train import train_extractor_task


class TrainExtractorConfig(JobOptions):
    """Training runs as one task in the flow's process; the runner settings are accepted
    for a uniform job config and apply when this flow is part of a larger job."""

    corpus: str = Field(description="Catalog corpus whose face_crops to train on")
    preset: PresetName = Field(DEFAULT_PRESET, description="Training preset")
    overrides: dict[str, Any] = Field(default_factory=dict, description="TrainConfig fields")
    splits: list[str] | None = Field(
        None, description="Only videos of these splits (default: every real video)"
    )


@flow(name="train-extractor", log_prints=True)
def train_extractor_flow(config: TrainExtractorConfig) -> dict[str, Any]:
    catalog_root = config.catalog or default_root()
    catalog = Catalog(catalog_root)
    videos = video_table(catalog, config.corpus)
    if config.splits:
        videos = videos[videos["split"].isin(config.splits)]
    crops_version = catalog.resolve(f"{config.corpus}.face_crops")
    result = train_extractor_task(
        catalog_root,
        config.corpus,
        crops_version,
        real_video_ids(videos),
        config.preset,
        config.overrides,
    )
    return {"corpus": config.corpus, **result}
