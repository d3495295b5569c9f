"""Ingest and scoring on a real local Dask cluster (2 worker processes) and on a real local
Ray instance give the thread runner's rows; a worker killed midway still ends with one row per
video; sharded scoring resumes by shard.

The Dask cluster is ``distributed.LocalCluster(processes=True, n_workers=2,
threads_per_worker=1)`` started by the test; the flows join it through ``address`` as they
would a remote scheduler. The Ray runs start their own local Ray instance as
``--runner ray --workers 2`` does (``RayTaskRunner`` without an address: ``ray.init(num_cpus=2)``)
and stop it when the job ends.
"""

from __future__ import annotations

import os
import shutil
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
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
        client.close()
        # a worker that loaded torch + onnxruntime may need more than the 4 s Nanny.close
        # waits by default to exit on 2 busy cores; let it exit instead of being killed
        for nanny in list(cluster.workers.values()):
            cluster.sync(nanny.close, timeout=60)


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


@contextmanager
def video_events() -> Iterator[list[str]]:
    """The ids of the ``video_done`` progress events this process receives (the CLI's bar)."""
    from tasks.progress import subscribe

    seen: list[str] = []
    unsubscribe = subscribe(
        lambda kind, p: seen.append(p["video_id"]) if kind == "video_done" else None
    )
    try:
        yield seen
    finally:
        unsubscribe()


def _crops(catalog: str, version: str) -> pd.DataFrame:
    df = Catalog(catalog).read_pandas("dev.face_crops", version)
    return df.sort_values(["video_id", "frame_index", "face_index"]).reset_index(drop=True)


def _ingest(clips: Path, catalog: Path, runner: str, **extra) -> tuple[dict, pd.DataFrame]:
    from flows.ingest_corpus import IngestConfig, ingest_corpus

    config = IngestConfig(root=str(clips), corpus="dev", catalog=str(catalog),
                          params=IngestParams(n_frames=4), runner=runner, **extra)  # fmt: skip
    out = ingest_corpus(config)
    return out, _crops(str(catalog), out["versions"]["face_crops"])


@pytest.fixture(scope="module")
def thread_ingest(dev_clips, face_model, prefect_harness, tmp_path_factory):
    """The baseline: the same clips ingested by the default thread runner."""
    return _ingest(dev_clips, tmp_path_factory.mktemp("threads-ingest"), "threads")


def _assert_same_crops(other: pd.DataFrame, threads: pd.DataFrame) -> None:
    assert len(other) == len(threads) > 0
    key = ["video_id", "frame_index", "face_index", "track_id", "status", "content_sha256"]
    pd.testing.assert_frame_equal(other[key], threads[key])
    np.testing.assert_allclose(
        np.stack(other["landmarks"]), np.stack(threads["landmarks"]), atol=1e-3
    )


def test_ingest_on_a_dask_cluster_gives_the_thread_runners_rows(
    cluster, dev_clips, thread_ingest, tmp_path
):
    local_cluster, client = cluster
    with video_events() as events:
        out, crops = _ingest(dev_clips, tmp_path, "dask", address=local_cluster.scheduler_address)
    assert [v["status"] for v in out["videos"]] == ["ok"] * CLIPS
    # the progress bar hears of every video once, although the tasks ran in other processes
    assert sorted(events) == sorted(v["video_id"] for v in out["videos"])
    _assert_same_crops(crops, thread_ingest[1])
    # the work ran in the worker processes, each building its face analyzer at most once
    # (per worker process, not per task); which worker gets which video is Dask's choice
    analyzers = client.run(lambda: len(__import__("tasks.resources").resources._all))
    assert sum(analyzers.values()) >= 1 and max(analyzers.values()) == 1, analyzers


def _score_rows(out: dict) -> pd.DataFrame:
    cols = ["video_id", "status", "fake_score", "verdict", "frames_used", "pairs_used"]
    return pd.DataFrame(out["results"])[cols].sort_values("video_id").reset_index(drop=True)


def _score(clips: Path, trained, catalog: Path, runner: str, **extra) -> dict:
    from flows.score_media_archive import ScoreConfig, score_media_archive
    from tasks.score import resolve_detector

    _, out, catalog_root = trained
    folder = resolve_detector(Catalog(catalog_root), out["detector"]).folder
    config = ScoreConfig(source=str(clips), detector=folder, archive="dev", catalog=str(catalog),
                         runner=runner, shard_size=2, **extra)  # fmt: skip
    return score_media_archive(config)


@pytest.fixture(scope="module")
def thread_scores(dev_clips, trained, tmp_path_factory) -> pd.DataFrame:
    """The baseline: the same clips scored by the default thread runner."""
    return _score_rows(_score(dev_clips, trained, tmp_path_factory.mktemp("threads"), "threads"))


def test_scoring_on_a_dask_cluster_gives_the_thread_runners_rows(
    cluster, dev_clips, trained, thread_scores, tmp_path
):
    local_cluster, _ = cluster
    with video_events() as events:
        out = _score(dev_clips, trained, tmp_path, "dask", address=local_cluster.scheduler_address)
    dask = _score_rows(out)
    assert len(dask) == CLIPS and (dask["status"] == "ok").all()
    assert sorted(events) == sorted(dask["video_id"])  # one progress event per video
    pd.testing.assert_frame_equal(dask, thread_scores, check_exact=False, rtol=1e-5)
    published = Catalog(str(tmp_path)).read_pandas("dev.scores")
    assert sorted(published["video_id"]) == sorted(dask["video_id"])


@pytest.mark.slow  # two jobs, each starting and stopping a local Ray (~90 s on 2 loaded cores)
def test_ingest_and_scoring_on_a_local_ray_instance_give_the_thread_runners_rows(
    dev_clips, thread_ingest, trained, thread_scores, tmp_path
):
    ray = pytest.importorskip("ray")
    pytest.importorskip("prefect_ray")
    assert not ray.is_initialized()
    out, crops = _ingest(dev_clips, tmp_path / "ingest", "ray", workers=2)
    assert [v["status"] for v in out["videos"]] == ["ok"] * CLIPS
    _assert_same_crops(crops, thread_ingest[1])
    assert not ray.is_initialized()  # the job stopped the Ray instance it started
    ray_rows = _score_rows(_score(dev_clips, trained, tmp_path / "score", "ray", workers=2))
    assert len(ray_rows) == CLIPS and (ray_rows["status"] == "ok").all()
    pd.testing.assert_frame_equal(ray_rows, thread_scores, check_exact=False, rtol=1e-5)
    published = Catalog(str(tmp_path / "score")).read_pandas("dev.scores")
    assert sorted(published["video_id"]) == sorted(ray_rows["video_id"])
    assert not ray.is_initialized()


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
