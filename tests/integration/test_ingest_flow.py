"""The ingest-corpus flow end to end: statuses, incremental reruns, resume after a kill."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from data_catalog import Catalog
from difffake_core.ingest import IngestParams
from tests.support.media import astronaut, moving_frames, write_video


@pytest.fixture(scope="module")
def corpus(media, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("corpus")
    (root / "real").mkdir()
    (root / "fake").mkdir()
    shutil.copy(media["talking_head"], root / "real" / "head_a.mp4")
    write_video(root / "real" / "head_b.mp4", moving_frames(astronaut(), 30, seed=5))
    shutil.copy(media["mpegts"], root / "fake" / "head_c.ts")
    shutil.copy(media["faceless"], root / "real" / "faceless.mp4")
    for key in ("empty_file", "corrupt_truncated", "not_a_video", "audio_only", "too_few_frames"):
        shutil.copy(media[key], root / "real" / Path(media[key]).name)
    return root


EXPECTED = {
    "real/head_a": "ok",
    "real/head_b": "ok",
    "fake/head_c": "ok",
    "real/faceless": "no_face",
    "real/empty": "empty_file",
    "real/truncated": "corrupt",
    "real/notes": "not_a_video",
    "real/audio": "not_a_video",
    "real/one_frame": "too_few_frames",
}


def test_ingest_flow_records_statuses_and_reruns_incrementally(
    corpus, face_model, prefect_harness, tmp_path
):
    from flows.ingest_corpus import IngestConfig, ingest_corpus

    config = IngestConfig(
        root=str(corpus), catalog=str(tmp_path), params=IngestParams(n_frames=6), corpus="t"
    )
    first = ingest_corpus(config)
    cat = Catalog(tmp_path)
    videos = cat.read_pandas("t.videos").set_index("video_id")
    assert videos["status"].to_dict() == EXPECTED
    assert videos.loc["fake/head_c", "backend"] == "pyav"  # WebM/VP9 fallback
    assert videos.loc["real/head_a", "content_sha256"] and videos.loc["real/head_a", "fps"] == 25
    assert videos.loc["real/empty", "error"]
    crops = cat.read_pandas("t.face_crops")
    ok = crops[crops.status == "ok"]
    assert set(ok.video_id) == {"real/head_a", "real/head_b", "fake/head_c"}
    assert len(crops[crops.video_id == "real/faceless"]) == 6  # one row per sampled frame
    assert not crops.duplicated(["video_id", "frame_index", "face_index"]).any()
    assert cat.lineage("t.face_crops")["parents"][0]["name"] == "t.videos"

    second = ingest_corpus(config)
    assert all(v["skipped"] for v in second["videos"] if v["status"] != "unreadable")
    assert second["versions"] == first["versions"]  # same inputs: the datasets are reused
    assert len(cat.versions("t.face_crops")) == 1


def _work_items(catalog: Path) -> int:
    work = catalog / "_work" / "ingest"
    return sum(1 for p in work.rglob("*.videos.parquet")) if work.exists() else 0


@pytest.mark.slow
def test_killed_ingest_resumes_without_duplicates_or_losses(face_model, tmp_path, media):
    root = tmp_path / "corpus" / "real"
    root.mkdir(parents=True)
    for i in range(8):
        write_video(root / f"v{i}.mp4", moving_frames(astronaut(), 40, seed=i))
    catalog = tmp_path / "catalog"
    env = dict(os.environ, PREFECT_HOME=str(tmp_path / "prefect"), DIFFFAKE_CATALOG=str(catalog))
    cmd = [sys.executable, "-m", "flows.cli", "ingest", str(root.parent), "--frames", "32"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 240
    while _work_items(catalog) < 2 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done_before = _work_items(catalog)
    assert 2 <= done_before < 8, "the run must be killed midway"
    assert Catalog(catalog).names() == []  # nothing half-published

    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    assert f"│ videos skipped (already ingested) │ {done_before}" in out.stdout.replace("  ", " ")
    crops = Catalog(catalog).read_pandas("corpus.face_crops")
    assert len(crops) == 8 * 32
    assert not crops.duplicated(["video_id", "frame_index", "face_index"]).any()
    assert set(crops.video_id) == {f"real/v{i}" for i in range(8)}
