"""Small and distant faces: the tiled detection pass on 1920x1080 scenes built from real photos.

Stated minimum (default settings: ``tiling="auto"``, ``tile_levels=2``): faces of a mesh height
of 40 px, 3.7% of a 1080-pixel frame height, are found at the right place in every trial of
the sweep below (astronaut and Grace Hopper photos, three real backgrounds, random positions;
measured 100% at 40 px, 78-100% at 36 px, 33-89% at 32 px).
"""

import numpy as np
import pytest

from difffake_core.faces.analyzer import FaceAnalyzer, box_iou, nms, tile_levels
from tests.support.media import astronaut, grace_hopper, place_face, scene_background

MIN_FACE_PX = 40  # the stated minimum at 1920x1080 (fraction: 40 / 1080 = 0.037)
FRAME = (1920, 1080)


@pytest.fixture(scope="module")
def analyzer(face_model):
    with FaceAnalyzer(face_model) as a:
        yield a


@pytest.fixture(scope="module")
def photos(analyzer):
    """Real face photos with their face boxes (the analyzer's own, on the photo)."""
    out = {}
    for name, photo in (("astronaut", astronaut()), ("grace_hopper", grace_hopper())):
        faces, _ = analyzer.analyze(photo)
        assert len(faces) == 1
        out[name] = (photo, faces[0].box)
    return out


def found_at(faces, expected: np.ndarray, face_h: float):
    """The face whose box centre is within a quarter face height of the expected centre."""
    centre = (expected[:2] + expected[2:]) / 2
    for f in faces:
        if np.abs((f.box[:2] + f.box[2:]) / 2 - centre).max() < 0.25 * face_h:
            return f
    return None


def trial(analyzer, photos, name, background, face_h, centre):
    photo, box = photos[name]
    frame, expected = place_face(scene_background(background, FRAME), photo, box, face_h, centre)
    faces, _ = analyzer.analyze(frame)
    return found_at(faces, expected, face_h), expected


# Positions spread over the frame, near its edges and corners too.
CASES = [
    ("astronaut", "coffee", MIN_FACE_PX, (300.0, 200.0)),
    ("grace_hopper", "rocket", MIN_FACE_PX, (1521.0, 880.0)),
    ("astronaut", "gravel", MIN_FACE_PX, (237.0, 440.0)),
    ("grace_hopper", "coffee", MIN_FACE_PX, (1010.0, 60.0)),
    ("astronaut", "rocket", 56, (1860.0, 1020.0)),
    ("grace_hopper", "gravel", 80, (700.0, 540.0)),
    ("astronaut", "coffee", 130, (1300.0, 300.0)),
    ("grace_hopper", "coffee", 220, (500.0, 700.0)),
    ("astronaut", "gravel", 360, (960.0, 540.0)),
]


@pytest.mark.parametrize("name,background,face_h,centre", CASES)
def test_faces_down_to_the_stated_minimum_are_found_in_place(
    analyzer, photos, name, background, face_h, centre
):
    face, expected = trial(analyzer, photos, name, background, face_h, centre)
    assert face is not None, f"{face_h} px face of {name} at {centre} not found"
    assert face.height == pytest.approx(face_h, rel=0.2)
    assert box_iou(face.box, expected)[0, 0] > 0.6
    # The 68 points lie on the face, not elsewhere in the frame.
    assert np.all(face.landmarks68 >= expected[:2] - 0.3 * face_h)
    assert np.all(face.landmarks68 <= expected[2:] + 0.3 * face_h)


def test_whole_frame_detector_alone_misses_them(face_model, photos):
    """The reason for tiling: without it, none of these faces is found."""
    with FaceAnalyzer(face_model, tiling="off") as plain:
        for name, background, face_h, centre in CASES[:6]:
            face, _ = trial(plain, photos, name, background, face_h, centre)
            assert face is None, f"{face_h} px face found without tiles"


def test_no_face_is_invented_on_real_backgrounds(analyzer):
    # Includes a cat and a rocket with a NASA logo, which the detector alone takes for faces.
    for name in ("coffee", "rocket", "gravel", "chelsea"):
        faces, seen = analyzer.analyze(scene_background(name, FRAME))
        assert faces == [] and seen == 0, name


