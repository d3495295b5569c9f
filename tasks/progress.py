"""In-process progress reporting from tasks and flows to the CLI (optional).

Two kinds of event: per-video ones (``video_done``, ``total``) that advance the CLI's
progress bar, and ``message`` (:func:`report`): one line about a long stage (a benchmark
fold, an epoch of extractor training) that the CLI writes to stderr.

``print`` is no way to tell the user anything from inside a flow: flows run with
``log_prints=True``, which turns ``print`` into an INFO record of the run's logger, and the
console shows WARNING and above (``PREFECT_LOGGING_LEVEL``, :mod:`tasks._env`), so the line
would be lost.
"""

from __future__ import annotations

import logging
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


def report(text: str) -> None:
    """Tell whoever runs the job ``text``: a ``message`` event for the CLI, and an INFO
    record of the run's logger (a deployment's run page; the console shows it when
    ``PREFECT_LOGGING_LEVEL=INFO``), or of the ``difffake`` logger outside a run."""
    emit("message", text=text)
    try:
        from prefect.exceptions import MissingContextError
        from prefect.logging import get_run_logger

        logger: logging.Logger | logging.LoggerAdapter = get_run_logger()
    except (ImportError, MissingContextError):
        logger = logging.getLogger("difffake")
    logger.info(text)
