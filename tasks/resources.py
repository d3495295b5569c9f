"""Per-thread heavy resources (MediaPipe graphs are not thread-safe).

Flows call :func:`close_all` when they finish: MediaPipe's graphs must be closed before the
interpreter shuts its thread pools down, which happens before ``atexit`` handlers run.
"""

from __future__ import annotations

import atexit
import threading
from typing import Any

from difffake_core.faces.analyzer import FaceAnalyzer

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


@atexit.register
def close_all() -> None:
    """Close every analyzer of every thread; later calls create fresh ones."""
    global _generation
    with _lock:
        items = list(_all)
        _all.clear()
        _generation += 1
    for item in items:
        item.close()
