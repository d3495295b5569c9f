"""The task-runner setting: one factory, the same choice in every config and on the CLI."""

import importlib.util

import pytest
from pydantic import ValidationError

from difffake_core.errors import UsageError
from flows.cli import build_parser
from flows.runners import RunnerName, build_task_runner


def test_threads_and_processes_get_the_worker_count():
    from prefect.task_runners import ProcessPoolTaskRunner, ThreadPoolTaskRunner

    threads = build_task_runner("threads", 3)
    assert isinstance(threads, ThreadPoolTaskRunner) and threads._max_workers == 3
    procs = build_task_runner("processes", 2)
    assert isinstance(procs, ProcessPoolTaskRunner) and procs._max_workers == 2


def test_dask_starts_a_local_cluster_of_single_thread_processes_or_joins_an_address():
    from prefect_dask import DaskTaskRunner

    local = build_task_runner("dask", 2)
    assert isinstance(local, DaskTaskRunner) and local.address is None
    assert local.cluster_kwargs["n_workers"] == 2
    assert local.cluster_kwargs["processes"] is True
    assert local.cluster_kwargs["threads_per_worker"] == 1
    remote = build_task_runner("dask", 2, "tcp://10.0.0.5:8786")
    assert remote.address == "tcp://10.0.0.5:8786" and not remote.cluster_kwargs
    assert remote.duplicate().address == remote.address  # Prefect copies runners per run


@pytest.mark.skipif(importlib.util.find_spec("prefect_ray") is None, reason="ray extra absent")
def test_ray_gets_the_cpu_count_or_the_address():
    local = build_task_runner("ray", 2)
    assert local.address is None and local.init_kwargs["num_cpus"] == 2
    assert build_task_runner("ray", 2, "ray://head:10001").address == "ray://head:10001"


def test_bad_runner_settings_are_user_errors_naming_the_choices():
    with pytest.raises(UsageError, match="threads, processes, dask, ray"):
        build_task_runner("spark")
    with pytest.raises(UsageError, match="needs --runner dask or ray"):
        build_task_runner("threads", 2, "tcp://x:8786")
    with pytest.raises(UsageError, match="workers must be >= 1"):
        build_task_runner("dask", 0)


def test_every_flow_config_takes_the_runner_and_validates_it_before_work():
    from flows.evaluate_detector import EvaluateConfig
    from flows.ingest_corpus import IngestConfig
    from flows.retrain_detector import RetrainConfig
    from flows.score_media_archive import ScoreConfig
    from flows.train_extractor import TrainExtractorConfig

    configs = [
        IngestConfig(root="d", runner="dask", workers=4),
        RetrainConfig(root="d", runner="dask", workers=4),
        ScoreConfig(source="d", runner="dask", workers=4),
        EvaluateConfig(source="d", runner="dask", workers=4),
        TrainExtractorConfig(corpus="c", runner="dask", workers=4),
    ]
    assert all(c.runner is RunnerName.DASK and c.workers == 4 for c in configs)
    assert ScoreConfig(source="d").runner is RunnerName.THREADS  # the default
    with pytest.raises(ValidationError, match="threads"):
        ScoreConfig(source="d", runner="spark")
    with pytest.raises(ValidationError, match="needs runner dask or ray"):
        IngestConfig(root="d", address="tcp://x:8786")


def test_retrain_and_evaluate_hand_the_runner_to_the_flows_they_call():
    from flows.evaluate_detector import EvaluateConfig
    from flows.ingest_corpus import IngestConfig
    from flows.retrain_detector import RetrainConfig
    from flows.score_media_archive import ScoreConfig

    retrain = RetrainConfig(root="d", runner="dask", address="tcp://h:8786")
    ingest = IngestConfig(**retrain.source_fields())
    assert (ingest.runner, ingest.address) == ("dask", "tcp://h:8786")
    evaluate = EvaluateConfig(source="d", runner="processes", workers=3)
    score = ScoreConfig(**evaluate.model_dump(include=set(ScoreConfig.model_fields)))
    assert (score.runner, score.workers) == ("processes", 3)


@pytest.mark.parametrize("job", ["ingest", "retrain", "score", "evaluate", "train-extractor"])
def test_every_job_takes_runner_workers_and_address_on_the_cli(job):
    args = build_parser().parse_args(
        [job, "d", "--runner", "dask", "--workers", "3", "--address", "tcp://h:8786"]
    )
    assert (args.runner, args.workers, args.address) == ("dask", 3, "tcp://h:8786")
    with pytest.raises(SystemExit):
        build_parser().parse_args([job, "d", "--runner", "spark"])
