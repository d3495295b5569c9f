"""Where a job's per-video tasks run: threads, local processes, or a Dask / Ray cluster.

One factory, :func:`build_task_runner`, turns the job-wide settings (``runner``, ``workers``,
``address``) into a Prefect task runner; flows apply it to their fan-out subflow with
``flow.with_options(task_runner=...)`` (:func:`fan_out`), so the setting holds the same way
from the CLI, from Python and from a ``prefect.yaml`` deployment.

Worker processes (``processes``, ``dask``, ``ray``) keep their heavy resources (face model and
MediaPipe graphs, detector, embedding runtime) in per-process caches (``tasks.resources``,
``tasks.score``, ``tasks.runtime``): built once per worker process, not once per task.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from typing import Any

from difffake_core.errors import UsageError


class RunnerName(StrEnum):
    """Task runners a job can use (``--runner``)."""

    THREADS = "threads"  # one process, a thread pool (the default)
    PROCESSES = "processes"  # local worker processes (Prefect's ProcessPoolTaskRunner)
    DASK = "dask"  # prefect-dask: a local cluster of worker processes, or --address
    RAY = "ray"  # prefect-ray: a local Ray instance, or --address


DEFAULT_RUNNER = RunnerName.THREADS
DEFAULT_WORKERS = 2


def build_task_runner(
    runner: RunnerName | str = DEFAULT_RUNNER,
    workers: int = DEFAULT_WORKERS,
    address: str | None = None,
) -> Any:
    """The Prefect task runner for ``runner``.

    ``workers``: threads or worker processes of a runner this job starts itself (one thread
    per worker process, so one MediaPipe graph per process). ``address``: an existing
    cluster (Dask scheduler ``tcp://host:8786`` or Ray ``ray://host:10001``); ``workers`` is
    then the cluster's business.
    """
    try:
        runner = RunnerName(runner)
    except ValueError:
        valid = ", ".join(r.value for r in RunnerName)
        raise UsageError(f"unknown task runner {runner!r}; valid: {valid}") from None
    if workers < 1:
        raise UsageError(f"workers must be >= 1, got {workers}")
    if address and runner in (RunnerName.THREADS, RunnerName.PROCESSES):
        raise UsageError(f"--address {address!r} needs --runner dask or ray, got {runner}")
    if runner is RunnerName.THREADS:
        from prefect.task_runners import ThreadPoolTaskRunner

        return ThreadPoolTaskRunner(max_workers=workers)
    if runner is RunnerName.PROCESSES:
        from prefect.task_runners import ProcessPoolTaskRunner

        return ProcessPoolTaskRunner(max_workers=workers)
    if runner is RunnerName.DASK:
        from prefect_dask import DaskTaskRunner

        if address:
            return DaskTaskRunner(address=address)
        import dask

        # non-daemonic workers may start the per-video isolation process (tasks.resources)
        dask.config.set({"distributed.worker.daemon": False})
        return DaskTaskRunner(
            cluster_kwargs={
                "n_workers": workers,
                "processes": True,
                "threads_per_worker": 1,
                "dashboard_address": None,
            }
        )
    try:
        from prefect_ray import RayTaskRunner
    except ImportError as exc:
        raise UsageError(
            f"--runner ray needs the ray extra (pip install 'difffake[ray]'): {exc}"
        ) from exc
    if address:
        return RayTaskRunner(address=address)
    return RayTaskRunner(init_kwargs={"num_cpus": workers, "include_dashboard": False})


@contextmanager
def shared_api() -> Iterator[None]:
    """Let worker processes report to the same Prefect API as this process.

    Without ``PREFECT_API_URL`` Prefect runs an ephemeral API server per process, and each
    worker process would start its own. This starts (or reuses) this process's server and
    hands its URL to the workers through the settings and the environment they inherit.
    With a Prefect server or Cloud configured, nothing changes.
    """
    from prefect.settings import PREFECT_API_URL, temporary_settings

    if PREFECT_API_URL.value():
        yield
        return
    from prefect.server.api.server import SubprocessASGIServer

    server = SubprocessASGIServer()
    server.start()
    old = os.environ.get("PREFECT_API_URL")
    os.environ["PREFECT_API_URL"] = server.api_url
    try:
        with temporary_settings({PREFECT_API_URL: server.api_url}):
            yield
    finally:
        if old is None:
            os.environ.pop("PREFECT_API_URL", None)
        else:
            os.environ["PREFECT_API_URL"] = old


def fan_out(flow_obj: Any, options: Any) -> Any:
    """``flow_obj`` with the task runner of ``options`` (a :class:`flows.config.JobOptions`)."""
    return flow_obj.with_options(
        task_runner=build_task_runner(options.runner, options.workers, options.address)
    )


@contextmanager
def fan_out_context(options: Any) -> Iterator[None]:
    """Around a fan-out subflow: worker processes share this process's Prefect API."""
    if RunnerName(options.runner) is RunnerName.THREADS:
        yield
        return
    with shared_api():
        yield


def tasks_run_here() -> bool:
    """Whether the running flow's tasks run in this process (threads), so that the
    ``tasks.progress`` events they emit reach this process's listeners (the CLI's bar)."""
    from prefect.context import FlowRunContext
    from prefect.task_runners import ThreadPoolTaskRunner

    ctx = FlowRunContext.get()
    return ctx is None or isinstance(ctx.task_runner, ThreadPoolTaskRunner)


def report_progress(futures: list[Any]) -> None:
    """Under a worker-process runner, emit each per-video task's ``video_done`` event here as
    the task finishes (the event the task emitted stayed in its worker). Failed tasks are
    left to the caller, which raises them when it reads the results."""
    if tasks_run_here():
        return
    from prefect.futures import as_completed

    from tasks.progress import emit

    for future in as_completed(futures):
        row = future.result(raise_on_failure=False)
        if isinstance(row, dict):
            emit("video_done", **row)
