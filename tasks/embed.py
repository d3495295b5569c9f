"""Tasks: face crops -> embeddings -> embedding pairs (catalog datasets)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
from prefect import task
from prefect.cache_policies import NO_CACHE

from data_catalog import Catalog, DatasetRef, dataset_name, run_stage
from data_catalog.schemas import EMBEDDING_PAIRS, EMBEDDINGS
from difffake_core.detector import PairSettings, video_pairs
from difffake_core.embedding import embed_crops
from difffake_core.errors import ModelAssetError
from difffake_core.faces.crop import decode_crop
from difffake_core.faces.texture import crop_textures
from difffake_core.signals import classifier_weights, head_logits
from tasks.data import usable_crops
from tasks.progress import report
from tasks.runtime import embedder, extractor_dir

STAGE_VERSION = "embed-5"  # 2: logit column; 3: videos parent, runtime fingerprinted;
# 4: neighbour rows (anchor_frame); 5: texture column (sampled rows)
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
    crops = DatasetRef.of(corpus, "face_crops", face_crops_version)
    extractor = DatasetRef.of(corpus, "extractor", extractor_version)
    videos_ref = DatasetRef.of(corpus, "videos", catalog.resolve(dataset_name(corpus, "videos")))

    def build(w) -> None:
        videos = catalog.read_pandas(videos_ref.name, videos_ref.version).set_index("video_id")
        df = usable_crops(catalog, corpus, face_crops_version, neighbours=True)
        ckpt = extractor_dir(catalog, extractor.name, extractor_version)
        model, size = embedder(ckpt, runtime)
        head = extractor_head(ckpt)
        ids = df["video_id"].unique()
        report(f"{dataset_name(corpus, 'embeddings')}: embedding {len(df)} crops of {len(ids)} "
               f"videos ({getattr(model, 'name', runtime)} runtime)")  # fmt: skip
        for start in range(0, len(ids), VIDEOS_PER_PART):
            part = df[df["video_id"].isin(set(ids[start : start + VIDEOS_PER_PART]))]
            vectors, texture = embed_and_measure(model, part, size, batch_size)
            logits = head_logits(vectors, *head) if head else None
            w.write(embeddings_table(part, videos.loc[part["video_id"]], vectors, logits,
                                     extractor_version, texture))  # fmt: skip

    out = run_stage(catalog, dataset_name(corpus, "embeddings"), STAGE_VERSION,
                    [crops, extractor, videos_ref], {"runtime": runtime}, build)  # fmt: skip
    return out.ref.version


def embed_and_measure(
    model, part: pd.DataFrame, size: int, batch_size: int
) -> tuple[np.ndarray, np.ndarray]:
    """Embeddings ``(N, D)`` of a non-empty face-crops slice and the texture features
    ``(N, F)`` of its sampled crops (NaN rows on neighbours), each crop's PNG decoded once
    for both, in batches of ``batch_size``."""
    crops = part["crop"].to_numpy()
    landmarks = np.stack(part["landmarks"].to_numpy())
    sampled = part["anchor_frame"].isna().to_numpy()
    vectors, texture = [], []
    for start in range(0, len(part), batch_size):
        stop = start + batch_size
        images = [decode_crop(c) for c in crops[start:stop]]
        vectors.append(embed_crops(model, images, size, batch_size))
        texture.append(crop_textures(images, landmarks[start:stop], measure=sampled[start:stop]))
    return np.concatenate(vectors), np.concatenate(texture)


def embeddings_table(
    part: pd.DataFrame,
    meta: pd.DataFrame,
    vectors: np.ndarray,
    logits: np.ndarray | None,
    extractor_version: str,
    texture: np.ndarray | None = None,
) -> pa.Table:
    """Rows of ``{corpus}.embeddings``: one per usable crop of ``part`` (``vectors``: (N, D));
    ``texture`` (N, F) with NaN rows where not measured (stored as null)."""
    return pa.table(
        {
            "video_id": part["video_id"].to_numpy(),
            "frame_index": part["frame_index"].to_numpy(),
            "track_id": part["track_id"].to_numpy(),
            "label": nullable(meta["label"]),
            "split": nullable(meta["split"]),
            "method": nullable(meta["method"]),
            "extractor_version": [extractor_version] * len(part),
            "vector": list(vectors),
            "logit": logits if logits is not None else [None] * len(part),
            "anchor_frame": nullable(part["anchor_frame"]),
            "texture": texture_column(texture, len(part)),
        },
        schema=EMBEDDINGS,
    )


def texture_column(texture: np.ndarray | None, n: int) -> list:
    """Per-row texture lists, None for rows not measured (all NaN) or without textures."""
    if texture is None:
        return [None] * n
    return [None if np.isnan(row).all() else row for row in np.asarray(texture, np.float32)]


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
    emb = DatasetRef.of(corpus, "embeddings", embeddings_version)

    def build(w) -> None:
        table = catalog.read_pandas(emb.name, emb.version)
        table = table[table["anchor_frame"].isna()]  # DiffFake pairs: sampled frames only
        for vid, g in table.groupby("video_id", sort=True):
            ps = video_pairs(vid, g["frame_index"].to_numpy(), g["track_id"].to_numpy(),
                             vectors_of(g), pairs)  # fmt: skip
            if len(ps):
                w.write(pairs_table(vid, g.iloc[0], ps, pairs.op))

    out = run_stage(catalog, dataset_name(corpus, "embedding_pairs"), STAGE_VERSION, [emb],
                    dict(pairs.__dict__), build)  # fmt: skip
    return out.ref.version


def pairs_table(video_id: str, first: pd.Series, ps, op: str) -> pa.Table:
    """Rows of ``{corpus}.embedding_pairs`` of one video (``ps``: its PairSet)."""
    n = len(ps)
    return pa.table(
        {
            "video_id": [video_id] * n,
            "track_id": ps.group_id.astype(np.int32),
            "frame_a": ps.frame_a,
            "frame_b": ps.frame_b,
            "op": [str(op)] * n,
            "label": nullable(pd.Series([first["label"]] * n)),
            "split": nullable(pd.Series([first["split"]] * n)),
            "method": nullable(pd.Series([first["method"]] * n)),
            "vector": list(ps.vectors),
        },
        schema=EMBEDDING_PAIRS,
    )
