"""A real ingested catalog for the catalog reliability tests: the ingest tasks' own logic
(``task.fn``) on a talking head and bad files, so ``videos`` mixes NULL and text errors."""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow as pa

from difffake_core.ingest import IngestParams
from tasks.ingest import ingest_video, publish_ingest, work_key
from tasks.resources import close_all

PARAMS = IngestParams(n_frames=4)
BAD = ("empty_file", "corrupt_truncated", "not_a_video")


def corpus_folder(media: dict[str, Path], root: Path) -> Path:
    """``root/real/``: the talking head plus three bad files."""
    (root / "real").mkdir(parents=True)
    shutil.copy(media["talking_head"], root / "real" / "head.mp4")
    for key in BAD:
        shutil.copy(media[key], root / "real" / Path(media[key]).name)
    return root


def ingest(corpus: Path, catalog_root: str, face_model: str, name: str = "t") -> dict[str, str]:
    """Ingest ``corpus`` (folder adapter) into ``name.videos`` / ``name.face_crops``."""
    from data_catalog.adapters import get_adapter

    entries = get_adapter("folder", str(corpus)).to_frame().to_dict("records")
    key = work_key(PARAMS, face_model)
    try:
        summaries = [ingest_video.fn(e, PARAMS, catalog_root, key, face_model) for e in entries]
    finally:
        close_all()
    return publish_ingest.fn(
        name, entries, summaries, PARAMS, catalog_root, key, "folder", str(corpus)
    )


def pair_scores_table(n: int) -> pa.Table:
    """``n`` rows shaped like a ``pair_scores`` table (values are row numbers)."""
    return pa.table(
        {
            "video_id": [f"v{i}" for i in range(n)],
            "track_id": [0] * n,
            "frame_a": list(range(n)),
            "frame_b": list(range(1, n + 1)),
            "loglik": [float(i) for i in range(n)],
            "signal": ["pairs"] * n,
        }
    )
