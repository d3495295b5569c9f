"""Loading catalog tables into the plain records difffake_core works on."""

from __future__ import annotations

import numpy as np
import pandas as pd

from data_catalog import Catalog
from difffake_core.detector_fit import real_video_ids  # noqa: F401  (tasks' import path)
from difffake_core.status import Status
from difffake_core.training.data import CropRecord


def video_table(catalog: Catalog, corpus: str, version: str | None = "latest") -> pd.DataFrame:
    return catalog.read_pandas(f"{corpus}.videos", version)


def usable_crops(
    catalog: Catalog,
    corpus: str,
    version: str | None = "latest",
    video_ids: list[str] | None = None,
    with_crops: bool = True,
    neighbours: bool = False,
) -> pd.DataFrame:
    """Rows of ``{corpus}.face_crops`` with a usable face (status ok), optionally a subset.

    Neighbour rows (decoded next to a sampled frame, ``anchor_frame`` set) are left out
    unless ``neighbours`` is true (then ``anchor_frame`` is a column, null on sampled rows).
    """
    cols = ["video_id", "frame_index", "track_id", "status", "landmarks", "anchor_frame"]
    if with_crops:
        cols.append("crop")
    df = catalog.read_pandas(f"{corpus}.face_crops", version, columns=cols)
    df = df[df["status"] == Status.OK]
    if not neighbours:
        df = df[df["anchor_frame"].isna()].drop(columns="anchor_frame")
    if video_ids is not None:
        df = df[df["video_id"].isin(set(video_ids))]
    return df.sort_values(["video_id", "track_id", "frame_index"]).reset_index(drop=True)


def track_frames(catalog: Catalog, corpus: str, version: str | None = "latest") -> dict[str, int]:
    """``{video_id: usable sampled frames in its longest face track}`` of ``face_crops``."""
    df = usable_crops(catalog, corpus, version, with_crops=False)
    if df.empty:
        return {}
    sizes = df.groupby(["video_id", "track_id"]).size().groupby(level="video_id").max()
    return {str(k): int(v) for k, v in sizes.items()}


def crop_records(df: pd.DataFrame) -> list[CropRecord]:
    return [
        CropRecord(
            image_bytes=row.crop,
            landmarks=np.asarray(row.landmarks, np.float32).reshape(68, 2),
            video_id=row.video_id,
            track_id=None if pd.isna(row.track_id) else int(row.track_id),
            frame_index=int(row.frame_index),
        )
        for row in df.itertuples()
    ]
