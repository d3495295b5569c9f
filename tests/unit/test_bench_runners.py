"""The task-runner benchmark's own machinery: bounded in-flight mapping and CPU accounting
(timings themselves are never asserted)."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

from benchmarks.bench_runners import Pool, cpu_window

_running = 0
_peak = 0
_lock = threading.Lock()


def _track(x: int) -> int:
    global _running, _peak
    with _lock:
        _running += 1
        _peak = max(_peak, _running)
    time.sleep(0.02)
    with _lock:
        _running -= 1
    return x * x


def test_map_keeps_the_order_and_at_most_in_flight_calls_running():
    global _peak
    pool = Pool("threads", 2)
    try:
        for in_flight in (1, 2):
            _peak = 0
            assert pool.map(_track, list(range(7)), in_flight=in_flight) == [
                x * x for x in range(7)
            ]
            assert _peak == in_flight
    finally:
        pool.close()


def test_cpu_window_counts_the_cpu_of_live_child_processes():
    burn = (
        "import sys, time\n"
        "while time.process_time() < 0.5: pass\n"
        "print('done', flush=True)\n"
        "sys.stdin.read()\n"  # stay alive until the window has been read
    )
    with cpu_window() as w:
        child = subprocess.Popen([sys.executable, "-c", burn], stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, text=True)  # fmt: skip
        assert child.stdout.readline().strip() == "done"
    child.communicate("")
    assert w["cpu"] >= 0.45  # the child's half second (in clock ticks), though not this process
    assert w["wall"] > 0 and w["machine"] >= 0
