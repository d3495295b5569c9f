"""Issue 9, case 12: Prefect's shutdown-time cancellations print no tracebacks."""

from __future__ import annotations

import asyncio
import logging

from tasks import _env  # noqa: F401  (installs the filter)


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_cancelled_worker_threads_log_no_traceback_but_real_errors_still_do():
    from prefect._internal.concurrency import logger  # what WorkerThread logs with
    from prefect._internal.concurrency.cancellation import CancelledError

    sink = _Collect()
    logger.addHandler(sink)
    try:
        for exc in (CancelledError(), asyncio.CancelledError()):
            try:
                raise exc
            except BaseException:
                logger.exception("%s was cancelled", "GlobalEventLoopThread")
        assert sink.records == []
        try:
            raise ValueError("a real failure")
        except ValueError:
            logger.exception("%s encountered exception", "GlobalEventLoopThread")
        assert [r.getMessage() for r in sink.records] == [
            "GlobalEventLoopThread encountered exception"
        ]
    finally:
        logger.removeHandler(sink)
