"""Shot-cut evidence: scene change and face texture, and the tracker's cut gate."""

import cv2
import numpy as np
import pytest

from difffake_core.faces.analyzer import FaceAnalyzer
from difffake_core.faces.shots import (
    TEXTURE_BINS,
    TEXTURE_GRID,
    face_texture,
    scene_change,
    scene_signature,
    texture_distance,
)
from difffake_core.faces.tracks import FaceTracker, Sighting, TrackParams, link_tracks
from tests.support.media import astronaut, faceless, grace_hopper, scene_background


# -- the whole frame -------------------------------------------------------------------------
def test_scene_change_ignores_light_and_shifts_but_sees_another_picture():
    room = scene_background("coffee", (640, 360))
    sig = scene_signature(room)
    assert sig.shape == (36, 64) and sig.dtype == np.float32
    assert scene_change(sig, sig) == pytest.approx(0.0, abs=1e-6)
    # Dimmer and tinted (a streamer's coloured lights): the grey structure stays.
    tinted = np.clip(room * np.array([0.5, 0.7, 1.1]) + 10, 0, 255).astype(np.uint8)
    assert scene_change(sig, scene_signature(tinted)) < 0.05
    # A pan by 12% of the width: phase correlation finds the shift.
    m = np.float32([[1, 0, 0.12 * 640], [0, 1, 0.05 * 360]])
    panned = cv2.warpAffine(room, m, (640, 360), borderMode=cv2.BORDER_REFLECT)
    unshifted = 1 - np.corrcoef(sig.ravel(), scene_signature(panned).ravel())[0, 1]
    assert scene_change(sig, scene_signature(panned)) < min(0.15, unshifted / 2)
    # Another picture altogether: a cut.
    other = cv2.resize(astronaut(), (640, 360))
    assert scene_change(sig, scene_signature(other)) > 0.6
    # A flat (black) frame carries no evidence either way.
    black = np.zeros_like(room)
    assert scene_change(sig, scene_signature(black)) == 0.0


# -- the face --------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def faces(face_model):
    """Landmarks of real faces: the astronaut, the same photo scaled and lit differently, and
    Grace Hopper."""
    out = {}
    photo = astronaut()
    small = cv2.resize(photo, (300, 300), interpolation=cv2.INTER_AREA)
    dim = np.clip(photo.astype(np.float32) * 0.6 + 20, 0, 255).astype(np.uint8)
    with FaceAnalyzer(face_model) as analyzer:
        for name, image in (("astronaut", photo), ("small", small), ("dim", dim),
                            ("grace", grace_hopper())):  # fmt: skip
            found, _ = analyzer.analyze(image)
            out[name] = (image, found[0].landmarks68)
    return out


def test_face_texture_is_one_face_under_scale_and_light_and_tells_two_people_apart(faces):
    tex = {k: face_texture(img, lm) for k, (img, lm) in faces.items()}
    cells = tex["astronaut"].reshape(TEXTURE_GRID**2, TEXTURE_BINS)
    np.testing.assert_allclose(cells.sum(1), 1 / TEXTURE_GRID**2, rtol=1e-5)
    assert texture_distance(tex["astronaut"], tex["astronaut"]) == 0.0
    same = max(texture_distance(tex["astronaut"], tex[k]) for k in ("small", "dim"))
    other = texture_distance(tex["astronaut"], tex["grace"])
    assert same < TrackParams().cut_face_change < other
    assert 0.0 <= other <= 1.0


def test_face_texture_survives_landmarks_off_the_frame():
    frame = faceless()
    lm = np.tile([[5000.0, 5000.0]], (68, 1)) + np.random.default_rng(0).normal(0, 30, (68, 2))
    tex = face_texture(frame, lm)
    assert tex.shape == (TEXTURE_GRID**2 * TEXTURE_BINS,) and np.isfinite(tex).all()


# -- the tracker's gate (no model) ------------------------------------------------------------
def box(cx=500.0, cy=300.0, h=100.0):
    return np.array([cx - 0.4 * h, cy - h / 2, cx + 0.4 * h, cy + h / 2])


