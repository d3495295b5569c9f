"""Scaling from 1 to 2 workers: processes against threads, ingest + scoring, same run.

Each worker scores whole videos (decode, faces, crops, embedding, pairs) with its own
:class:`FaceAnalyzer` and ONNX session (``threads=1``, so two workers ask for two cores, not
four). Modes:

* ``1 process`` / ``2 processes``: ``multiprocessing`` pools (spawn), videos handed out one by
  one; every worker warms up (graphs, session, first inference) before the clock starts.
* ``2 threads``: one process, a thread pool of two, as the threaded Prefect runner runs tasks.

Printed per mode: wall seconds, videos/min, speed-up over one process, process CPU-seconds
per video, and for the threads the CPU time of the two worker threads themselves
(``thread_time``: Python plus the native calls made from them; MediaPipe's graph threads and
the decode thread are the rest of the process's CPU time). Whether the GIL or the cores limit
the threads shows in ``py-spy top --gil --pid PID`` run beside it and in ``cpu/wall``.
What a run on a shared machine can show is bounded by the cores it gets: ``cpu/wall`` says
how many cores the mode actually used.

Run: ``python -m benchmarks.bench_processes [--limit 10] [--frames 32]``.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import multiprocessing as mp
import os
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from benchmarks.bench_ingest import default_videos

_worker: dict = {}


def _init(onnx_path: str, frames: int, tracking: bool) -> None:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    from difffake_core.faces.analyzer import FaceAnalyzer
    from difffake_core.ingest import IngestParams
    from difffake_core.models.backbones import create_extractor
    from difffake_core.runtime import create_runtime

    model = create_extractor("efficientnet_lite0", weights="default").eval()
    params = IngestParams(n_frames=frames, face_tracking=tracking)
    _worker.update(
        params=params,
        size=model.input_size,
        analyzer=FaceAnalyzer(**params.analyzer_kwargs()),
        runtime=create_runtime("onnx", model=model, onnx_path=onnx_path, threads=1),
    )


def _score(path: str) -> tuple[float, float, int]:
    """Score one video in this worker: ``(python thread CPU s, process CPU s, crops)``."""
    from difffake_core.embedding import embed_crops
    from difffake_core.ingest import process_video

    t0, c0 = time.thread_time(), time.process_time()
    vf = process_video(path, _worker["params"], _worker["analyzer"], encode=False)
    ok = [r.image for r in vf.rows if r.status == "ok"]
    if ok:
        vectors = embed_crops(_worker["runtime"], ok, _worker["size"])
        np.linalg.norm(vectors[1:] - vectors[:-1], axis=1)  # the pair step's arithmetic
    return time.thread_time() - t0, time.process_time() - c0, len(ok)


def _warm(path: str) -> int:
    _score(path)
    return os.getpid()


def run_pool(videos, workers: int, onnx_path: str, frames: int, tracking: bool) -> dict:
    ctx = mp.get_context("spawn")
    with ctx.Pool(workers, _init, (onnx_path, frames, tracking)) as pool:
        pids = set()
        while len(pids) < workers:  # every worker warm before timing
            pids.update(pool.map(_warm, [videos[0]] * workers, chunksize=1))
        t0 = time.perf_counter()
        out = pool.map(_score, videos, chunksize=1)
        wall = time.perf_counter() - t0
    cpu = sum(o[1] for o in out)
    return {"wall": wall, "cpu": cpu, "videos": len(videos)}


def run_threads(videos, workers: int, onnx_path: str, frames: int, tracking: bool) -> dict:
    local = threading.local()
    lock = threading.Lock()
    states = []

    def one(path: str):
        if not hasattr(local, "state"):
            _init(onnx_path, frames, tracking)
            local.state = dict(_worker)
            with lock:
                states.append(local.state)
        st = local.state
        t0 = time.thread_time()
        from difffake_core.embedding import embed_crops
        from difffake_core.ingest import process_video

        vf = process_video(path, st["params"], st["analyzer"], encode=False)
        ok = [r.image for r in vf.rows if r.status == "ok"]
        if ok:
            embed_crops(st["runtime"], ok, st["size"])
        return time.thread_time() - t0

    with cf.ThreadPoolExecutor(workers) as pool:
        list(pool.map(one, [videos[0]] * workers))
        c0, t0 = time.process_time(), time.perf_counter()
        python_cpu = sum(pool.map(one, videos))
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    for s in states:
        s["analyzer"].close()
    return {"wall": wall, "cpu": cpu, "python_cpu": python_cpu, "videos": len(videos)}


def run(videos=None, frames: int = 32, tracking: bool = True, print_fn=print) -> dict:
    from difffake_core.models.backbones import create_extractor
    from difffake_core.runtime import export_onnx

    videos = videos or default_videos(10)
    with tempfile.TemporaryDirectory() as tmp:
        onnx_path = str(Path(tmp) / "embed.onnx")
        export_onnx(create_extractor("efficientnet_lite0", weights="default").eval(), onnx_path)
        res = {
            "1 process": run_pool(videos, 1, onnx_path, frames, tracking),
            "2 processes": run_pool(videos, 2, onnx_path, frames, tracking),
            "2 threads": run_threads(videos, 2, onnx_path, frames, tracking),
        }
    base = res["1 process"]["wall"]
    print_fn(f"worker scaling: {len(videos)} videos x {frames} frames, ingest + scoring "
             f"(face_tracking={tracking}), {os.cpu_count()} CPUs visible, load average "
             f"{os.getloadavg()[0]:.1f}")  # fmt: skip
    for name, r in res.items():
        extra = ""
        if "python_cpu" in r:
            extra = (f"  worker threads' own CPU {r['python_cpu']:.1f} s of {r['cpu']:.1f} s "
                     f"({100 * r['python_cpu'] / max(r['cpu'], 1e-9):.0f}%)")  # fmt: skip
        print_fn(
            f"  {name:<12} {r['wall']:7.1f} s wall  {60 * r['videos'] / r['wall']:6.1f} videos/min"
            f"  x{base / r['wall']:.2f}  CPU {r['cpu'] / r['videos']:.2f} s/video"
            f"  cpu/wall {r['cpu'] / r['wall']:.2f}{extra}"
        )
    res["speedup_2_processes"] = base / res["2 processes"]["wall"]
    res["speedup_2_threads"] = base / res["2 threads"]["wall"]
    return res


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=int, default=10)
    ap.add_argument("--frames", type=int, default=32)
    ap.add_argument("--no-tracking", action="store_true")
    a = ap.parse_args()
    run(default_videos(a.limit), a.frames, tracking=not a.no_tracking)
