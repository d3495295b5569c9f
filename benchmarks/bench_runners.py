"""Ingest and scoring throughput per task runner, 1 and 2 workers, all measured in one run.

What every runner executes per video is the product's task function: ``ingest_video``
(decode, faces, crops into the work area) and ``score_video`` (decode, faces, embedding on
the ONNX runtime, pairs, score row into the work area), each with its per-worker caches and
its crash-isolation child process, exactly as a flow runs them. Modes, each with 1 and 2
workers:

* ``threads``: a thread pool in this process (what ``ThreadPoolTaskRunner`` runs tasks on).
* ``processes``: a ``ProcessPoolExecutor`` of spawned processes (``ProcessPoolTaskRunner``).
* ``dask``: a ``distributed.LocalCluster(processes=True, threads_per_worker=1)`` with
  non-daemonic workers, the cluster ``--runner dask --workers 2`` starts.

Each mode starts one pool of 2 workers; every worker is warmed up (face graphs, detector,
ONNX session, first inference) on a clip outside the timed set before the clock starts. Each
stage is then timed with one video in flight (``x1``: one busy worker, the other idle) and with
two (``x2``), so the 1 -> 2 ratio compares the same warm workers. Start-up and close are
reported apart. Prefect's own per-task bookkeeping is not in these numbers (it is the same
for every runner); ``benchmarks.bench_processes`` measures the bare pipeline (no work area,
no isolation child, one onnxruntime thread) the same way.

On a shared machine the wall time depends on the CPU the run gets, so each row prints the
CPU-seconds this run's processes got per wall-second (``cpu/wall``: this process and every
descendant: pool workers, Dask nannies and workers, isolation children) and how busy the
whole machine was (``machine``: busy cores from ``/proc/stat``, ours included); the header
prints the CPUs this process may use (``os.sched_getaffinity``) and the load average. A
ratio of 1 -> 2 workers can only approach 2 when ``cpu/wall`` of the two-worker row does.

Quality check: the fake scores of every mode are compared with the one-thread row's
(``max |d fake_score|``); runners must not change results.

Run: ``python -m benchmarks.bench_runners [--limit 6] [--frames 16] [--modes threads,dask]``.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import logging
import multiprocessing as mp
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.bench_ingest import default_videos

MODES = ("threads", "processes", "dask")
STAGES = ("ingest", "scoring")


# -- work of one video (runs in the worker: thread, process or Dask worker) -------------------
def _entry(path: str) -> dict[str, Any]:
    return {"video_id": Path(path).stem, "path": path, "label": None, "method": None}


def _worker_id() -> str:
    return f"{os.getpid()}-{threading.get_ident()}"


def run_video(path: str, stage: str, job: dict[str, Any], catalog_root: str) -> dict[str, Any]:
    """One video through the stage's task function; returns its status (and score)."""
    if stage == "ingest":
        from tasks.ingest import ingest_video

        out = ingest_video.fn(_entry(path), job["params"], catalog_root, job["ingest_key"],
                              job["face_model"])  # fmt: skip
        return {"status": str(out["status"]), "frames": out["frames"], "worker": _worker_id()}
    from tasks.score import score_video

    row = score_video.fn(_entry(path), job["detector"], job["version"], catalog_root, "onnx",
                         job["face_model"], "none")  # fmt: skip
    return {"status": str(row["status"]), "frames": row["frames_used"],
            "fake_score": row["fake_score"], "worker": _worker_id()}  # fmt: skip


def _warm(path: str, job: dict[str, Any], catalog_root: str) -> int:
    for stage in STAGES:
        run_video(path, stage, job, os.path.join(catalog_root, _worker_id(), stage))
    return os.getpid()


# -- CPU accounting --------------------------------------------------------------------------
def _tree_cpu() -> float:
    """CPU-seconds (user + system) of this process and every live descendant."""
    import psutil

    me = psutil.Process()
    total = 0.0
    for p in [me, *me.children(recursive=True)]:
        try:
            t = p.cpu_times()
            total += t.user + t.system
        except psutil.Error:
            pass
    return total


def _machine_busy() -> tuple[float, float]:
    """``(busy, total)`` CPU-seconds of the whole machine since boot (``/proc/stat``)."""
    with open("/proc/stat") as f:
        fields = [float(v) for v in f.readline().split()[1:]]
    hz = os.sysconf("SC_CLK_TCK")
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0.0)  # idle + iowait
    return (sum(fields) - idle) / hz, sum(fields) / hz


@contextmanager
def cpu_window() -> Iterator[dict[str, float]]:
    """Wall seconds, this run's CPU-seconds and the machine's busy CPU-seconds of a block."""
    out: dict[str, float] = {}
    cpu0, (busy0, _), t0 = _tree_cpu(), _machine_busy(), time.perf_counter()
    yield out
    out["wall"] = time.perf_counter() - t0
    out["cpu"] = _tree_cpu() - cpu0
    out["machine"] = _machine_busy()[0] - busy0


