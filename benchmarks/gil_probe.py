"""Is the threaded runner GIL-bound? Sample a 2-thread ingest + scoring run with py-spy.

Two ``py-spy record`` samplers watch this process while two worker threads score videos (as
in :func:`benchmarks.bench_processes.run_threads`): one counts the samples in which a thread
is running (``--threads``, idle threads left out), the other only those in which it holds the
GIL (``--gil``). If the worker threads hold the GIL in a small share of their running time,
two of them can overlap and the GIL does not cap two threads: the cores do. py-spy is not a
dependency; point ``--py-spy`` at a binary (``pip install --target DIR py-spy``).

Run: ``python -m benchmarks.gil_probe --py-spy /path/to/py-spy [--limit 6]``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
import time
from collections import Counter
from pathlib import Path

from benchmarks.bench_ingest import default_videos
from benchmarks.bench_processes import run_threads


def _samples(raw: Path) -> Counter:
    """Samples per thread name from py-spy's raw (collapsed stacks) output."""
    out: Counter = Counter()
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            out[stack.split(";", 1)[0]] += int(count)
    return out


def run(py_spy: str, videos, frames: int = 32, print_fn=print) -> dict:
    from difffake_core.models.backbones import create_extractor
    from difffake_core.runtime import export_onnx

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        onnx_path = str(tmp / "embed.onnx")
        export_onnx(create_extractor("efficientnet_lite0", weights="default").eval(), onnx_path)
        run_threads(videos[:1], 2, onnx_path, frames, True)  # warm caches, untimed
        procs = []
        for name, extra in (("running", []), ("gil", ["--gil"])):
            cmd = [py_spy, "record", "--pid", str(os.getpid()), "--threads", "--nonblocking",
                   "--rate", "50", "--format", "raw", "-o", str(tmp / f"{name}.txt"), *extra]  # fmt: skip
            procs.append(subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))
        time.sleep(1.0)
        result = run_threads(videos, 2, onnx_path, frames, True)
        for p in procs:
            p.send_signal(2)  # SIGINT: py-spy writes its output and exits
            p.wait(timeout=60)
        running, gil = _samples(tmp / "running.txt"), _samples(tmp / "gil.txt")
    workers = [t for t in running if "ThreadPoolExecutor" in t]
    run_n = sum(running[t] for t in workers)
    gil_n = sum(gil[t] for t in gil if "ThreadPoolExecutor" in t)
    all_gil = sum(gil.values())
    print_fn(f"GIL probe: {len(videos)} videos x {frames} frames on 2 threads, "
             f"{result['wall']:.1f} s wall, {result['cpu']:.1f} s CPU")  # fmt: skip
    print_fn(f"  worker threads running: {run_n} samples; holding the GIL: {gil_n} "
             f"({100 * gil_n / max(run_n, 1):.0f}% of their running time)")  # fmt: skip
    print_fn(f"  GIL held by any thread in {all_gil} samples of "
             f"{result['wall'] * 50:.0f} (50 Hz x wall): "
             f"{100 * all_gil / max(result['wall'] * 50, 1):.0f}% of the run")  # fmt: skip
    return {"worker_running": run_n, "worker_gil": gil_n, "any_gil": all_gil, **result}


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--py-spy", required=True)
    ap.add_argument("--limit", type=int, default=6)
    ap.add_argument("--frames", type=int, default=32)
    a = ap.parse_args()
    run(a.py_spy, default_videos(a.limit), a.frames)
