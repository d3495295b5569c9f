"""Tasks of the extractor stage: train on real crops vs pseudo-fakes, register the result."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from data_catalog import Catalog, fingerprint
from difffake_core.errors import NotEnoughDataError
from difffake_core.training import ConsoleProgress, get_preset, train_extractor
from difffake_core.training.checkpoint import CARD_FILE, MODEL_FILE
from tasks.data import crop_records, usable_crops

STAGE_VERSION = "extractor-1"


@task(name="train_extractor", cache_policy=NO_CACHE)
def train_extractor_task(
    catalog_root: str,
    corpus: str,
    face_crops_version: str,
    video_ids: list[str],
    preset: str,
    overrides: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Train (or reuse) the extractor for these crops and settings; register it.

    The run's folder lives in the catalog's work area keyed by the fingerprint, so an
    interrupted run resumes from its last epoch. Returns ``{"version", "val_auc", "reused"}``.
    """
    catalog = Catalog(catalog_root)
    config = get_preset(preset, **(overrides or {}))
    fp = fingerprint(STAGE_VERSION, face_crops_version, sorted(video_ids), config.to_dict())
    name = f"{corpus}.extractor"
    found = catalog.find(name, fp)
    if found is not None:
        return {"version": found.version, "val_auc": found.metadata.get("val_auc"), "reused": True}
    crops_name = f"{corpus}.face_crops"
    df = usable_crops(catalog, corpus, face_crops_version, video_ids)
    if df["video_id"].nunique() < 2:
        raise NotEnoughDataError(
            f"{crops_name}: need face crops of at least 2 real videos to train, "
            f"got {df['video_id'].nunique()}"
        )
    work = Path(catalog.work_area("train", fp[:16]).path)
    training_data = {crops_name: face_crops_version, "videos": len(set(df["video_id"]))}
    result = train_extractor(
        crop_records(df), config, work, progress=ConsoleProgress(), training_data=training_data
    )
    parameters = {"preset": preset, "config": config.to_dict(), "videos": sorted(video_ids)}
    metadata = {
        "val_auc": result.val_auc,
        "train_seconds": result.seconds,
        "history": result.history,
        "crops": len(df),
    }
    with catalog.writer(
        name,
        parents={crops_name: face_crops_version},
        parameters=parameters,
        fingerprint_=fp,
        metadata=metadata,
    ) as w:
        for f in (MODEL_FILE, CARD_FILE):
            w.add_file(os.path.join(result.best_dir, f), f)
    return {"version": w.manifest.version, "val_auc": result.val_auc, "reused": False}
