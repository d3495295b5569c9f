"""Tasks: face crops -> embeddings -> embedding pairs (catalog datasets)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
from prefect import task
from prefect.cache_policies import NO_CACHE

from data_catalog import Catalog, fingerprint
from data_catalog.schemas import EMBEDDING_PAIRS, EMBEDDINGS
from difffake_core.detector import PairSettings, video_pairs
from difffake_core.embedding import embed_crops
from difffake_core.errors import ModelAssetError
from difffake_core.signals import classifier_weights, head_logits
from tasks.data import usable_crops, video_table
from tasks.runtime import embedder, extractor_dir

STAGE_VERSION = "embed-2"  # 2: logit column
VIDEOS_PER_PART = 256


@task(name="embed_faces", cache_policy=NO_CACHE)
def embed_faces(
    catalog_root: str,
    corpus: str,
    face_crops_version: str,
    extractor_version: str,
    runtime: str = "auto",
    batch_size: int = 32,
) -> str:
    """``{corpus}.face_crops`` + ``{corpus}.extractor`` -> ``{corpus}.embeddings`` (version)."""
    catalog = Catalog(catalog_root)
    name = f"{corpus}.embeddings"
    crops_name, ext_name = f"{corpus}.face_crops", f"{corpus}.extractor"
    fp = fingerprint(STAGE_VERSION, face_crops_version, extractor_version)
    found = catalog.find(name, fp)
    if found is not None:
        return found.version
    videos = video_table(catalog, corpus).set_index("video_id")
    df = usable_crops(catalog, corpus, face_crops_version)
    ckpt = extractor_dir(catalog, ext_name, extractor_version)
    model, size = embedder(ckpt, runtime)
    head = extractor_head(ckpt)
    parents = {crops_name: face_crops_version, ext_name: extractor_version}
    with catalog.writer(
        name, parents=parents, parameters={"runtime": runtime}, fingerprint_=fp
    ) as w:
        ids = df["video_id"].unique()
        for start in range(0, len(ids), VIDEOS_PER_PART):
            part = df[df["video_id"].isin(set(ids[start : start + VIDEOS_PER_PART]))]
            vectors = embed_crops(model, list(part["crop"]), size, batch_size)
            meta = videos.loc[part["video_id"]]
            w.write(
                pa.table(
                    {
                        "video_id": part["video_id"].to_numpy(),
                        "frame_index": part["frame_index"].to_numpy(),
                        "track_id": part["track_id"].to_numpy(),
                        "label": nullable(meta["label"]),
                        "split": nullable(meta["split"]),
                        "method": nullable(meta["method"]),
                        "extractor_version": [extractor_version] * len(part),
                        "vector": list(vectors),
                        "logit": head_logits(vectors, *head) if head else [None] * len(part),
                    },
                    schema=EMBEDDINGS,
                )
            )
    return w.manifest.version


def extractor_head(checkpoint: str) -> tuple[np.ndarray, np.ndarray] | None:
    """The classifier weights of an extractor, or None when it has no classifier head."""
    try:
        return classifier_weights(checkpoint)
    except ModelAssetError:
        return None


def nullable(series: pd.Series) -> list:
    """Values with pandas' missing markers (NaN/NA) as None, for Arrow string columns."""
    return [None if pd.isna(v) else v for v in series.to_numpy(object)]


def vectors_of(table: pd.DataFrame) -> np.ndarray:
    if table.empty:
        return np.zeros((0, 0), np.float32)
    return np.stack(table["vector"].to_numpy()).astype(np.float32)


@task(name="make_embedding_pairs", cache_policy=NO_CACHE)
def make_embedding_pairs(
    catalog_root: str, corpus: str, embeddings_version: str, pairs: PairSettings
) -> str:
    """``{corpus}.embeddings`` -> ``{corpus}.embedding_pairs`` (pairs only inside a track)."""
    catalog = Catalog(catalog_root)
    name, emb_name = f"{corpus}.embedding_pairs", f"{corpus}.embeddings"
    fp = fingerprint(STAGE_VERSION, embeddings_version, pairs.__dict__)
    found = catalog.find(name, fp)
    if found is not None:
        return found.version
    emb = catalog.read_pandas(emb_name, embeddings_version)
    with catalog.writer(
        name, parents={emb_name: embeddings_version}, parameters=pairs.__dict__, fingerprint_=fp
    ) as w:
        for vid, g in emb.groupby("video_id", sort=True):
            ps = video_pairs(vid, g["frame_index"].to_numpy(), g["track_id"].to_numpy(),
                             vectors_of(g), pairs)  # fmt: skip
            if len(ps) == 0:
                continue
            first = g.iloc[0]
            n = len(ps)
            w.write(
                pa.table(
                    {
                        "video_id": [vid] * n,
                        "track_id": ps.group_id.astype(np.int32),
                        "frame_a": ps.frame_a,
                        "frame_b": ps.frame_b,
                        "op": [pairs.op] * n,
                        "label": nullable(pd.Series([first["label"]] * n)),
                        "split": nullable(pd.Series([first["split"]] * n)),
                        "method": nullable(pd.Series([first["method"]] * n)),
                        "vector": list(ps.vectors),
                    },
                    schema=EMBEDDING_PAIRS,
                )
            )
    return w.manifest.version
