"""Per-thread heavy resources (MediaPipe graphs are not thread-safe), and the per-thread
worker process that runs each video's native work (:func:`face_stage`).

Flows call :func:`close_all` when they finish: MediaPipe's graphs must be closed before the
interpreter shuts its thread pools down, which happens before ``atexit`` handlers run.
"""

from __future__ import annotations

import atexit
import multiprocessing
import os
import threading
from typing import Any

from difffake_core.faces.analyzer import FaceAnalyzer
from difffake_core.ingest import IngestParams, VideoFaces, process_video
from difffake_core.isolation import IsolatedWorker, isolated_face_stage

# "off" runs decoding + MediaPipe in the task's own thread: a native crash then ends the run.
ISOLATION_ENV = "DIFFFAKE_ISOLATION"

_local = threading.local()
_all: list[Any] = []
_lock = threading.Lock()
_generation = 0


def face_analyzer(model_path: str | None, **kwargs: Any) -> FaceAnalyzer:
    """The calling thread's analyzer for these settings (created on first use)."""
    key = (model_path, tuple(sorted(kwargs.items())))
    if getattr(_local, "generation", None) != _generation:
        _local.analyzers, _local.generation = {}, _generation
    cache = _local.analyzers
    if key not in cache:
        analyzer = FaceAnalyzer(model_path, **kwargs)
        cache[key] = analyzer
        with _lock:
            _all.append(analyzer)
    return cache[key]


def face_stage(
    path: str, params: IngestParams, face_model: str | None, encode: bool = True
) -> VideoFaces:
    """Decode, find and crop the faces of one video in this thread's worker process (a
    crash there is the video's ``decoder_crash`` status), or in this thread when
    ``DIFFFAKE_ISOLATION=off``. A daemonic process (a Dask worker with the default
    ``distributed.worker.daemon: true``) cannot have children: there the work runs in this
    thread, and the cluster's own restarts and retries stand in for the isolation."""
    off = os.environ.get(ISOLATION_ENV, "on").lower() in ("off", "0", "false", "no")
    if off or multiprocessing.current_process().daemon:
        analyzer = face_analyzer(face_model, **params.analyzer_kwargs())
        return process_video(path, params, analyzer, encode=encode)
    if getattr(_local, "worker_generation", None) != _generation:
        _local.worker, _local.worker_generation = IsolatedWorker(), _generation
        with _lock:
            _all.append(_local.worker)
    return isolated_face_stage(_local.worker, path, params, face_model, encode)


@atexit.register
def close_all() -> None:
    """Close every analyzer and worker of every thread; later calls create fresh ones."""
    global _generation
    with _lock:
        items = list(_all)
        _all.clear()
        _generation += 1
    for item in items:
        item.close()
