"""The scoring-cost benchmark's bookkeeping on real clips: every path sees the same sampled
faces, the neighbour paths really analyse the neighbour frames, and each ratio is taken
against the old path doing the same work (timings themselves are never asserted)."""

from __future__ import annotations

import pytest

from benchmarks.bench_cost import baseline, run_cost
from difffake_core.models.backbones import create_extractor
from difffake_core.runtime import create_runtime


def test_each_path_is_compared_with_the_old_path_doing_the_same_work():
    assert baseline("tracked") == baseline("tracked-int8") == "today"
    assert baseline("tracked+nb") == baseline("today+nb") == "today+nb"


@pytest.mark.shared
def test_run_cost_paths_find_the_same_faces_and_neighbours_cost_landmarker_calls(
    tmp_path, shared_dev, face_model
):
    clips = [str(p) for p in sorted((shared_dev / "real").glob("*.mp4"))[:2]]
    model = create_extractor("efficientnet_lite0", weights="default").eval()
    fp32 = create_runtime("onnx", model=model, onnx_path=tmp_path / "embed.onnx")
    runtimes = dict.fromkeys(("fp32-before", "fp32-spin", "fp32", "int8", "int8-1t"), fp32)
    lines: list[str] = []
    out = run_cost(clips, 6, model, runtimes, group=2, print_fn=lines.append)

    found = out["face_frames"]
    assert found["today"] > 0
    assert set(found.values()) == {found["today"]}, found  # sampled frames with a face
    passes = out["passes"]
    assert passes["today"].get("follow", 0) == 0 and passes["today+nb"].get("follow", 0) == 0
    # the old path detects on every decoded frame, neighbours included
    assert passes["today+nb"]["detect"] > passes["today"]["detect"]

    # the tracked path starts the landmarker from the anchor's faces on one neighbour of
    # each sampled frame with a usable face, and tracks the sampled frames as without them
    def starts(path: str) -> int:
        return passes[path]["follow"] + passes[path].get("lost", 0)

    assert starts("tracked+nb") == starts("tracked") + found["tracked"]
    assert passes["tracked+nb"]["detect"] == passes["tracked"]["detect"]
    assert all(t > 0 for t in out["total"].values())
    assert any(line.lstrip().startswith("tracked+nb") for line in lines)
