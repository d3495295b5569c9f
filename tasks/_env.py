"""Defaults for running Prefect locally without a server: set before prefect is imported.

Users with a Prefect server or Cloud set ``PREFECT_API_URL`` and these are left alone.
"""

from __future__ import annotations

import asyncio
import logging
import os

os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
# The ephemeral API server takes ~10 s to start on a small machine; the default is too short.
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ.setdefault("GLOG_minloglevel", "2")  # MediaPipe's C++ info logs
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


class QuietCancellation(logging.Filter):
    """Drops records whose exception is a ``CancelledError``: Prefect cancels its worker
    threads and services on purpose when a run or the process ends, and logs each with a
    traceback ("... was cancelled", PrefectHQ/prefect#15033) although nothing failed."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, asyncio.CancelledError)


for _name in ("prefect._internal.concurrency", "prefect._internal", "prefect.events.clients"):
    logging.getLogger(_name).addFilter(QuietCancellation())
