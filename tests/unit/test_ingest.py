import numpy as np
import pytest

from difffake_core.faces.analyzer import FaceAnalyzer
from difffake_core.faces.crop import decode_crop
from difffake_core.ingest import IngestParams, process_video


@pytest.fixture(scope="module")
def analyzer(face_model):
    with FaceAnalyzer(face_model) as a:
        yield a


def test_talking_head_yields_a_crop_per_sampled_frame(media, analyzer):
    params = IngestParams(n_frames=10, crop_size=128)
    vf = process_video(str(media["talking_head"]), params, analyzer)
    assert vf.status == "ok" and vf.error is None and vf.backend == "decord"
    assert vf.frames_sampled == 10 and vf.frames_with_face == 10
    for row in vf.rows:
        img = decode_crop(row.crop)
        assert img.shape == (128, 128, 3)
        pts = np.asarray(row.landmarks).reshape(68, 2)
        assert pts.min() >= 0 and pts.max() <= 128  # the 1.3x box holds the whole face
        x0, y0, x1, y1 = row.bbox
        assert x1 - x0 == pytest.approx(y1 - y0)  # square
        assert row.faces_seen == 1 and 0.1 < row.face_height_frac < 0.9
        assert row.confidence > 0.5


def test_faceless_video_is_a_status_not_an_error(media, analyzer):
    vf = process_video(str(media["faceless"]), IngestParams(n_frames=6), analyzer)
    assert vf.status == "no_face" and "no face" in vf.error
    assert vf.frames_sampled == 6 and all(r.status == "no_face" for r in vf.rows)
    assert all(r.crop == b"" for r in vf.rows)


@pytest.mark.parametrize(
    "key,status",
    [
        ("empty_file", "empty_file"),
        ("corrupt_truncated", "corrupt"),
        ("corrupt_garbage", "corrupt"),
        ("not_a_video", "not_a_video"),
        ("audio_only", "not_a_video"),
        ("too_few_frames", "too_few_frames"),
    ],
)
def test_bad_files_become_statuses(media, analyzer, key, status):
    vf = process_video(str(media[key]), IngestParams(n_frames=8), analyzer)
    assert vf.status == status and vf.error and vf.rows == []


def test_size_limit_is_a_status(media, analyzer):
    vf = process_video(str(media["talking_head"]), IngestParams(max_bytes=10), analyzer)
    assert vf.status == "too_large" and "limit" in vf.error


def test_rows_carry_track_ids_and_faceless_rows_none(media, analyzer):
    vf = process_video(str(media["talking_head"]), IngestParams(n_frames=8), analyzer)
    assert IngestParams().keep == "all"  # several people per video is the default
    assert {r.track_id for r in vf.rows} == {0} and vf.track_ids == [0]
    faceless = process_video(str(media["faceless"]), IngestParams(n_frames=4), analyzer)
    assert all(r.track_id == -1 and r.face_index == -1 for r in faceless.rows)


def test_min_face_frac_and_px_drop_small_faces(tmp_path, analyzer):
    from tests.support.media import (
        astronaut,
        grace_hopper,
        place_face,
        scene_background,
        write_video,
    )

    photos = [(p, analyzer.analyze(p)[0][0].box) for p in (astronaut(), grace_hopper())]
    frames = []
    for t in range(4):
        frame = scene_background("coffee", (960, 540))
        frame, _ = place_face(frame, *photos[0], 200, (300 + 4 * t, 270))  # 37% of the height
        frame, _ = place_face(frame, *photos[1], 70, (750, 200))  # 13% of the height
        frames.append(frame)
    path = str(write_video(tmp_path / "two.mp4", frames, crf=18))
    both = process_video(path, IngestParams(n_frames=4, crop_size=64), analyzer)
    assert [r.face_index for r in both.rows] == [0, 1] * 4
    for r in both.rows:  # face_height_frac: mesh height / frame height
        assert r.face_height_frac == pytest.approx(
            200 / 540 if r.face_index == 0 else 70 / 540, rel=0.15
        )
    assert len({r.track_id for r in both.rows}) == 2
    for params in (
        IngestParams(n_frames=4, min_face_frac=0.2),
        IngestParams(n_frames=4, min_face_px=120),
    ):
        big = process_video(path, params, analyzer)
        assert len(big.rows) == 4 and all(r.face_height_frac > 0.2 for r in big.rows)


def test_neighbour_frames_are_decoded_in_the_same_pass_and_marked(media, analyzer):
    plain = process_video(str(media["talking_head"]), IngestParams(n_frames=6), analyzer)
    params = IngestParams(n_frames=6, neighbour_offsets=(1,))
    vf = process_video(str(media["talking_head"]), params, analyzer)
    assert vf.status == "ok" and vf.frames_sampled == plain.frames_sampled
    sampled = {r.frame_index: r for r in vf.rows if r.anchor_frame is None}
    nb = [r for r in vf.rows if r.anchor_frame is not None]
    # one neighbour row per usable sampled face, the last frame's too: its neighbour is the
    # frame before it, decoded before it
    usable = sorted(r.frame_index for r in sampled.values() if r.status == "ok")
    assert usable and sorted(r.anchor_frame for r in nb) == usable
    last = max(sampled)
    assert [r.frame_index for r in nb if r.anchor_frame == last] == [last - 1]
    for r in nb:
        anchor = sampled[r.anchor_frame]
        assert abs(r.frame_index - r.anchor_frame) == 1 and r.frame_index not in sampled
        assert r.track_id == anchor.track_id and r.status == "ok" and r.crop
    # the sampled rows are those of a run without neighbours
    assert [(r.frame_index, r.track_id) for r in vf.sampled_rows] == [
        (r.frame_index, r.track_id) for r in plain.rows
    ]
