"""Tasks' own logic through ``task.fn`` (no flow run): refs in, catalog datasets out."""

import numpy as np
import pyarrow as pa
import pytest

from data_catalog import Catalog
from data_catalog.schemas import EMBEDDINGS
from difffake_core.detector import PairSettings
from difffake_core.errors import UsageError
from tasks.embed import make_embedding_pairs
from tasks.score import resolve_detector


def _embeddings(cat: Catalog, n_videos=3, n_frames=6, dim=5) -> str:
    rng = np.random.default_rng(0)
    rows = [(f"v{v}", f * 10, 0) for v in range(n_videos) for f in range(n_frames)]
    n = len(rows)
    table = pa.table(
        {
            "video_id": [r[0] for r in rows],
            "frame_index": [r[1] for r in rows],
            "track_id": pa.array([r[2] for r in rows], pa.int32()),
            "label": ["real"] * n,
            "split": [None] * n,
            "method": [None] * n,
            "extractor_version": ["e1"] * n,
            "vector": list(rng.normal(size=(n, dim)).astype(np.float32)),
            "logit": pa.array([None] * n, pa.float32()),
            "anchor_frame": pa.array([None] * n, pa.int64()),
            "texture": pa.array([None] * n, pa.list_(pa.float32())),
        },
        schema=EMBEDDINGS,
    )
    return cat.write_table("dev.embeddings", table).version


def test_make_embedding_pairs_pairs_inside_videos_records_its_parent_and_reuses(tmp_path):
    cat = Catalog(tmp_path)
    emb = _embeddings(cat)
    settings = PairSettings(strategy="all", op="abs_diff")
    version = make_embedding_pairs.fn(str(tmp_path), "dev", emb, settings)
    m = cat.manifest("dev.embedding_pairs", version)
    assert m.parents == {"dev.embeddings": emb} and m.parameters["op"] == "abs_diff"
    pairs = cat.read_pandas("dev.embedding_pairs", version)
    assert set(pairs["video_id"]) == {"v0", "v1", "v2"}
    assert (pairs["frame_a"] != pairs["frame_b"]).all() and set(pairs["op"]) == {"abs_diff"}
    assert make_embedding_pairs.fn(str(tmp_path), "dev", emb, settings) == version
    other = make_embedding_pairs.fn(str(tmp_path), "dev", emb, PairSettings(op="diff"))
    assert other != version


def test_resolve_detector_in_an_empty_catalog_is_a_user_error(tmp_path):
    with pytest.raises(UsageError, match="difffake retrain"):
        resolve_detector(Catalog(tmp_path), None)
