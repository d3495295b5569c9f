"""Per-thread heavy resources (MediaPipe graphs are not thread-safe), closed at exit."""

from __future__ import annotations

import atexit
import threading
from typing import Any

from difffake_core.faces.analyzer import FaceAnalyzer

_local = threading.local()
_all: list[Any] = []
_lock = threading.Lock()


def face_analyzer(model_path: str | None, **kwargs: Any) -> FaceAnalyzer:
    """The calling thread's analyzer for these settings (created on first use)."""
    key = (model_path, tuple(sorted(kwargs.items())))
    cache = getattr(_local, "analyzers", None)
    if cache is None:
        cache = _local.analyzers = {}
    if key not in cache:
        analyzer = FaceAnalyzer(model_path, **kwargs)
        cache[key] = analyzer
        with _lock:
            _all.append(analyzer)
    return cache[key]


@atexit.register
def close_all() -> None:
    with _lock:
        items = list(_all)
        _all.clear()
    for item in items:
        item.close()
