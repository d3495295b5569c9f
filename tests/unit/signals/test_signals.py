"""Every registered signal: fits on synthetic reals, ranks a synthetic anomaly above them,
and round-trips through save/load bit-identically."""

import json

import numpy as np
import pytest

from difffake_core.errors import UnknownNameError
from difffake_core.signals import (
    DEFAULT_SIGNALS,
    SIGNALS,
    FaceSet,
    classifier_weights,
    create_signal,
    head_logits,
    load_signal,
    save_signal,
)

D = 24


def _template(rng):
    """A 68-point face in a unit box: jaw arc, brows, nose, eyes, mouth."""
    pts = np.zeros((68, 2))
    a = np.linspace(np.pi * 0.1, np.pi * 0.9, 17)
    pts[0:17] = np.c_[0.5 - 0.45 * np.cos(a), 0.45 + 0.5 * np.sin(a)]
    pts[17:27] = np.c_[np.linspace(0.15, 0.85, 10), np.full(10, 0.3)]
    pts[27:36] = np.c_[np.full(9, 0.5), np.linspace(0.35, 0.65, 9)]
    for start, cx in ((36, 0.32), (42, 0.68)):
        t = np.linspace(0, 2 * np.pi, 7)[:6]
        pts[start : start + 6] = np.c_[cx + 0.07 * np.cos(t), 0.4 + 0.03 * np.sin(t)]
    t = np.linspace(0, 2 * np.pi, 21)[:20]
    pts[48:68] = np.c_[0.5 + 0.15 * np.cos(t), 0.78 + 0.05 * np.sin(t)]
    return pts + rng.normal(scale=0.002, size=pts.shape)


def make_video(key, rng, fake=False, n=24, neighbours=True, fps=25.0):
    """One synthetic video, one track. A "fake" jitters frame to frame (embeddings, landmarks,
    and neighbours) and has a drifting logit; a real moves smoothly."""
    # reals: a shared face centre, a small identity offset, motion in 4 of the D dims only
    base = np.linspace(1.0, 2.0, D) + rng.normal(scale=0.1, size=D)
    frames = np.arange(n) * 10
    smooth = np.zeros((n, D))
    smooth[:, :4] = np.cumsum(rng.normal(scale=0.2, size=(n, 4)), axis=0)
    noise = 0.5 if fake else 0.0
    vec = base + smooth + rng.normal(scale=noise, size=(n, D))
    face = _template(rng) * 200
    t = frames / fps
    drift = np.c_[40 * np.sin(t), 20 * np.cos(t)]
    jitter = 8.0 if fake else 0.3
    lm = face[None] + drift[:, None] + rng.normal(scale=jitter, size=(n, 68, 2))
    logits = rng.normal(loc=2.0 if fake else -2.0, scale=0.5, size=n)
    # texture: per-crop features around a video-specific level; a fake's face is blurrier
    texture = rng.normal(scale=0.2, size=7) + rng.normal(scale=0.1, size=(n, 7))
    texture[:, 0] -= 1.5 if fake else 0.0
    rows = dict(frame=frames, anchor=frames, vec=vec, lm=lm, logit=logits, tex=texture)
    if neighbours:
        step = np.zeros_like(vec)
        step[:, :4] = rng.normal(scale=0.02, size=(n, 4))
        nb_vec = vec + step + rng.normal(scale=noise, size=vec.shape)
        nb_lm = face[None] + drift[:, None] + rng.normal(scale=jitter, size=lm.shape)
        rows = dict(
            frame=np.r_[frames, frames + 1], anchor=np.r_[frames, frames],
            vec=np.r_[vec, nb_vec], lm=np.r_[lm, nb_lm], logit=np.r_[logits, logits],
            tex=np.r_[texture, np.full_like(texture, np.nan)],  # neighbours: not measured
        )  # fmt: skip
    return FaceSet(
        key=key, frame_index=rows["frame"], track_id=np.zeros(len(rows["frame"])),
        anchor_frame=rows["anchor"], timestamp_s=rows["frame"] / fps,
        vectors=rows["vec"].astype(np.float32), logits=rows["logit"].astype(np.float32),
        landmarks=rows["lm"].astype(np.float32), fps=fps, texture=rows["tex"].astype(np.float32),
    )  # fmt: skip


@pytest.fixture(scope="module")
def corpus():
    rng = np.random.default_rng(7)
    reals = [make_video(f"r{i}", rng) for i in range(16)]
    held = [make_video(f"h{i}", rng) for i in range(6)]
    fakes = [make_video(f"f{i}", rng, fake=True) for i in range(6)]
    return reals, held, fakes


SMALL = {
    "pairs": {"anomaly_model": "diag_gmm", "anomaly_params": {"n_components": 1}},
    "adjacent_pairs": {"anomaly_model": "diag_gmm", "anomaly_params": {"n_components": 1}},
    "frame": {"anomaly_model": "diag_gmm", "anomaly_params": {"n_components": 1}},
    "sbi_head": {},
    "landmark_dynamics": {},
    "texture": {},
}


def test_registry_lists_the_default_signals_and_rejects_unknown_names():
    assert set(DEFAULT_SIGNALS) <= set(SIGNALS.names())
    assert set(SIGNALS.names()) == set(SMALL)  # every registered signal is tested below
    from typing import get_args

    from flows.retrain_detector import SignalName

    assert set(get_args(SignalName)) == set(SIGNALS.names())  # the config accepts each one
    with pytest.raises(UnknownNameError, match="landmark_dynamics"):
        create_signal("lip_reading")


