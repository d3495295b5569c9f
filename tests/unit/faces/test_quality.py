"""Unusable faces get a status instead of a bad crop; the video stays usable if enough remain."""

import dataclasses

import numpy as np
import pytest

from difffake_core.faces.analyzer import FaceAnalyzer, FaceObservation
from difffake_core.faces.quality import (
    QualityThresholds,
    face_status,
    is_collapsed,
    outside_fraction,
)
from difffake_core.ingest import IngestParams, process_video
from tests.support.media import astronaut, turn_face, write_video

HW = (480, 640)


def observation(box=(200, 100, 300, 220), score=0.9, yaw=0.0, pitch=0.0, det=None):
    box = np.array(box, np.float64)
    rng = np.random.default_rng(0)
    pts = rng.uniform(box[:2], box[2:], (68, 2)).astype(np.float32)
    pts[0], pts[1] = box[:2], box[2:]  # the mesh spans its box
    return FaceObservation(
        box=box,
        landmarks478=np.zeros((478, 3), np.float32),
        landmarks68=pts,
        score=score,
        yaw=yaw,
        pitch=pitch,
        roll=0.0,
        detection_box=box if det is None else np.array(det, np.float64),
    )


@pytest.mark.parametrize(
    "kwargs,status",
    [
        ({}, "ok"),
        ({"box": (200, 100, 220, 125)}, "face_too_small"),  # 25 px < 32 px
        ({"score": 0.3}, "low_confidence"),
        ({"det": (100, 0, 450, 400)}, "low_confidence"),  # mesh collapsed inside its box
        ({"box": (560, 100, 700, 220)}, "partial_face"),  # 57% outside the frame
        ({"yaw": 60.0}, "extreme_pose"),
        ({"yaw": -50.0}, "extreme_pose"),
        ({"pitch": 45.0}, "extreme_pose"),
        ({"yaw": 40.0, "pitch": -35.0}, "ok"),
        ({"yaw": float("nan")}, "ok"),  # unknown pose is not a reason to drop a face
    ],
)
def test_face_status(kwargs, status):
    assert face_status(observation(**kwargs), HW, QualityThresholds()) == status


def test_thresholds_are_settings():
    t = QualityThresholds(min_face_px=10, min_face_frac=0.3, max_abs_yaw=20)
    assert face_status(observation(), HW, t) == "face_too_small"  # 120 px < 0.3 * 480
    assert face_status(observation(yaw=25), HW, dataclasses.replace(t, min_face_frac=0)) == (
        "extreme_pose"
    )


def test_geometry_helpers():
    assert outside_fraction(np.array([0, 0, 10, 10.0]), (100, 100)) == 0
    assert outside_fraction(np.array([-10, 0, 10, 10.0]), (100, 100)) == pytest.approx(0.5)
    bad = observation()
    bad.landmarks68[3] = np.nan
    assert is_collapsed(bad) and not is_collapsed(observation())


# -- real faces turned away: statuses instead of crops ---------------------------------------
@pytest.fixture(scope="module")
def analyzer(face_model):
    with FaceAnalyzer(face_model) as a:
        yield a


@pytest.fixture(scope="module")
def turned_video(analyzer, tmp_path_factory):
    """Frames of the astronaut, frontal or re-rendered with her head turned (+-50 degrees)."""
    photo = astronaut()
    mesh = analyzer.analyze(photo)[0][0].landmarks478
    yaws = [0, 50, 5, -50, 0, 50, -5, -50]
    frames = [photo if y == 0 else turn_face(photo, mesh, y) for y in yaws]
    path = write_video(tmp_path_factory.mktemp("turned") / "turned.mp4", frames, crf=18)
    return path, yaws


def test_turned_heads_are_found_and_measured_as_turned(analyzer):
    photo = astronaut()
    mesh = analyzer.analyze(photo)[0][0].landmarks478
    front = analyzer.analyze(photo)[0][0].yaw
    right = analyzer.analyze(turn_face(photo, mesh, 50))[0][0].yaw
    left = analyzer.analyze(turn_face(photo, mesh, -50))[0][0].yaw
    # The landmarker sees the turn (and underestimates it: about 33 for a 50-degree render).
    assert abs(front) < 10 and right < -25 and left > 25


def test_extreme_pose_frames_get_a_status_and_no_crop(analyzer, turned_video):
    path, yaws = turned_video
    # The renders measure about 33 degrees (see above), so the limit is set below that.
    params = IngestParams(n_frames=len(yaws), crop_size=96, max_abs_yaw=25.0)
    vf = process_video(str(path), params, analyzer)
    assert vf.status == "ok"
    rows = sorted(vf.rows, key=lambda r: r.frame_index)
    assert [r.status for r in rows] == ["extreme_pose" if abs(y) > 25 else "ok" for y in yaws]
    for r in rows:
        assert bool(r.crop) == (r.status == "ok")
        assert r.face_box is not None and r.yaw is not None and r.track_id == 0
    assert vf.frames_with_face == 4


def test_video_without_a_usable_face_is_no_face(analyzer, turned_video):
    path, yaws = turned_video
    params = IngestParams(n_frames=len(yaws), max_abs_yaw=1.0, max_abs_pitch=1.0)
    vf = process_video(str(path), params, analyzer)
    assert vf.status == "no_face" and "extreme_pose" in vf.error
    assert vf.frames_with_face == 0 and all(not r.crop for r in vf.rows)
    params = IngestParams(n_frames=8, max_abs_yaw=25.0, min_usable_frames=5)
    fewer = process_video(str(path), params, analyzer)  # 4 usable frames
    assert fewer.status == "no_face" and "at least 5" in fewer.error


def test_faces_below_the_size_minimum_are_a_frame_status(analyzer, turned_video):
    path, _ = turned_video
    vf = process_video(str(path), IngestParams(n_frames=4, min_face_px=400), analyzer)
    assert vf.status == "no_face"
    assert all(r.status == "face_too_small" and r.track_id == -1 for r in vf.rows)
    assert all(0 < r.face_height_frac < 400 / 512 for r in vf.rows)


@pytest.mark.shared
def test_real_photos_are_not_over_rejected(analyzer, shared_dev):
    """Default thresholds keep ordinary portraits (skipped without ../shared)."""
    import csv

    import skimage.io

    from difffake_core.faces.quality import FACE_STATUSES

    images = shared_dev / "images"
    statuses = []
    with open(images / "manifest.csv") as f:
        rows = list(csv.DictReader(f))
    for row in rows:
        img = skimage.io.imread(images / row["path"])
        img = np.stack([img] * 3, -1) if img.ndim == 2 else img[..., :3]
        faces, _ = analyzer.analyze(np.ascontiguousarray(img.astype(np.uint8)))
        assert len(faces) <= 1, f"{row['path']}: {len(faces)} faces in a one-person photo"
        hw = img.shape[:2]
        statuses += [face_status(f, hw, IngestParams().quality()) for f in faces]
    assert set(statuses) <= set(FACE_STATUSES)
    assert statuses.count("ok") >= 0.9 * len(statuses) and len(statuses) >= 30
