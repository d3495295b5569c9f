"""Per-video native work in a child process, so that a crash there becomes a status row.

Decoders (decord, FFmpeg) and MediaPipe are native code: a hostile file can make them abort
(``std::bad_alloc`` -> SIGABRT), segfault or hang, which no ``try`` can catch. An
:class:`IsolatedWorker` runs such calls in one long-lived child process (started once, so the
default path pays only for sending the result back); when the child dies the call raises
:class:`NativeCrashError` naming the signal and the child's last stderr lines, a fresh child is
started for the next call, and the caller records the status and goes on.

The child ignores SIGINT (a terminal's Ctrl-C is the parent's to handle), dies with its
parent (``PR_SET_PDEATHSIG`` on Linux, and EOF on its pipe everywhere), and stops waiting
for work when :data:`STOP` is set: a front end sets it on Ctrl-C, every waiting call then
kills its child and raises :class:`RunInterrupted` instead of recording a result.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing as mp
import os
import pickle
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from typing import Any

from difffake_core.errors import DecodeTimeoutError, DiffFakeError, MediaError
from difffake_core.status import Status

STOP = threading.Event()  # set by a front end (Ctrl-C): waiting calls give up at once
_POLL_S = 0.05
_PR_SET_PDEATHSIG = 1


class NativeCrashError(MediaError):
    """The child process died (signal or exit) while working on one file."""

    status = Status.DECODER_CRASH


class RunInterrupted(DiffFakeError):
    """The run is being stopped (:data:`STOP` is set): nothing was recorded for this item."""


class WorkerStartError(DiffFakeError):
    """The child process died or hung before it was ready for work.

    Not a property of any file (so never a video's status): the run stops with this error.
    The usual cause is a script that starts a flow at import time: a spawned child imports
    the main module again, and must not run the flow there.
    """


_START_TIMEOUT_S = 300.0  # heavy imports on a loaded machine take seconds, never minutes
_READY = "ready"


def signal_name(exitcode: int | None) -> str:
    """``-6`` -> ``"SIGABRT"``; a positive code -> ``"exit code N"``."""
    if exitcode is not None and exitcode < 0:
        try:
            return signal.Signals(-exitcode).name
        except ValueError:
            return f"signal {-exitcode}"
    return f"exit code {exitcode}"


def _die_with_parent(parent: int) -> None:
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):  # pragma: no cover (no prctl): EOF still ends us
            pass
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


def _child_main(conn, parent: int, stderr_path: str) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with_parent(parent)
    fd = os.open(stderr_path, os.O_WRONLY | os.O_TRUNC)
    os.dup2(fd, 2)  # native messages ("terminate called after ...") go into the report
    conn.send(_READY)
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        os.ftruncate(2, 0)
        os.lseek(2, 0, os.SEEK_SET)
        fn, args = message
        try:
            reply = (True, fn(*args))
        except Exception as exc:  # handed to the caller, raised there
            reply = (False, exc)
        try:
            conn.send(reply)
        except (pickle.PicklingError, TypeError, AttributeError):
            conn.send((False, RuntimeError(f"{type(reply[1]).__name__}: {reply[1]}")))


class IsolatedWorker:
    """One child process that runs picklable module-level functions, restarted after a crash.

    Not thread-safe: give each thread its own worker. A child must say it is ready before it
    is given work: one that dies or hangs before that raises :class:`WorkerStartError` (a
    problem of the run, not of the file being worked on).
    """

    _target: Callable[..., None] = staticmethod(_child_main)

    def __init__(self) -> None:
        self._proc: Any = None
        self._conn: Any = None
        fd, self._stderr = tempfile.mkstemp(prefix="difffake-worker-", suffix=".log")
        os.close(fd)
        self.started = 0  # children started so far (1 + crashes)

    def _ensure(self) -> None:
        if self._proc is not None and self._proc.is_alive():
            return
        ctx = mp.get_context("spawn")
        parent_conn, child_conn = ctx.Pipe()
        proc = ctx.Process(target=self._target, args=(child_conn, os.getpid(), self._stderr),
                           name="difffake-worker", daemon=True)  # fmt: skip
        proc.start()
        child_conn.close()
        self._proc, self._conn = proc, parent_conn
        self.started += 1
        self._wait_ready()

    def _wait_ready(self) -> None:
        end = time.monotonic() + _START_TIMEOUT_S
        while True:
            try:
                if self._conn.poll(_POLL_S):
                    if self._conn.recv() == _READY:
                        return
                    break
            except (EOFError, OSError):
                break
            if STOP.is_set():
                self._kill()
                raise RunInterrupted("the run is being stopped")
            if not self._proc.is_alive() and not self._conn.poll(0):
                break
            if time.monotonic() > end:
                self._kill()
                raise WorkerStartError(
                    f"the worker process was not ready after {_START_TIMEOUT_S:.0f} s"
                )
        self._proc.join(5)
        code = self._proc.exitcode
        self._kill()
        raise WorkerStartError(
            f"the worker process exited before it was ready ({signal_name(code)}). A spawned "
            "child imports the main module again: a script that starts difffake flows must do "
            "so under `if __name__ == '__main__':`; see the lines above this error for the "
            "child's own message"
        )

    def _stderr_tail(self, limit: int = 400) -> str:
        try:
            with open(self._stderr, "rb") as f:
                text = f.read()[-limit:].decode("utf-8", "replace")
        except OSError:
            return ""
        return " ".join(text.split())

    def _kill(self) -> None:
        proc, self._proc = self._proc, None
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if proc is not None:
            proc.kill()
            proc.join(5)

    def call(self, fn: Callable[..., Any], *args: Any, timeout: float | None = None,
             label: str | None = None) -> Any:  # fmt: skip
        """``fn(*args)`` in the child; its exceptions are raised here.

        Raises:
            NativeCrashError: the child died (``label``, e.g. the file, starts the message).
            DecodeTimeoutError: no answer within ``timeout`` seconds (the child is killed).
            RunInterrupted: :data:`STOP` was set while waiting.
        """
        if STOP.is_set():
            raise RunInterrupted("the run is being stopped")
        self._ensure()
        self._conn.send((fn, args))
        end = None if timeout is None else time.monotonic() + timeout
        while True:
            try:
                if self._conn.poll(_POLL_S):
                    ok, value = self._conn.recv()
                    break
            except (EOFError, OSError):
                self._proc.join(5)
                self._crashed(label)
            if STOP.is_set():
                self._kill()
                raise RunInterrupted("the run is being stopped")
            if not self._proc.is_alive():
                if self._conn.poll(0):  # answered just before exiting
                    continue
                self._crashed(label)
            if end is not None and time.monotonic() > end:
                self._kill()
                raise DecodeTimeoutError(f"no result after {timeout:.0f} s (worker killed)",
                                         label)  # fmt: skip
        if not ok:
            raise value
        return value

    def _crashed(self, label: str | None) -> None:
        code = self._proc.exitcode if self._proc is not None else None
        self._kill()
        tail = self._stderr_tail()
        detail = f": {tail}" if tail else ""
        raise NativeCrashError(f"native code crashed ({signal_name(code)}){detail}", label)

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def close(self) -> None:
        """Stop the child (it exits on its own when the pipe closes)."""
        if self._conn is not None:
            with contextlib.suppress(OSError):
                self._conn.send(None)
        proc, conn = self._proc, self._conn
        self._conn, self._proc = None, None
        if conn is not None:
            conn.close()
        if proc is not None:
            proc.join(2)
            if proc.is_alive():
                proc.kill()
                proc.join(2)
        with contextlib.suppress(OSError):
            os.unlink(self._stderr)

    def __enter__(self) -> IsolatedWorker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# -- the face stage of one video, isolated -------------------------------------------------
_analyzers: dict[tuple, Any] = {}  # in the child: one FaceAnalyzer per settings


def face_stage_in_child(path: str, params: Any, face_model: str | None, encode: bool = True) -> Any:
    """:func:`~difffake_core.ingest.process_video` with this process's cached analyzer."""
    from difffake_core.faces.analyzer import FaceAnalyzer
    from difffake_core.ingest import process_video

    kwargs = params.analyzer_kwargs()
    key = (face_model, tuple(sorted(kwargs.items())))
    if key not in _analyzers:
        _analyzers[key] = FaceAnalyzer(face_model, **kwargs)
    return process_video(path, params, _analyzers[key], encode=encode)


def isolated_face_stage(worker: IsolatedWorker, path: str, params: Any,
                        face_model: str | None, encode: bool = True) -> Any:  # fmt: skip
    """The :class:`~difffake_core.ingest.VideoFaces` of one video, decoded and analysed in
    ``worker``'s child. A crash or a hang there is the video's status (``decoder_crash``,
    ``timeout``); :class:`RunInterrupted` propagates."""
    from difffake_core.ingest import VideoFaces

    limit = params.time_limit_s
    try:
        return worker.call(face_stage_in_child, path, params, face_model, encode,
                           timeout=None if limit is None else limit + 60, label=path)  # fmt: skip
    except MediaError as exc:
        return VideoFaces(status=exc.status, error=str(exc), info=None, backend=None)
