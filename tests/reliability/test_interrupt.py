"""Issue 9, cases 2 and 7: Ctrl-C stops a real `difffake score` run within 5 s with one line,
keeps finished videos and the rerun resumes; a second Ctrl-C exits at once; neither Ctrl-C
nor kill -9 leaves the ephemeral Prefect server (or a worker) running."""

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
from tests.reliability.hostile import make_test_detector
from tests.reliability.procs import alive, descendants, servers_of, wait_until
from tests.support.media import astronaut, moving_frames, write_video

ROOT = Path(__file__).resolve().parents[2]
N_CLIPS = 16

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc"),
]


@pytest.fixture(scope="module")
def setup(face_model, tmp_path_factory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("interrupt")
    archive = base / "archive"
    archive.mkdir()
    for i in range(N_CLIPS - 1):
        write_video(archive / f"clip{i:02d}.mp4", moving_frames(astronaut(), 24, seed=i))
    shutil.copy(archive / "clip00.mp4", archive / "clip00.mkv")  # same stem: its own row
    return {"archive": archive, "detector": make_test_detector(base / "detector"),
            "prefect": base / "prefect", "base": base}  # fmt: skip


def _start(setup, catalog: Path, log: Path, command: str = "score") -> subprocess.Popen:
    env = dict(os.environ, PREFECT_HOME=str(setup["prefect"]), PYTHONPATH=str(ROOT))
    env.pop("PREFECT_API_URL", None)
    args = [sys.executable, "-m", "flows.cli", command, str(setup["archive"]),
            "--catalog", str(catalog)]  # fmt: skip
    if command == "score":
        args += ["--detector", str(setup["detector"]), "--runtime", "torch",
                 "--out", str(setup["base"] / "out")]  # fmt: skip
    else:
        args += ["--frames", "6"]
    with open(log, "w") as out:
        return subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT,
                                start_new_session=True)  # fmt: skip


def _done(catalog: Path, stage: str = "score") -> int:
    work = catalog / "_work" / stage
    table = "scores" if stage == "score" else "videos"
    return sum(1 for _ in work.rglob(f"*.{table}.parquet")) if work.exists() else 0


def _wait_progress(proc, catalog: Path, at_least: int, log: Path, stage: str = "score") -> None:
    ok = wait_until(lambda: _done(catalog, stage) >= at_least or proc.poll() is not None, 400)
    assert ok and proc.poll() is None, log.read_text()[-3000:]


def _interrupt(proc, group: bool) -> float:
    t0 = time.monotonic()
    if group:  # a terminal's Ctrl-C: SIGINT to the whole foreground process group
        os.killpg(proc.pid, signal.SIGINT)
    else:
        proc.send_signal(signal.SIGINT)
    proc.wait(timeout=30)
    return time.monotonic() - t0


@pytest.mark.parametrize("group", [False, True], ids=["process", "group"])
def test_ctrl_c_stops_within_5s_keeps_work_and_the_rerun_resumes(setup, tmp_path, group):
    catalog = tmp_path / "catalog"
    log = tmp_path / "run.log"
    proc = _start(setup, catalog, log)
    _wait_progress(proc, catalog, 1, log)
    servers = servers_of(proc.pid)
    assert servers, "no ephemeral server found"
    elapsed = _interrupt(proc, group)
    text = log.read_text()
    assert elapsed < 5.0, text[-3000:]
    assert proc.returncode == 130, text[-3000:]
    lines = [ln for ln in text.splitlines() if "interrupted" in ln]
    assert len(lines) == 1 and lines[0].startswith("interrupted: stopping"), text[-3000:]
    assert "Traceback" not in text, text[-3000:]
    kept = {p: p.stat().st_mtime_ns for p in (catalog / "_work").rglob("*.scores.parquet")}
    assert 1 <= len(kept) < N_CLIPS
    assert wait_until(lambda: not any(alive(p) for p in servers), 10), "server left running"

    rerun = subprocess.run([sys.executable, "-m", "flows.cli", "score", str(setup["archive"]),
                            "--catalog", str(catalog), "--detector", str(setup["detector"]),
                            "--runtime", "torch", "--out", str(tmp_path / "out")],
                           env=dict(os.environ, PREFECT_HOME=str(setup["prefect"])), cwd=ROOT,
                           capture_output=True, text=True, timeout=900)  # fmt: skip
    assert rerun.returncode == 0, rerun.stdout[-2000:] + rerun.stderr[-2000:]
    for noise in ("Traceback", "CancelledError"):  # case 12: a successful run exits cleanly
        assert noise not in rerun.stderr + rerun.stdout, rerun.stderr[-3000:]
    assert all(p.stat().st_mtime_ns == t for p, t in kept.items())  # resumed, not redone
    scores = Catalog(catalog).read_pandas("archive.scores")
    assert len(scores) == N_CLIPS and scores["video_id"].is_unique
    assert {"clip00.mp4", "clip00.mkv"} <= set(scores["video_id"])


def test_a_second_ctrl_c_exits_at_once(setup, tmp_path):
    catalog = tmp_path / "catalog"
    log = tmp_path / "run.log"
    proc = _start(setup, catalog, log)
    _wait_progress(proc, catalog, 1, log)
    proc.send_signal(signal.SIGINT)
    time.sleep(0.3)
    t0 = time.monotonic()
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=30)
    assert time.monotonic() - t0 < 1.5 and proc.returncode == 130, log.read_text()[-3000:]


@pytest.mark.parametrize("command", ["ingest", "score"])
def test_kill_9_leaves_no_server_and_no_worker(setup, tmp_path, command):
    catalog = tmp_path / "catalog"
    log = tmp_path / "run.log"
    proc = _start(setup, catalog, log, command)
    _wait_progress(proc, catalog, 1, log, "score" if command == "score" else "ingest")
    children = descendants(proc.pid)
    assert servers_of(proc.pid) and len(children) >= 2, children  # server + a worker
    proc.kill()
    proc.wait()
    left = lambda: [p for p in children if alive(p)]  # noqa: E731
    assert wait_until(lambda: not left(), 15), f"left running: {left()}"
