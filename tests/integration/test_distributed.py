"""Ingest and scoring on a real local Dask cluster (2 worker processes) give the thread
runner's rows; a worker killed midway still ends with one row per video; sharded scoring
resumes by shard.

The cluster is ``distributed.LocalCluster(processes=True, n_workers=2, threads_per_worker=1)``
started by the test; the flows join it through ``address`` as they would a remote scheduler.
"""

from __future__ import annotations

import os
import shutil
import signal
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from data_catalog import Catalog
from difffake_core.ingest import IngestParams

CLIPS = 3  # shared dev clips per test: a few real videos, decoded in every worker


@pytest.fixture(scope="module")
def cluster():
    distributed = pytest.importorskip("distributed")
    import dask

    # as `DASK_DISTRIBUTED__WORKER__DAEMON=False dask worker ...`: workers may have children
    with dask.config.set({"distributed.worker.daemon": False}), distributed.LocalCluster(
        n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None
    ) as cluster, distributed.Client(cluster) as client:  # fmt: skip
        yield cluster, client


@pytest.fixture(scope="module")
def dev_clips(shared_dev, tmp_path_factory) -> Path:
    """A few real clips (real and face-swapped) of ../shared, copied to a folder corpus."""
    root = tmp_path_factory.mktemp("dev_clips")
    for label in ("real", "fake"):
        (root / label).mkdir()
    clips = sorted((shared_dev / "real").glob("*.mp4"))[:2]
    clips += sorted((shared_dev / "fake").glob("*.mp4"))[: CLIPS - 2]
    for clip in clips:
        shutil.copy(clip, root / clip.parent.name / clip.name)
    return root


def _crops(catalog: str, version: str) -> pd.DataFrame:
    df = Catalog(catalog).read_pandas("dev.face_crops", version)
    return df.sort_values(["video_id", "frame_index", "face_index"]).reset_index(drop=True)


def test_ingest_on_a_dask_cluster_gives_the_thread_runners_rows(
    cluster, dev_clips, face_model, prefect_harness, tmp_path
):
    from flows.ingest_corpus import IngestConfig, ingest_corpus

    local_cluster, client = cluster
    params = IngestParams(n_frames=4)
    runs = {}
    for runner, extra in (("threads", {}), ("dask", {"address": local_cluster.scheduler_address})):
        catalog = str(tmp_path / runner)
        out = ingest_corpus(IngestConfig(root=str(dev_clips), corpus="dev", catalog=catalog,
                                         params=params, runner=runner, **extra))  # fmt: skip
        runs[runner] = (catalog, out)
    (tc, thread_out), (dc, dask_out) = runs["threads"], runs["dask"]
    assert [v["status"] for v in dask_out["videos"]] == ["ok"] * CLIPS
    threads, dask = _crops(tc, thread_out["versions"]["face_crops"]), _crops(dc, dask_out["versions"]["face_crops"])  # fmt: skip
    assert len(dask) == len(threads) > 0
    key = ["video_id", "frame_index", "face_index", "track_id", "status", "content_sha256"]
    pd.testing.assert_frame_equal(dask[key], threads[key])
    np.testing.assert_allclose(
        np.stack(dask["landmarks"]), np.stack(threads["landmarks"]), atol=1e-3
    )
    # the work ran in the worker processes, each building its face analyzer at most once
    # (per worker process, not per task); which worker gets which video is Dask's choice
    analyzers = client.run(lambda: len(__import__("tasks.resources").resources._all))
    assert sum(analyzers.values()) >= 1 and max(analyzers.values()) == 1, analyzers


def _score_rows(out: dict) -> pd.DataFrame:
    cols = ["video_id", "status", "fake_score", "verdict", "frames_used", "pairs_used"]
    return pd.DataFrame(out["results"])[cols].sort_values("video_id").reset_index(drop=True)


