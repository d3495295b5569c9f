"""Issue 9, case 1: a crafted AVI that claims 0x7FFFFFFF frames, and native crashes in the
per-video work, become status rows; the run goes on."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from data_catalog import Catalog
from difffake_core import isolation
from difffake_core.ingest import IngestParams
from difffake_core.isolation import (
    IsolatedWorker,
    NativeCrashError,
    WorkerStartError,
    face_stage_in_child,
    isolated_face_stage,
)
from tests.reliability.hostile import (
    claim_frames,
    decord_frame_count,
    exit_at_start,
    hang_at_start,
    kill_self,
    sleep_then,
    write_avi,
)
from tests.support.media import astronaut, moving_frames

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def avis(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("avi")
    good = write_avi(folder / "good.avi", moving_frames(astronaut(), 12, seed=3))
    crafted = claim_frames(shutil.copy(good, folder / "crafted.avi"))
    return {"good": good, "crafted": crafted}


def test_crafted_avi_is_decoded_by_pyav_without_trusting_the_header(avis):
    code = (
        "import sys; from difffake_core.video import read_frames\n"
        "s = read_frames(sys.argv[1], 6)\n"
        "print(s.backend, s.info.frame_count, len(s.frames))\n"
    )
    run = subprocess.run([sys.executable, "-c", code, str(avis["crafted"])], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]  # today: 134, std::bad_alloc in decord
    assert run.stdout.split() == ["pyav", "12", "6"]


def test_a_real_decord_abort_in_the_worker_is_an_error_and_the_worker_restarts(avis):
    with IsolatedWorker() as worker:
        with pytest.raises(NativeCrashError) as err:
            worker.call(decord_frame_count, str(avis["crafted"]), label=str(avis["crafted"]))
        assert err.value.status == "decoder_crash"
        assert "SIGABRT" in str(err.value) and "bad_alloc" in str(err.value)
        assert str(avis["crafted"]) in str(err.value)
        assert worker.call(decord_frame_count, str(avis["good"])) == 12  # a fresh child
        assert worker.started == 2
        with pytest.raises(NativeCrashError, match="SIGSEGV"):
            worker.call(kill_self, signal.SIGSEGV)
        with pytest.raises(ValueError, match="boom"):  # ordinary errors travel back
            worker.call(int, "boom")
        assert worker.call(sleep_then, 0.0) == 0.0


def test_a_hung_worker_is_killed_after_its_timeout():
    from difffake_core.errors import DecodeTimeoutError

    with IsolatedWorker() as worker:
        worker.call(sleep_then, 0.0)  # started
        t0 = time.monotonic()
        with pytest.raises(DecodeTimeoutError):
            worker.call(sleep_then, 60.0, timeout=1.0)
        assert time.monotonic() - t0 < 10
        assert worker.call(sleep_then, 0.0) == 0.0


def test_face_stage_child_killed_by_a_signal_is_a_status_row(media, face_model):
    # every frame, its neighbour and full tiling: seconds of work, so the kill lands inside
    params = IngestParams(n_frames=40, neighbour_offsets=(1,), tiling="on")
    with IsolatedWorker() as worker:
        # warm up the child (imports, MediaPipe graph), then kill it in the middle of a video
        t0 = time.monotonic()
        first = worker.call(face_stage_in_child, str(media["talking_head"]), params, face_model)
        assert first.status == "ok"
        pid = worker.pid
        delay = min(0.3, (time.monotonic() - t0) / 10)
        killer = threading.Timer(delay, lambda: __import__("os").kill(pid, signal.SIGKILL))
        killer.start()
        vf = isolated_face_stage(worker, str(media["talking_head"]), params, face_model)
        killer.join()
        assert vf.status == "decoder_crash" and "SIGKILL" in vf.error and not vf.rows
        again = isolated_face_stage(worker, str(media["talking_head"]), params, face_model)
        assert again.status == "ok" and again.frames_with_face == first.frames_with_face


def test_ingest_run_with_the_crafted_avi_goes_on(avis, media, face_model, prefect_harness,
                                                 tmp_path):  # fmt: skip
    from flows.ingest_corpus import IngestConfig, ingest_corpus

    root = tmp_path / "corpus"
    root.mkdir()
    shutil.copy(avis["crafted"], root / "crafted.avi")
    shutil.copy(media["talking_head"], root / "head.mp4")
    config = IngestConfig(root=str(root), catalog=str(tmp_path / "cat"), corpus="c",
                          params=IngestParams(n_frames=6))  # fmt: skip
    out = ingest_corpus(config)
    assert len(out["videos"]) == 2
    videos = Catalog(tmp_path / "cat").read_pandas("c.videos").set_index("video_id")
    assert videos["status"].to_dict() == {"crafted": "ok", "head": "ok"}
    assert videos.loc["crafted", "backend"] == "pyav" and videos.loc["crafted", "frame_count"] == 12


class _DiesAtStart(IsolatedWorker):
    _target = staticmethod(exit_at_start)


class _HangsAtStart(IsolatedWorker):
    _target = staticmethod(hang_at_start)


def test_a_worker_that_dies_before_it_is_ready_stops_the_run_instead_of_blaming_the_file(media):
    path = str(media["talking_head"])
    with _DiesAtStart() as worker:
        with pytest.raises(WorkerStartError, match="exit code 3") as err:
            isolated_face_stage(worker, path, IngestParams(n_frames=4), None)
        assert not isinstance(err.value, isolation.MediaError)  # never a video's status
        assert "__name__ == '__main__'" in str(err.value)


def test_a_worker_that_never_gets_ready_is_killed_after_the_start_timeout(monkeypatch):
    monkeypatch.setattr(isolation, "_START_TIMEOUT_S", 1.0)
    with _HangsAtStart() as worker:
        t = time.monotonic()
        with pytest.raises(WorkerStartError, match="not ready after 1 s"):
            worker.call(sleep_then, 0.0)
        assert time.monotonic() - t < 30
        assert worker.pid is None  # killed, not left behind


def test_a_script_without_a_main_guard_gets_a_clear_error_not_crash_statuses(tmp_path):
    script = tmp_path / "unguarded.py"
    script.write_text(
        "import os\n"
        "from difffake_core.isolation import IsolatedWorker\n"
        "with IsolatedWorker() as w:\n"
        "    print('child pid', w.call(os.getpid))\n"
    )
    env = {**__import__("os").environ, "PYTHONPATH": str(ROOT)}
    run = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=180)  # fmt: skip
    assert run.returncode != 0
    assert "WorkerStartError" in run.stderr and "__name__ == '__main__'" in run.stderr
    guarded = tmp_path / "guarded.py"
    guarded.write_text(
        script.read_text()
        .replace("with Isolated", "if __name__ == '__main__':\n  with Isolated")
        .replace("    print", "      print")
    )
    run = subprocess.run([sys.executable, str(guarded)], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=180)  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.startswith("child pid ")
