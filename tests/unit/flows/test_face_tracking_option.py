"""`--face-tracking on|off` reaches IngestParams of ingest and retrain (unset: the default)."""

import pytest

from flows.cli import _on_off, build_parser


@pytest.mark.parametrize("job", ["ingest", "retrain"])
def test_face_tracking_option(job):
    parse = build_parser().parse_args
    assert _on_off(parse([job, "d", "--face-tracking", "off"]).face_tracking) is False
    assert _on_off(parse([job, "d", "--face-tracking", "on"]).face_tracking) is True
    assert _on_off(parse([job, "d"]).face_tracking) is None  # IngestParams keeps its default
    with pytest.raises(SystemExit):
        parse([job, "d", "--face-tracking", "maybe"])