@pytest.mark.slow
def test_minimum_size_sweep_finds_95_percent(analyzer, photos):
    rng = np.random.default_rng(7)
    hits = trials = 0
    for face_h in (MIN_FACE_PX, 44, 50):
        for name in photos:
            for background in ("coffee", "rocket", "gravel"):
                for _ in range(4):
                    centre = (
                        rng.uniform(face_h, FRAME[0] - face_h),
                        rng.uniform(face_h, FRAME[1] - face_h),
                    )
                    face, _ = trial(analyzer, photos, name, background, face_h, centre)
                    hits += face is not None
                    trials += 1
    assert hits >= 0.95 * trials, f"{hits}/{trials}"


# -- tile geometry (no model) ----------------------------------------------------------------
def test_tiles_cover_the_frame_with_overlap_at_every_level():
    levels = tile_levels((1080, 1920), levels=2, overlap=0.25)
    assert [side for side, _ in levels] == [1080, 540, 270]
    for side, origins in levels:
        cover = np.zeros((1080, 1920), int)
        xs = sorted({x for x, _ in origins})
        for x, y in origins:
            assert 0 <= x <= 1920 - side and 0 <= y <= 1080 - side
            cover[y : y + side, x : x + side] += 1
        assert cover.min() >= 1
        assert all(b - a <= 0.75 * side + 1 for a, b in zip(xs, xs[1:], strict=False))


def test_tile_levels_stop_at_the_detector_input_and_skip_square_frames():
    assert tile_levels((256, 480), levels=3)[-1][0] == 128  # 64-px tiles would add nothing
    assert [s for s, _ in tile_levels((512, 512), levels=1)] == [256]  # no short-side level
    assert tile_levels((100, 100), levels=2) == []
    with pytest.raises(ValueError, match="overlap"):
        tile_levels((1080, 1920), 2, overlap=1.0)


def test_nms_keeps_the_best_of_overlapping_boxes():
    a, b, c = np.array([0, 0, 10, 10.0]), np.array([1, 1, 11, 11.0]), np.array([50, 50, 60, 60.0])
    kept = nms([(a, 0.6), (b, 0.9), (c, 0.5)])
    assert [s for _, s in kept] == [0.9, 0.5]
    assert box_iou(a, c)[0, 0] == 0 and box_iou(a, a)[0, 0] == pytest.approx(1)


# -- cost control ----------------------------------------------------------------------------
def count_detector_calls(analyzer, monkeypatch) -> list[int]:
    calls = [0]
    detect = analyzer.detect

    def counting(frame):
        calls[0] += 1
        return detect(frame)

    monkeypatch.setattr(analyzer, "detect", counting)
    return calls


def test_auto_tiling_stops_once_a_large_face_is_found(analyzer, photos, monkeypatch):
    calls = count_detector_calls(analyzer, monkeypatch)
    photo, box = photos["astronaut"]
    close_up, _ = place_face(scene_background("coffee", FRAME), photo, box, 430, (960, 540))
    faces, _ = analyzer.analyze(close_up)
    assert len(faces) == 1 and calls[0] == 1 + 3  # whole frame + the 3 short-side tiles
    calls[0] = 0
    analyzer.analyze(scene_background("coffee", FRAME))  # nothing found: every level
    n_tiles = sum(len(origins) for _, origins in analyzer.levels((1080, 1920)))
    assert calls[0] == 1 + n_tiles == 1 + 3 + 15 + 50


def test_video_probes_the_finest_level_until_a_small_face_shows(
    tmp_path, analyzer, photos, monkeypatch
):
    from difffake_core.ingest import IngestParams, process_video
    from tests.support.media import write_video

    photo, box = photos["grace_hopper"]
    background = scene_background("coffee", FRAME)
    empty = [background] * 8
    small = [place_face(background, photo, box, 48, (500 + 10 * t, 400))[0] for t in range(8)]
    params = IngestParams(n_frames=8, crop_size=64)
    calls = count_detector_calls(analyzer, monkeypatch)
    vf = process_video(str(write_video(tmp_path / "empty.mp4", empty)), params, analyzer)
    assert vf.status == "no_face"
    assert calls[0] == 8 * (1 + 3 + 15) + 2 * 50  # the 50 finest tiles on steps 0 and 4 only
    vf = process_video(str(write_video(tmp_path / "small.mp4", small, crf=18)), params, analyzer)
    assert vf.frames_with_face == 8 and vf.track_ids == [0]  # found at step 0: full scans after
