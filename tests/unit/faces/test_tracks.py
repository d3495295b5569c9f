"""Identity tracks: several people, leaving and re-entering, never a mixed track."""

import numpy as np
import pytest

from difffake_core.faces.analyzer import FaceAnalyzer
from difffake_core.faces.tracks import (
    FaceTracker,
    Sighting,
    TrackParams,
    appearance_histogram,
    geometry_signature,
    link_tracks,
)
from difffake_core.ingest import IngestParams, process_video
from tests.support.media import (
    astronaut,
    grace_hopper,
    place_face,
    scene_background,
    write_video,
)


def sighting(cx: float, cy: float, h: float = 100.0, hist=None) -> Sighting:
    return Sighting(np.array([cx - 0.4 * h, cy - h / 2, cx + 0.4 * h, cy + h / 2]), hist)


def onehot(i: int, n: int = 8) -> np.ndarray:
    v = np.full(n, 0.02, np.float32)
    v[i] = 1.0
    return v / v.sum()


# -- the tracker alone (no model) ------------------------------------------------------------
def test_two_people_keep_their_tracks_and_ids_follow_first_appearance():
    frames = [[sighting(300 + 5 * t, 200), sighting(900 - 5 * t, 220, 90)] for t in range(6)]
    frames.insert(0, [sighting(300, 200)])  # the second person appears one frame later
    ids = link_tracks(frames)
    assert ids[0] == [0]
    assert all(f == [0, 1] for f in ids[1:])


def test_faces_of_one_frame_never_share_a_track():
    # Two faces at nearly the same place: the second cannot join the first one's track.
    ids = link_tracks([[sighting(300, 200)], [sighting(302, 200), sighting(310, 205)]])
    assert ids[1][0] == 0 and ids[1][1] == 1


def test_reentry_within_max_gap_keeps_the_track_later_starts_a_new_one():
    p = TrackParams(max_gap=2)
    a = sighting(500, 300)
    # Missing for 2 sampled frames (= max_gap), then back near where it left: same track.
    assert link_tracks([[a], [], [], [sighting(530, 300)]], p) == [[0], [], [], [0]]
    # Missing for 3 sampled frames: the track has ended, a new one starts.
    assert link_tracks([[a], [], [], [], [sighting(530, 300)]], p) == [[0], [], [], [], [1]]


def test_position_gate_widens_with_the_gap_but_not_without_limit():
    p = TrackParams(max_gap=3, max_shift=1.0)
    # 1.5 face heights away after one step: too far; after two steps (one missed): allowed.
    assert link_tracks([[sighting(500, 300)], [sighting(650, 300)]], p)[1] == [1]
    assert link_tracks([[sighting(500, 300)], [], [sighting(650, 300)]], p)[2] == [0]
    assert link_tracks([[sighting(500, 300)], [], [sighting(900, 300)]], p)[2] == [1]


def test_size_and_appearance_gates_split_rather_than_merge():
    assert link_tracks([[sighting(500, 300, 100)], [sighting(500, 300, 200)]])[1] == [1]
    frames = [[sighting(500, 300, hist=onehot(0))], [sighting(505, 300, hist=onehot(5))]]
    assert link_tracks(frames)[1] == [1]  # same place, different colours: another person


def test_appearance_decides_when_two_people_cross():
    red, blue = onehot(0), onehot(6)
    frames = []
    for t in range(9):  # they walk towards each other and swap sides
        x = 100.0 * t
        frames.append([sighting(200 + x, 300, hist=red), sighting(1000 - x, 300, hist=blue)])
    ids = link_tracks(frames, TrackParams(max_shift=1.2))
    assert all(f == [0, 1] for f in ids)


def test_assignment_is_deterministic_and_steps_must_increase():
    rng = np.random.default_rng(3)
    frames = [[sighting(*rng.uniform(100, 900, 2)) for _ in range(4)] for _ in range(8)]
    assert link_tracks(frames) == link_tracks(frames)
    tracker = FaceTracker()
    tracker.update(3, [])
    with pytest.raises(ValueError, match="increase"):
        tracker.update(3, [])


def test_geometry_signature_is_scale_free_and_histogram_sums_to_one():
    # A face-like layout: eyes level at y=0, features below, jaw ends wide apart.
    rng = np.random.default_rng(0)
    pts = rng.normal(0, 2, (68, 2))
    pts[36:42] += [-30, 0]
    pts[42:48] += [30, 0]
    pts[[0, 16]] += [[-60, 0], [60, 0]]
    pts[8] += [0, 110]
    pts[17:27] += [0, -20]
    pts[[30, 33]] += [[0, 40], [0, 48]]
    pts[[31, 35]] += [[-12, 45], [12, 45]]
    pts[48:60] += [0, 70]
    pts[[48, 54, 57]] += [[-25, 0], [25, 0], [0, 8]]
    t = np.radians(20)
    rot = np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])
    moved = pts @ rot.T * 3 + 7  # rolled, scaled, shifted: the same face
    np.testing.assert_allclose(geometry_signature(pts), geometry_signature(moved), atol=1e-4)
    # A head turn shrinks widths only: the vertical proportions stay.
    turned = geometry_signature(pts * [0.6, 1.0])
    np.testing.assert_allclose(turned[:5], geometry_signature(pts)[:5], atol=1e-4)
    other = pts.copy()
    other[48:60] += [0, 15]  # a longer face below the nose: another person
    assert np.abs(geometry_signature(other) - geometry_signature(pts)).max() > 0.1
    frame = np.random.default_rng(0).integers(0, 255, (100, 100, 3), dtype=np.uint8)
    h = appearance_histogram(frame, np.array([10, 10, 60, 60.0]))
    assert h.shape == (96,) and h.sum() == pytest.approx(1.0)
    assert appearance_histogram(frame, np.array([200, 200, 300, 300.0])).sum() == 0


