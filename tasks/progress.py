"""In-process progress reporting from tasks to the CLI's progress bar (optional)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

_lock = threading.Lock()
_listeners: list[Callable[[str, dict[str, Any]], None]] = []


def subscribe(fn: Callable[[str, dict[str, Any]], None]) -> Callable[[], None]:
    """Register ``fn(event, payload)``; returns an unsubscribe function."""
    with _lock:
        _listeners.append(fn)

    def unsubscribe() -> None:
        with _lock:
            if fn in _listeners:
                _listeners.remove(fn)

    return unsubscribe


def emit(event: str, **payload: Any) -> None:
    with _lock:
        listeners = list(_listeners)
    for fn in listeners:
        fn(event, payload)