# -- executors ------------------------------------------------------------------------------
class Pool:
    """``submit(fn, *args)`` on one mode's workers; ``warm(fn, *args)`` once per worker."""

    def __init__(self, mode: str, workers: int) -> None:
        self.mode, self.workers = mode, workers
        self._client = self._cluster = None
        if mode == "threads":
            self._ex = cf.ThreadPoolExecutor(workers)
        elif mode == "processes":
            self._ex = cf.ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn"))
        elif mode == "dask":
            import dask
            import distributed

            # as flows.runners does: workers may start the per-video isolation process
            with dask.config.set({"distributed.worker.daemon": False}):
                self._cluster = distributed.LocalCluster(
                    n_workers=workers, processes=True, threads_per_worker=1,
                    dashboard_address=None,
                )  # fmt: skip
            self._client = distributed.Client(self._cluster)
            logging.getLogger("distributed").setLevel(logging.WARNING)  # start/stop chatter
        else:
            raise ValueError(f"unknown mode {mode!r}; valid: {', '.join(MODES)}")

    def map(self, fn: Callable, items: list, *args: Any, in_flight: int = 1) -> list:
        """``[fn(x, *args) for x in items]`` with at most ``in_flight`` calls running."""
        submit = self._ex.submit if self._client is None else self._dask_submit
        results: list = [None] * len(items)
        pending: dict = {}
        for i, item in enumerate(items):
            pending[submit(fn, item, *args)] = i
            while len(pending) >= in_flight or (i == len(items) - 1 and pending):
                for f in self._wait_first(list(pending)):
                    results[pending.pop(f)] = f.result()
        return results

    def _dask_submit(self, fn: Callable, *args: Any) -> Any:
        return self._client.submit(fn, *args, pure=False)

    def _wait_first(self, futures: list) -> set:
        if self._client is None:
            return cf.wait(futures, return_when=cf.FIRST_COMPLETED).done
        import distributed

        return distributed.wait(futures, return_when="FIRST_COMPLETED").done

    def warm(self, fn: Callable, *args: Any) -> None:
        """Run ``fn(*args)`` on every worker (it returns the worker's id)."""
        if self._client is not None:
            for addr in self._client.scheduler_info()["workers"]:
                self._client.submit(fn, *args, workers=[addr], pure=False).result()
            return
        if self.mode == "threads":  # one call per thread: all of them wait at the barrier
            barrier = threading.Barrier(self.workers)

            def each(_: int) -> Any:
                out = fn(*args)
                barrier.wait()
                return out

            list(self._ex.map(each, range(self.workers)))
            return
        seen: set[int] = set()
        for _ in range(10):  # until every worker process has warmed up once
            seen.update(f.result() for f in [self._ex.submit(fn, *args)
                                             for _ in range(self.workers)])  # fmt: skip
            if len(seen) >= self.workers:
                return

    def close(self) -> None:
        if self._client is None:
            self._ex.shutdown(wait=True)
            return
        self._client.close()
        # Nanny.close's default (5 s, of which 4 s for the worker to exit) is shorter than a
        # worker process that loaded torch and onnxruntime takes to exit on 2 busy cores; the
        # nanny then kills it ("still alive after 4.0 seconds, killing"). Give it the time.
        for nanny in list(self._cluster.workers.values()):
            self._cluster.sync(nanny.close, timeout=60)
        self._cluster.close()


# -- the benchmark ---------------------------------------------------------------------------
def make_job(folder: Path, frames: int) -> dict[str, Any]:
    """Ingest settings and a detector folder (the pretrained Lite0 extractor; a ``pca_gmm``
    anomaly model fit on structured random vectors: timing only, scores are not meaningful)."""
    from benchmarks.bench_scoring import make_detector
    from difffake_core.faces.assets import resolve_face_model
    from difffake_core.ingest import IngestParams
    from difffake_core.models.backbones import create_extractor
    from difffake_core.training.checkpoint import save_extractor
    from tasks.ingest import work_key
    from tasks.runtime import embedder

    params = IngestParams(n_frames=frames)
    model = create_extractor("efficientnet_lite0", weights="default").eval()
    extractor = save_extractor(model, {}, folder / "extractor")
    detector = make_detector(model.embed_dim, np.random.default_rng(0))
    detector.card = {"ingest": params.as_dict()}
    detector.save(folder / "detector", extractor_dir=extractor)
    embedder(str(folder / "detector" / "extractor"), "onnx")  # exports the ONNX file once
    face_model = str(resolve_face_model(download=False))
    return {"params": params, "ingest_key": work_key(params, face_model), "face_model": face_model,
            "detector": str(folder / "detector"), "version": detector.version}  # fmt: skip