# -- real faces, end to end through ingest ---------------------------------------------------
@pytest.fixture(scope="module")
def analyzer(face_model):
    with FaceAnalyzer(face_model) as a:
        yield a


@pytest.fixture(scope="module")
def people(analyzer):
    out = {}
    mirrored = np.ascontiguousarray(astronaut()[:, ::-1])
    for name, photo in (
        ("astronaut", astronaut()),
        ("grace", grace_hopper()),
        ("mirror", mirrored),
    ):
        faces, _ = analyzer.analyze(photo)
        out[name] = (photo, faces[0].box)
    return out


def render(people, plan, size=(960, 540)):
    """Frames of people moving over a real background. ``plan``: ``{name: [(x, y, h) | None]}``
    per frame. Returns the frames and, per frame, ``{name: expected face centre}``."""
    n = len(next(iter(plan.values())))
    frames, truth = [], []
    for t in range(n):
        frame = scene_background("coffee", size)
        where = {}
        for name, path in plan.items():
            if path[t] is None:
                continue
            x, y, h = path[t]
            photo, box = people[name]
            frame, expected = place_face(frame, photo, box, h, (x, y))
            where[name] = (expected[:2] + expected[2:]) / 2
        frames.append(frame)
        truth.append(where)
    return frames, truth


def ingest(tmp_path, analyzer, frames, **kw):
    path = write_video(tmp_path / "scene.mp4", frames, crf=18)
    params = IngestParams(n_frames=len(frames), crop_size=96, **kw)
    return process_video(str(path), params, analyzer)


def track_members(vf, truth):
    """``{track_id: {person names}}``, each face assigned to the nearest true face centre."""
    order = sorted({r.frame_index for r in vf.rows})
    members: dict[int, set[str]] = {}
    for r in vf.rows:
        if r.track_id < 0:
            continue
        centre = np.array(r.face_box[:2]) / 2 + np.array(r.face_box[2:]) / 2
        where = truth[order.index(r.frame_index)]
        name = min(where, key=lambda k: np.linalg.norm(where[k] - centre))
        assert np.linalg.norm(where[name] - centre) < 40, "a face where nobody stands"
        members.setdefault(r.track_id, set()).add(name)
    return members


@pytest.mark.parametrize("second", ["grace", "mirror"])
def test_two_people_in_one_shot_give_two_pure_tracks(tmp_path, analyzer, people, second):
    n = 10
    plan = {
        "astronaut": [(250 + 6 * t, 250 + 3 * t, 120) for t in range(n)],
        second: [(700 - 5 * t, 280, 100 if second == "grace" else 90) for t in range(n)],
    }
    frames, truth = render(people, plan)
    vf = ingest(tmp_path, analyzer, frames)
    assert vf.status == "ok" and vf.frames_with_face == n
    members = track_members(vf, truth)
    assert members == {0: {"astronaut"}, 1: {second}}  # the larger face appeared first
    ok = [r for r in vf.rows if r.status == "ok"]
    assert len(ok) == 2 * n and all(r.crop for r in ok)
    # Every pair formed inside a track is one person: no track holds two faces of a frame.
    for tid in (0, 1):
        frames_of = [r.frame_index for r in ok if r.track_id == tid]
        assert len(frames_of) == len(set(frames_of)) == n


def test_largest_only_still_splits_people_into_tracks(tmp_path, analyzer, people):
    # Two people of similar size; the larger one alternates: "largest" switches between them.
    n = 8
    plan = {
        "astronaut": [(250, 270, 110 if t % 2 else 90) for t in range(n)],
        "grace": [(700, 270, 90 if t % 2 else 110) for t in range(n)],
    }
    frames, truth = render(people, plan)
    vf = ingest(tmp_path, analyzer, frames, keep="largest")
    assert all(r.face_index == 0 for r in vf.rows)
    members = track_members(vf, truth)
    assert sorted(map(sorted, members.values())) == [["astronaut"], ["grace"]]


def test_leaving_and_reentering(tmp_path, analyzer, people):
    # Grace leaves for 2 sampled frames (<= max_gap 3): same track. Then for 5: a new track.
    present = [1, 1, 1, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 1, 1]
    plan = {
        "astronaut": [(250, 270, 110)] * len(present),
        "grace": [(700, 270, 100) if p else None for p in present],
    }
    frames, truth = render(people, plan)
    vf = ingest(tmp_path, analyzer, frames)
    members = track_members(vf, truth)
    assert members == {0: {"astronaut"}, 1: {"grace"}, 2: {"grace"}}
    order = sorted({r.frame_index for r in vf.rows})
    grace_tracks = [
        r.track_id for r in sorted(vf.rows, key=lambda r: r.frame_index) if r.track_id in (1, 2)
    ]
    steps = [order.index(r.frame_index) for r in vf.rows if r.track_id in (1, 2)]
    assert grace_tracks == [1] * 6 + [2] * 2
    assert sorted(steps) == [0, 1, 2, 5, 6, 7, 13, 14]
