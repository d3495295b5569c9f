"""Tasks of the extractor stage: train on real crops vs pseudo-fakes, register the result."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from data_catalog import Catalog, DatasetRef, dataset_name, run_stage
from data_catalog.stage import stage_fingerprint
from difffake_core.errors import NotEnoughDataError
from difffake_core.training import TrainEvent, get_preset, train_extractor
from difffake_core.training.checkpoint import CARD_FILE, MODEL_FILE
from tasks.data import crop_records, usable_crops
from tasks.progress import report

STAGE_VERSION = "extractor-2"  # 2: fingerprint of the stage helper


class EpochReport:
    """Training progress for whoever runs the job: one :func:`tasks.progress.report` line per
    epoch (loss, validation AUC, seconds), none per batch."""

    def __init__(self, label: str) -> None:
        self.label = label
        self._start = time.monotonic()

    def __call__(self, event: TrainEvent) -> None:
        if event.kind != "epoch":
            return
        now = time.monotonic()
        report(f"{self.label}: epoch {event.epoch + 1}/{event.epochs}  loss {event.loss:.4f}  "
               f"val AUC {event.val_auc:.4f}  ({now - self._start:.0f} s)")  # fmt: skip
        self._start = now


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
    crops = DatasetRef.of(corpus, "face_crops", face_crops_version)
    params = {"preset": preset, "config": config.to_dict(), "videos": sorted(video_ids)}
    # the run folder is keyed by the stage fingerprint, so an interrupted run resumes
    work = catalog.work_area("train", stage_fingerprint(STAGE_VERSION, [crops], params)[:16])

    def build(w) -> None:
        df = usable_crops(catalog, corpus, face_crops_version, video_ids)
        if df["video_id"].nunique() < 2:
            raise NotEnoughDataError(
                f"{crops.name}: need face crops of at least 2 real videos to train, "
                f"got {df['video_id'].nunique()}"
            )
        training_data = {crops.name: face_crops_version, "videos": len(set(df["video_id"]))}
        report(f"{dataset_name(corpus, 'extractor')}: training {config.backbone} "
               f"({preset}) on {len(df)} crops of {training_data['videos']} real videos")  # fmt: skip
        result = train_extractor(crop_records(df), config, Path(work.path),
                                 progress=EpochReport(dataset_name(corpus, "extractor")),
                                 training_data=training_data)  # fmt: skip
        w.metadata.update(val_auc=result.val_auc, train_seconds=result.seconds,
                          history=result.history, crops=len(df))  # fmt: skip
        for f in (MODEL_FILE, CARD_FILE):
            w.add_file(os.path.join(result.best_dir, f), f)

    out = run_stage(catalog, dataset_name(corpus, "extractor"), STAGE_VERSION, [crops], params,
                    build)  # fmt: skip
    return {"version": out.ref.version, "val_auc": out.metadata.get("val_auc"),
            "reused": out.reused}  # fmt: skip