def run_mode(mode: str, videos: list[str], warm_clip: str, job: dict, root: Path) -> dict:
    """One pool of 2 workers of ``mode``, warmed up; each stage timed with 1 video in flight
    (one busy worker) and with 2 (both busy). Returns ``{"x1": {stage: ...}, "x2": ...}``."""
    with cpu_window() as start:
        pool = Pool(mode, 2)
        pool.warm(_warm, warm_clip, job, str(root / "warm"))
    out: dict[str, Any] = {"startup_s": start["wall"], "x1": {}, "x2": {}}
    try:
        for stage in STAGES:
            for n in (1, 2):
                with cpu_window() as w:
                    rows = pool.map(run_video, videos, stage, job, str(root / f"{stage}{n}"),
                                    in_flight=n)  # fmt: skip
                frames = sum(r["frames"] for r in rows)
                used = len({r["worker"] for r in rows})
                out[f"x{n}"][stage] = {**w, "rows": rows, "videos": len(videos),
                                       "frames": frames, "workers_used": used}  # fmt: skip
    finally:
        with cpu_window() as stop:
            pool.close()
        out["close_s"] = stop["wall"]
    return out


def _fmt_row(name: str, r: dict, base_wall: float) -> str:
    wall, cpu = r["wall"], r["cpu"]
    return (
        f"    {name:<13} {wall:6.1f} s  {60 * r['videos'] / wall:5.1f} videos/min"
        f"  {r['frames'] / wall:5.1f} frames/s  x{base_wall / wall:4.2f}"
        f"  CPU {cpu / r['videos']:4.2f} s/video  cpu/wall {cpu / wall:4.2f}"
        f"  machine {r['machine'] / wall:4.2f}"
    )


def run(videos: list[str] | None = None, frames: int = 16, modes=MODES, print_fn=print) -> dict:
    videos = videos or default_videos(6)
    warm_clip, timed = videos[0], videos[1:]  # the warm-up clip is not in the timed set
    cpus = len(os.sched_getaffinity(0))
    results: dict[str, Any] = {}
    pools: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-runners-") as tmp:
        tmp = Path(tmp)
        job = make_job(tmp, frames)
        load0 = os.getloadavg()
        for mode in modes:
            pools[mode] = run_mode(mode, timed, warm_clip, job, tmp / mode)
            for n in (1, 2):
                results[f"{mode} x{n}"] = pools[mode][f"x{n}"]
        load1 = os.getloadavg()
    print_fn(f"task runners: {len(timed)} videos x {frames} frames (+1 warm-up clip), product "
             f"tasks ingest_video / score_video, ONNX runtime; CPUs available to this process "
             f"(sched_getaffinity) {cpus} of {os.cpu_count()}; load average (1 min) "
             f"{load0[0]:.1f} at start, {load1[0]:.1f} at end")  # fmt: skip
    print_fn(
        "  cpu/wall: CPU-seconds this run's processes got per wall-second; machine: busy "
        "cores of the whole machine (ours included); xN: speed against 1 thread"
    )
    summary: dict[str, Any] = {"cpus": cpus, "load": (load0, load1)}
    for stage in STAGES:
        base = results[f"{modes[0]} x1"][stage]["wall"]
        print_fn(f"  {stage}:")
        for name, r in results.items():
            print_fn(_fmt_row(name, r[stage], base))
        for mode in modes:
            one, two = results[f"{mode} x1"][stage], results[f"{mode} x2"][stage]
            ratio = one["wall"] / two["wall"]
            summary[f"{stage}_{mode}_1to2"] = ratio
            got = (two["cpu"] / two["wall"]) / (one["cpu"] / one["wall"])
            print_fn(
                f"    {mode} 1 -> 2 workers: x{ratio:.2f}, with x{got:.2f} the CPU per "
                f"wall-second (cpu/wall {one['cpu'] / one['wall']:.2f} -> "
                f"{two['cpu'] / two['wall']:.2f}); workers used {two['workers_used']}"
            )
    print_fn("  2-worker pool start + warm-up of both workers / close, s: " + ", ".join(
        f"{m} {r['startup_s']:.1f} / {r['close_s']:.1f}" for m, r in pools.items()))  # fmt: skip
    ref = [row["fake_score"] for row in results[f"{modes[0]} x1"]["scoring"]["rows"]]
    worst = 0.0  # rows come back in the order of the videos in every mode
    for r in results.values():
        for row, b in zip(r["scoring"]["rows"], ref, strict=True):
            a = row["fake_score"]
            worst = max(worst, abs(a - b) if a is not None and b is not None
                        else 0.0 if a is b else np.inf)  # fmt: skip
    statuses = {row["status"] for r in results.values() for s in STAGES for row in r[s]["rows"]}
    print_fn(
        f"  same results in every mode: max |d fake_score| {worst:.2e}; statuses {sorted(statuses)}"
    )
    summary.update(results=results, max_score_diff=worst)
    return summary


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=int, default=6, help="clips (the first is the warm-up)")
    ap.add_argument("--frames", type=int, default=16)
    ap.add_argument("--modes", default=",".join(MODES))
    a = ap.parse_args()
    run(default_videos(a.limit), a.frames, tuple(a.modes.split(",")))