def texture(seed: int) -> np.ndarray:
    """A random texture histogram (cells summing to 1/16, like face_texture's)."""
    h = np.random.default_rng(seed).gamma(0.3, size=(16, 59)) + 1e-3
    return (h / h.sum(1, keepdims=True) / 16).astype(np.float32).reshape(-1)


def near(t: np.ndarray, seed: int, amount: float = 0.2) -> np.ndarray:
    """The same face a moment later: the texture mixed with a little of another."""
    return ((1 - amount) * t + amount * texture(seed)).astype(np.float32)


@pytest.fixture(scope="module")
def scenes():
    room = scene_signature(scene_background("coffee", (640, 360)))
    street = scene_signature(cv2.resize(astronaut(), (640, 360)))
    return room, street


def test_texture_helpers_span_the_gate():
    p = TrackParams()
    assert texture_distance(texture(1), near(texture(1), 9)) < p.cut_face_change
    assert texture_distance(texture(1), texture(2)) > p.cut_face_change


def test_a_cut_to_another_face_at_the_same_place_starts_a_new_track(scenes):
    room, street = scenes
    a, b = texture(1), texture(2)
    frames = [[Sighting(box(), texture=near(a, 10 + t))] for t in range(3)]
    frames += [[Sighting(box(505), texture=near(b, 20 + t))] for t in range(3)]
    cut = [room] * 3 + [street] * 3
    assert link_tracks(frames, scenes=cut) == [[0]] * 3 + [[1]] * 3
    # The same input without scenes, or with the gate off, is one (mixed) track.
    assert link_tracks(frames) == [[0]] * 6
    off = TrackParams(cut_scene_change=float("inf"))
    assert link_tracks(frames, off, scenes=cut) == [[0]] * 6


def test_one_cue_alone_never_splits(scenes):
    room, street = scenes
    a, b = texture(1), texture(2)
    same_face = [[Sighting(box(), texture=near(a, 10 + t))] for t in range(4)]
    # The picture changes (a pan, a light show) but the face stays: one track.
    assert link_tracks(same_face, scenes=[room, room, street, street]) == [[0]] * 4
    # The face changes (a head turn) but the picture does not: one track.
    turned = same_face[:2] + [[Sighting(box(), texture=near(b, 30 + t))] for t in range(2)]
    assert link_tracks(turned, scenes=[room] * 4) == [[0]] * 4


def test_the_gate_compares_with_the_tracks_recent_faces_and_its_last_frame(scenes):
    room, street = scenes
    a, b = texture(1), texture(2)
    # After a gap of one step the track's last frame (room) is compared with this one.
    frames = [[Sighting(box(), texture=a)], [], [Sighting(box(), texture=b)]]
    assert link_tracks(frames, scenes=[room, None, street]) == [[0], [], [1]]
    # A face like one of the last `texture_memory` faces (not only the last) continues.
    seq = [a, b, b, near(a, 5)]  # the track took on b without a cut, then a comes back
    frames = [[Sighting(box(), texture=t)] for t in seq]
    scene = [room, room, room, street]
    assert link_tracks(frames, TrackParams(texture_memory=3), scene)[3] == [0]
    assert link_tracks(frames, TrackParams(texture_memory=1), scene)[3] == [1]


def test_two_people_one_recut_keeps_the_other_track(scenes):
    room, street = scenes
    left, right, newcomer = texture(1), texture(2), texture(3)
    frames = [
        [Sighting(box(300), texture=left), Sighting(box(700), texture=right)],
        [Sighting(box(305), texture=near(left, 7)), Sighting(box(700), texture=newcomer)],
    ]
    tracker = FaceTracker()
    assert tracker.update(0, frames[0], room) == [0, 1]
    assert tracker.update(1, frames[1], street) == [0, 2]
    assert tracker.cut_splits >= 1


def test_track_params_reject_bad_cut_gates():
    with pytest.raises(ValueError, match="texture_memory"):
        TrackParams(texture_memory=0)
    with pytest.raises(ValueError, match="cut_scene_change"):
        TrackParams(cut_scene_change=-1.0)
    with pytest.raises(ValueError, match="cut_scene_change"):
        TrackParams(cut_face_change=float("nan"))