@pytest.mark.parametrize("name", sorted(SMALL))
def test_signal_ranks_fakes_above_held_out_reals(name, corpus):
    reals, held, fakes = corpus
    sig = create_signal(name, **SMALL[name]).fit(reals)
    real_scores = [sig.score(v).raw for v in held]
    fake_scores = [sig.score(v).raw for v in fakes]
    assert np.all(np.isfinite(real_scores + fake_scores))
    assert min(fake_scores) > max(real_scores), (name, real_scores, fake_scores)
    out = sig.score(fakes[0])
    assert out.status == "ok" and out.worst_track == 0
    assert {"track_id", "frame_a", "frame_b", "loglik"} <= set(out.units.columns)


@pytest.mark.parametrize("name", sorted(SMALL))
def test_signal_round_trips_bit_identically(name, corpus, tmp_path):
    reals, held, fakes = corpus
    sig = create_signal(name, **SMALL[name]).fit(reals)
    save_signal(sig, tmp_path / "a")
    loaded = load_signal(tmp_path / "a")
    assert loaded.get_params() == sig.get_params()
    for v in held + fakes:
        a, b = sig.score(v), loaded.score(v)
        assert np.float64(a.raw).tobytes() == np.float64(b.raw).tobytes()
        assert np.array_equal(a.units["loglik"].to_numpy(), b.units["loglik"].to_numpy())
    save_signal(loaded, tmp_path / "b")
    for f in sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*.safetensors")):
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes()
    meta = json.loads((tmp_path / "a" / "signal.json").read_text())
    assert meta["name"] == name


def test_signals_needing_missing_inputs_report_it(corpus):
    reals, held, _ = corpus
    bare = FaceSet(key="x", frame_index=held[0].frame_index, track_id=held[0].track_id,
                   anchor_frame=held[0].anchor_frame)  # fmt: skip
    for name in ("pairs", "sbi_head", "landmark_dynamics", "texture"):
        sig = create_signal(name, **SMALL[name]).fit(reals)
        out = sig.score(bare)
        assert np.isnan(out.raw) and out.status == "missing_input"


def test_adjacent_pairs_needs_neighbour_rows(corpus):
    reals, _, _ = corpus
    rng = np.random.default_rng(3)
    sig = create_signal("adjacent_pairs", **SMALL["adjacent_pairs"]).fit(reals)
    out = sig.score(make_video("nn", rng, neighbours=False))
    assert out.status == "too_few_units" and np.isnan(out.raw)
    # pairs ignores neighbour rows: only sampled frames are paired
    pairs = create_signal("pairs", **SMALL["pairs"]).fit(reals)
    u = pairs.units(reals[0])
    assert set(u.frame_a) | set(u.frame_b) <= set(reals[0].frame_index[reals[0].is_sampled])


def test_landmark_features_do_not_depend_on_frame_rate_or_face_size():
    from difffake_core.signals.landmarks import track_features

    rng = np.random.default_rng(0)
    face = _template(rng) * 100
    t = np.linspace(0, 4, 20)

    def series(times, scale):
        drift = np.c_[30 * np.sin(times), 10 * times]
        return (face[None] + drift[:, None]) * scale

    slow = track_features(series(t, 1.0), t)
    fine = track_features(series(t, 3.0), t)  # 3x larger face, same motion in face units
    np.testing.assert_allclose(slow[:11], fine[:11], atol=1e-6)
    t2 = np.linspace(0, 4, 60)  # the same motion sampled 3x as often
    dense = track_features(series(t2, 1.0), t2)
    assert abs(dense[0] - slow[0]) < 0.1  # head speed per second, not per frame


def test_head_logits_match_the_classifier(tmp_path):
    from safetensors.numpy import save_file

    rng = np.random.default_rng(0)
    w, b = rng.normal(size=(2, D)).astype(np.float32), rng.normal(size=2).astype(np.float32)
    save_file({"backbone.classifier.weight": w, "backbone.classifier.bias": b,
               "backbone.conv.weight": rng.normal(size=(8, 3)).astype(np.float32)},
              str(tmp_path / "model.safetensors"))  # fmt: skip
    (tmp_path / "card.json").write_text(json.dumps({"embed_dim": D, "num_classes": 2}))
    W, B = classifier_weights(tmp_path)
    x = rng.normal(size=(5, D)).astype(np.float32)
    z = x.astype(np.float64) @ w.T.astype(np.float64) + b
    np.testing.assert_allclose(head_logits(x, W, B), z[:, 1] - z[:, 0], rtol=1e-5)


def test_texture_needs_enough_measured_crops_and_keeps_unmeasurable_features_neutral(corpus):
    reals, held, _ = corpus
    sig = create_signal("texture").fit(reals)
    v = held[0]
    few = v.texture.copy()
    few[v.is_sampled.nonzero()[0][3:]] = np.nan  # 3 measured crops < min_frames=4
    out = sig.score(FaceSet(v.key, v.frame_index, v.track_id, v.anchor_frame, texture=few))
    assert out.status == "too_few_units" and np.isnan(out.raw)
    gap = v.texture.copy()
    gap[:, 6] = np.nan  # e.g. no ring around a face that fills its crop
    u = sig.units(FaceSet(v.key, v.frame_index, v.track_id, v.anchor_frame, texture=gap))
    assert len(u) == 1 and np.isnan(u.X[0, 6]) and np.isfinite(u.X[0, :6]).all()
    filled = sig._prepare(u.X)
    assert filled[0, 6] == 0.0  # the real mean, after standardising
    with pytest.raises(ValueError, match="texture must have shape"):
        sig.units(FaceSet(v.key, v.frame_index, v.track_id, v.anchor_frame,
                          texture=v.texture[:, :3]))  # fmt: skip