def test_scoring_on_a_dask_cluster_gives_the_thread_runners_rows(
    cluster, dev_clips, trained, tmp_path
):
    from flows.score_media_archive import ScoreConfig, score_media_archive
    from tasks.score import resolve_detector

    local_cluster, _ = cluster
    _, out, catalog_root = trained
    folder = resolve_detector(Catalog(catalog_root), out["detector"]).folder
    results = {}
    for runner, extra in (("threads", {}), ("dask", {"address": local_cluster.scheduler_address})):
        config = ScoreConfig(source=str(dev_clips), detector=folder, archive="dev",
                             catalog=str(tmp_path / runner), runner=runner, shard_size=2, **extra)  # fmt: skip
        results[runner] = score_media_archive(config)
    threads, dask = _score_rows(results["threads"]), _score_rows(results["dask"])
    assert len(dask) == CLIPS and (dask["status"] == "ok").all()
    pd.testing.assert_frame_equal(dask, threads, check_exact=False, rtol=1e-5)
    published = Catalog(str(tmp_path / "dask")).read_pandas("dev.scores")
    assert sorted(published["video_id"]) == sorted(dask["video_id"])


def test_a_worker_killed_midway_still_ends_with_one_row_per_video(
    cluster, demo_corpus, trained, tmp_path
):
    from flows.score_media_archive import ScoreConfig, score_media_archive
    from tasks.score import resolve_detector

    local_cluster, client = cluster
    _, out, catalog_root = trained
    folder = resolve_detector(Catalog(catalog_root), out["detector"]).folder
    archive = tmp_path / "archive"
    shutil.copytree(demo_corpus["test"], archive)
    catalog = tmp_path / "catalog"
    config = ScoreConfig(source=str(archive), detector=folder, archive="killed",
                         catalog=str(catalog), runner="dask", shard_size=4,
                         address=local_cluster.scheduler_address)  # fmt: skip
    work = catalog / "_work" / "score"
    killed: list[int] = []

    def kill_one_worker_after_the_first_video() -> None:
        deadline = time.time() + 600
        while time.time() < deadline and not any(work.rglob("*.scores.parquet")):
            time.sleep(0.05)
        busy = [w for w, tasks in client.processing().items() if tasks]
        pids = client.run(os.getpid, workers=busy[:1] or None)
        pid = next(iter(pids.values()))
        os.kill(pid, signal.SIGKILL)
        killed.append(pid)

    killer = threading.Thread(target=kill_one_worker_after_the_first_video, daemon=True)
    killer.start()
    try:
        first = score_media_archive(config)
    except Exception:  # the run may fail with the killed task: a rerun resumes
        first = None
    killer.join(timeout=600)
    assert killed, "no worker was killed"
    result = first or score_media_archive(config)
    scores = Catalog(str(catalog)).read_pandas("killed.scores", result["versions"]["scores"])
    n_videos = len(list(archive.rglob("*.mp4")))
    assert len(scores) == n_videos and scores["video_id"].is_unique
    assert (scores["status"] == "ok").all()


def test_sharded_scoring_reruns_only_unfinished_shards(trained, demo_corpus, tmp_path):
    from flows.score_media_archive import ScoreConfig, score_media_archive
    from tasks.score import resolve_detector

    _, out, catalog_root = trained
    folder = resolve_detector(Catalog(catalog_root), out["detector"]).folder
    archive = tmp_path / "archive"
    shutil.copytree(demo_corpus["test"], archive)
    catalog = str(tmp_path / "catalog")
    config = ScoreConfig(source=str(archive), detector=folder, archive="arch", catalog=catalog,
                         shard_size=3, shards_in_flight=1)  # fmt: skip
    first = score_media_archive(config)
    n = len(first["results"])
    assert first["shards"] == -(-n // 3) and first["summary"]["videos"] == n
    m = Catalog(catalog).manifest("arch.scores", first["versions"]["scores"])
    assert len(m.files) == first["shards"] and m.row_count == n  # one part per shard
    second = score_media_archive(config)
    assert all(r["skipped"] for r in second["results"])
    assert second["versions"]["scores"] == first["versions"]["scores"]
    # touch one video of the last shard: that shard reruns, the others are read back
    last = Path(first["results"][-1]["path"])
    with open(last, "ab") as f:
        f.write(b"\0\0\0\x08free")
    third = score_media_archive(config)
    rescored = [r["video_id"] for r in third["results"] if not r["skipped"]]
    assert rescored == [first["results"][-1]["video_id"]]
    assert len(Catalog(catalog).read_pandas("arch.scores")) == n
