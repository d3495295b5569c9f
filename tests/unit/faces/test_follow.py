"""Faces by tracking (IngestParams.face_tracking): the detector on key frames only, every
guarantee of detect-every-frame kept."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from difffake_core.faces.analyzer import FaceAnalyzer
from difffake_core.faces.change import changed_outside, thumbnail
from difffake_core.ingest import IngestParams, process_video
from tests.support.media import astronaut, grace_hopper, place_face, scene_background, write_video


@pytest.fixture(scope="module")
def analyzer(face_model):
    with FaceAnalyzer(face_model) as a:
        yield a


@pytest.fixture(scope="module")
def people(analyzer, shared_dev_photos):
    """Real face photos with their face boxes: two bundled ones and, when the shared photo
    set is present, two of its people."""
    out = []
    for photo in [astronaut(), grace_hopper(), *shared_dev_photos]:
        faces, _ = analyzer.analyze(photo)
        if faces:
            out.append((photo, faces[0].box))
    return out


@pytest.fixture(scope="module")
def shared_dev_photos() -> list[np.ndarray]:
    from tests.conftest import SHARED_DEV

    images = SHARED_DEV / "images"
    if not images.is_dir():
        return []
    manifest = (images / "manifest.csv").read_text().splitlines()[1:]
    picked, seen = [], set()
    for line in manifest:  # the first photo of two different people
        path, identity = line.split(",")[:2]
        if identity not in seen:
            seen.add(identity)
            bgr = cv2.imread(str(images / path))
            if bgr is not None:
                scale = 600 / max(bgr.shape[:2])
                small = cv2.resize(bgr, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
                picked.append(cv2.cvtColor(small, cv2.COLOR_BGR2RGB))
        if len(picked) == 2:
            break
    return picked


def scene(people, plan, n, size=(960, 540)):
    """``plan``: per person ``(index, height px, x, first step)``, drifting right slowly."""
    frames = []
    for t in range(n):
        frame = scene_background("coffee", size)
        for who, h, x, start in plan:
            if t >= start:
                frame = place_face(frame, *people[who], h, (x + 3 * t, size[1] // 2))[0]
        frames.append(frame)
    return frames


def first_steps(vf) -> dict[int, int]:
    """Track id -> the first sampled step with a usable face of that track."""
    order = sorted({r.frame_index for r in vf.sampled_rows})
    out: dict[int, int] = {}
    for r in vf.sampled_rows:
        if r.status == "ok":
            step = order.index(r.frame_index)
            out[r.track_id] = min(out.get(r.track_id, step), step)
    return out


def test_settings_round_trip_and_enter_the_fingerprint(face_model):
    from tasks.ingest import work_key

    on, off = IngestParams(), IngestParams(face_tracking=False)
    assert on.face_tracking and not off.face_tracking
    assert on.as_dict()["face_tracking"] is True and "redetect_every" in on.as_dict()
    back = IngestParams(**json.loads(json.dumps(off.as_dict())))
    assert back.face_tracking is False and back.redetect_every == off.redetect_every
    assert work_key(on, face_model) != work_key(off, face_model)
    assert work_key(on, face_model) != work_key(dataclasses.replace(on, redetect_every=3),
                                                 face_model)  # fmt: skip
    with pytest.raises(ValueError, match="redetect_every"):
        IngestParams(redetect_every=0)


def test_tracking_follows_and_the_old_path_detects_every_frame(tmp_path, analyzer, people):
    n = 12
    path = str(write_video(tmp_path / "one.mp4", scene(people, [(0, 150, 400, 0)], n), crf=18))
    tracked = process_video(path, IngestParams(n_frames=n), analyzer)
    every = process_video(path, IngestParams(n_frames=n, face_tracking=False), analyzer)
    assert every.face_passes == {"detect": n, "follow": 0, "lost": 0}
    assert tracked.face_passes["follow"] > 0
    assert tracked.face_passes["detect"] + tracked.face_passes["follow"] == n
    assert tracked.frames_with_face == every.frames_with_face == n
    # the same faces: boxes agree to a few pixels, track ids are the same
    for a, b in zip(tracked.rows, every.rows, strict=True):
        assert a.track_id == b.track_id == 0 and a.status == b.status == "ok"
        assert np.abs(np.subtract(a.face_box, b.face_box)).max() < 0.1 * (b.face_box[3] -
                                                                          b.face_box[1])  # fmt: skip


def test_a_face_entering_after_blank_frames_is_found_at_once(tmp_path, analyzer, people):
    n, enter = 10, 4
    for who in range(len(people)):
        frames = scene(people, [(who, 140, 300, enter)], n)
        path = write_video(tmp_path / f"enter{who}.mp4", frames, crf=18)
        vf = process_video(str(path), IngestParams(n_frames=n, crop_size=64), analyzer)
        assert vf.frames_with_face == n - enter, who
        assert first_steps(vf) == {0: enter}
        assert vf.face_passes["follow"] > 0  # followed once found


def test_a_second_person_entering_while_one_is_followed_is_found(tmp_path, analyzer, people):
    n, enter = 12, 5  # step 5 is not a scheduled key frame (redetect_every=8)
    frames = scene(people, [(0, 130, 220, 0), (1, 110, 720, enter)], n)
    path = write_video(tmp_path / "second.mp4", frames, crf=18)
    params = IngestParams(n_frames=n, crop_size=64)
    assert enter % params.redetect_every != 0
    vf = process_video(str(path), params, analyzer)
    assert first_steps(vf) == {0: 0, 1: enter}
    ok = [r for r in vf.sampled_rows if r.status == "ok"]
    assert len(ok) == n + (n - enter)
    assert vf.face_passes["follow"] > 0


def test_several_people_keep_separate_tracks_while_followed(tmp_path, analyzer, people):
    n = 12
    plan = [(i, 120 - 10 * i, 150 + 260 * i, 0) for i in range(min(3, len(people)))]
    frames = scene(people, plan, n)
    path = write_video(tmp_path / "group.mp4", frames, crf=18)
    vf = process_video(str(path), IngestParams(n_frames=n, crop_size=64), analyzer)
    assert vf.face_passes["follow"] >= n // 2
    ok = [r for r in vf.sampled_rows if r.status == "ok"]
    assert sorted({r.track_id for r in ok}) == list(range(len(plan)))
    for tid in range(len(plan)):
        rows = [r for r in ok if r.track_id == tid]
        assert len(rows) == len({r.frame_index for r in rows}) == n
        xs = [0.5 * (r.face_box[0] + r.face_box[2]) for r in rows]
        assert max(xs) - min(xs) < 80  # one person per track: no jump to a neighbour


def test_neighbour_rows_by_tracking_match_those_by_detection(media, analyzer):
    path = str(media["talking_head"])
    p = IngestParams(n_frames=6, neighbour_offsets=(1,))
    tracked = process_video(path, p, analyzer)
    every = process_video(path, dataclasses.replace(p, face_tracking=False), analyzer)
    key = [(r.frame_index, r.anchor_frame, r.track_id, r.status) for r in tracked.rows]
    assert key == [(r.frame_index, r.anchor_frame, r.track_id, r.status) for r in every.rows]
    neighbours = [r for r in tracked.rows if r.anchor_frame is not None]
    assert neighbours and tracked.face_passes["follow"] >= len(neighbours)  # from the anchor


def test_a_moving_camera_makes_every_frame_a_key_frame(media, analyzer):
    # the synthetic talking head pans and changes light: the whole picture changes
    vf = process_video(str(media["talking_head"]), IngestParams(n_frames=8), analyzer)
    assert vf.face_passes["detect"] == 8 and vf.frames_with_face == 8


def test_pixels_instead_of_encoded_crops(media, analyzer):
    from difffake_core.faces.crop import decode_crop

    path = str(media["talking_head"])
    enc = process_video(path, IngestParams(n_frames=4), analyzer)
    raw = process_video(path, IngestParams(n_frames=4), analyzer, encode=False)
    for a, b in zip(enc.rows, raw.rows, strict=True):
        assert b.crop == b"" and b.image.shape == (224, 224, 3) and a.image is None
        np.testing.assert_array_equal(decode_crop(a.crop), b.image)  # PNG is lossless


def test_change_trigger_ignores_the_followed_person_and_sees_a_newcomer():
    frame = scene_background("coffee", (960, 540))
    box = np.array([400.0, 150, 500, 270])
    moved = frame.copy()
    moved[280:540, 330:570] = 255 - moved[280:540, 330:570]  # the person's own body moves
    a, b = thumbnail(frame), thumbnail(moved)
    assert a.shape == (18, 32) and a.dtype == np.float32
    assert not changed_outside(a, a, [box], (540, 960))
    assert not changed_outside(a, b, [box], (540, 960))
    newcomer = frame.copy()
    newcomer[200:300, 800:880] = 0  # something appears far from the followed face
    assert changed_outside(a, thumbnail(newcomer), [box], (540, 960))
    assert changed_outside(a, thumbnail(frame[:270]), [box], (540, 960))  # other shape


@pytest.mark.shared
def test_tracking_keeps_the_faces_of_real_clips(shared_dev, analyzer):
    """Frames with a usable face, tracked against detect-every-frame, on real and fake clips
    (every 4th clip of each label: 10 clips x 16 frames)."""
    clips = sorted((shared_dev / "real").glob("*.mp4"))[::4]
    clips += sorted((shared_dev / "fake").glob("*.mp4"))[::4]
    found = {True: 0, False: 0}
    follows = 0
    for clip in clips:
        for tracking in (True, False):
            vf = process_video(str(clip), IngestParams(n_frames=16, face_tracking=tracking),
                               analyzer)  # fmt: skip
            assert vf.status == "ok", (Path(clip).name, vf.error)
            found[tracking] += vf.frames_with_face
            follows += vf.face_passes["follow"]
    assert follows > len(clips) * 16 // 2  # most frames were followed, not detected
    assert abs(found[True] - found[False]) <= max(2, 0.01 * found[False]), found
