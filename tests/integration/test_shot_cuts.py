"""Shot cuts on real footage: a cut to another person ends the track, a continuous shot does not.

Every test runs the real ingest twice, with the shot-cut gate off (the tracker before it) and on
(the defaults), so each one also shows that its input is one the gate has to act on (or leave
alone). The all-clips count is ``test_no_continuous_real_clip_fragments`` (slow) and
``python -m benchmarks.bench_tracks``.
"""

from pathlib import Path

import pytest

from benchmarks.bench_tracks import (
    clip_paths,
    count_tracks,
    gate_params,
    mixed_at_cut,
    usable_tracks,
)
from difffake_core.faces.analyzer import FaceAnalyzer
from difffake_core.ingest import process_video
from tests.support.media import join_clips

pytestmark = pytest.mark.shared


@pytest.fixture(scope="module")
def analyzer(face_model):
    with FaceAnalyzer(face_model) as a:
        yield a


def ingest(path, analyzer):
    return {mode: process_video(str(path), p, analyzer) for mode, p in gate_params().items()}


# Two people each, faces at about the same place in the frame: without the gate the tracker
# links the second person's face to the first one's track (asserted below).
CUT_PAIRS = [
    ("dfl_Liu_Lice_0_left", "dfl_Rob_Doe_0_left"),
    ("dfl_Bryan_Greynolds_1_left", "dfl_Tim_Norland_0_left"),
]


@pytest.mark.parametrize(("first", "second"), CUT_PAIRS)
def test_a_cut_between_two_real_clips_gives_two_tracks_split_at_the_cut(
    tmp_path, analyzer, shared_dev, first, second
):
    real = shared_dev / "real"
    path, cut = join_clips(real / f"{first}.mp4", real / f"{second}.mp4", tmp_path / "cut.mp4")
    vf = ingest(path, analyzer)
    assert mixed_at_cut(vf["off"], cut), "without the gate the two people share a track"
    assert vf["on"].status == "ok"
    tracks = usable_tracks(vf["on"])
    assert not mixed_at_cut(vf["on"], cut)
    assert len(tracks) == 2, tracks
    before, after = sorted(tracks.values(), key=min)
    assert max(before) < cut <= min(after)


# Continuous real shots that stress one cue each: a streamer under cycling RGB lights (colour
# of the whole frame and the face changes), a handheld phone (the picture jumps), a webcam
# with fast head turns and motion blur (the face changes).
CONTINUOUS = [
    ("dev", "dfl_Rob_Doe_0_left"),
    ("dev", "dfl_Dean_Wiesel_0_left"),
    ("dev2", "webcam_clm_video14"),
]


@pytest.mark.parametrize(("corpus", "name"), CONTINUOUS)
def test_a_continuous_real_shot_keeps_its_tracks(request, analyzer, corpus, name):
    root = request.getfixturevalue("shared_dev" if corpus == "dev" else "shared_dev2")
    vf = ingest(root / "real" / f"{name}.mp4", analyzer)
    off, on = (len(usable_tracks(vf[m])) for m in ("off", "on"))
    assert on == off, (off, on)
    assert on <= 2


def test_the_sitcom_cuts_to_another_person_are_split(analyzer, shared_dev2):
    # Broadcast sitcom (dev2 manifest: shot cuts every ~2 s between several people). Two cuts
    # put another face where the last one was, read off the clip's frames: the young woman
    # -> the boy (between source frames 111 and 117), the boy and the older woman -> the
    # father (179 -> 185). No track may hold faces on both sides of either.
    vf = ingest(shared_dev2 / "real" / "tv_sitcom_simplefr_video2.mp4", analyzer)
    for cut in (114, 182):
        assert mixed_at_cut(vf["off"], cut)  # the bug
        assert not mixed_at_cut(vf["on"], cut)


@pytest.mark.slow
def test_no_continuous_real_clip_fragments(analyzer, shared_dev, shared_dev2):
    """All 20 dev reals and all dev2 reals but the sitcom (it has cuts): the gate adds no
    track on dev and at most 3 on any dev2 clip, 3 in all (measured: lipreading LRS2 00009,
    a face-filling crop with head turns to profile, 1 -> 4)."""
    paths = [
        p
        for p in clip_paths([shared_dev / "real", shared_dev2 / "real"])
        if p.stem != "tv_sitcom_simplefr_video2"
    ]
    rows = count_tracks(paths, analyzer)
    growth = {r.name: r.tracks["on"] - r.tracks["off"] for r in rows}
    dev = {n for n in growth if Path(n).stem.startswith("dfl_")}
    assert all(growth[n] <= 0 for n in dev), growth
    assert max(growth.values()) <= 3 and sum(max(g, 0) for g in growth.values()) <= 3, growth
    rob = next(r for r in rows if r.name == "dfl_Rob_Doe_0_left")
    assert rob.tracks["on"] <= 2
