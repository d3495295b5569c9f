"""Stage messages reach the user: ``report`` lines from inside a flow are written by the CLI,
where a ``print`` there would become a log record the console hides."""

from __future__ import annotations

import io
import logging
import os

from flows.cli import stage_messages
from tasks import _env  # noqa: F401  (the CLI's Prefect defaults)
from tasks.progress import report, subscribe
from tasks.train import EpochReport


def test_report_emits_a_message_and_logs_it_outside_a_run(caplog):
    got: list[tuple[str, dict]] = []
    unsubscribe = subscribe(lambda kind, payload: got.append((kind, payload)))
    try:
        with caplog.at_level(logging.INFO, logger="difffake"):
            report("fold 1/3: training")
    finally:
        unsubscribe()
    assert got == [("message", {"text": "fold 1/3: training"})]
    assert [r.getMessage() for r in caplog.records if r.name == "difffake"] == [
        "fold 1/3: training"
    ]


def test_epoch_report_reports_epochs_only():
    from difffake_core.training import TrainEvent

    lines: list[str] = []
    unsubscribe = subscribe(lambda kind, p: lines.append(p["text"]) if kind == "message" else None)
    try:
        progress = EpochReport("dev.extractor")
        progress(TrainEvent("step", 0, 4, 3, 10, loss=0.7))
        progress(TrainEvent("epoch", 0, 4, 9, 10, loss=0.61234, val_auc=0.83456, lr=0.02))
        progress(TrainEvent("end", 0, 4))
    finally:
        unsubscribe()
    assert len(lines) == 1
    assert lines[0].startswith("dev.extractor: epoch 1/4  loss 0.6123  val AUC 0.8346  (")


def test_a_report_inside_a_flow_reaches_the_cli_stream_where_print_does_not(capfd):
    from prefect import flow, task

    @task
    def stage() -> None:
        print("PRINTED-IN-TASK")
        report("REPORTED-IN-TASK")

    @flow(log_prints=True)
    def job() -> None:
        print("PRINTED-IN-FLOW")
        stage()
        report("REPORTED-IN-FLOW")

    stream = io.StringIO()
    with stage_messages(stream):
        job()
    assert stream.getvalue().splitlines() == ["REPORTED-IN-TASK", "REPORTED-IN-FLOW"]
    # the reason report exists: print under log_prints goes to a log record, below the
    # console's WARNING level
    if os.environ.get("PREFECT_LOGGING_LEVEL") == "WARNING":
        captured = capfd.readouterr()
        assert "PRINTED-IN" not in captured.out + captured.err
