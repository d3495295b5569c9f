"""The CLI's shared options are declared once (a parent parser) and reach every job."""

import pytest

from flows.cli import build_parser


@pytest.mark.parametrize(
    "argv",
    [["ingest", "d"], ["retrain", "d"], ["score", "d"], ["evaluate", "d"],
     ["train-extractor", "d"], ["pseudo-fakes", "preview", "x.face_crops"]],
)  # fmt: skip
def test_every_job_takes_the_shared_catalog_option(argv):
    args = build_parser().parse_args([*argv, "--catalog", "/tmp/cat"])
    assert args.catalog == "/tmp/cat"


@pytest.mark.parametrize("job", ["ingest", "retrain", "score", "evaluate"])
def test_media_jobs_take_the_shared_face_model_and_adapter(job):
    args = build_parser().parse_args([job, "d", "--face-model", "m.task", "--adapter", "ffpp"])
    assert (args.face_model, args.adapter) == ("m.task", "ffpp")
    assert build_parser().parse_args([job, "d"]).adapter == "folder"
