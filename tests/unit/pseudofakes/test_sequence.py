"""Drifting video-level pseudo-fakes: one draw per sequence, bounded smooth drift, seeds."""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np
import pytest

from difffake_core.pseudofakes import (
    SBIConfig,
    blend_sequence,
    draw_blend,
    draw_sequence,
    drift_blend,
    render_blend,
    self_blend,
)
from difffake_core.pseudofakes.transforms import pixel_scale

SHAPE = (224, 224, 3)


def _continuous(draw) -> dict[str, float]:
    c = draw.colour
    out = {"ratio": draw.blend_ratio, "tx": draw.affine[0], "ty": draw.affine[1],
           "s": draw.affine[2], "sigma": draw.blur[2], "gain": c.gain, "offset": c.offset,
           "factor": c.factor, "alpha": c.sharpen_alpha}  # fmt: skip
    out.update({f"rgb{i}": v for i, v in enumerate(c.rgb)})
    out.update({f"hsv{i}": v for i, v in enumerate(c.hsv)})
    return out


def _bounds(cfg: SBIConfig, shape) -> dict[str, tuple[float, float]]:
    px = pixel_scale(shape)
    b = cfg.brightness_limit * 255
    out = {"ratio": (min(cfg.blend_ratios), max(cfg.blend_ratios)),
           "tx": (-cfg.translate_x, cfg.translate_x), "ty": (-cfg.translate_y, cfg.translate_y),
           "s": cfg.scale, "sigma": (cfg.blur_sigma[0] * px, cfg.blur_sigma[1] * px),
           "gain": (1 - cfg.contrast_limit, 1 + cfg.contrast_limit), "offset": (-b, b)}  # fmt: skip
    out.update({f"rgb{i}": (-cfg.rgb_shift_limit, cfg.rgb_shift_limit) for i in range(3)})
    out.update({f"hsv{i}": (-1.0, 1.0) for i in range(3)})
    return out


def _discrete(draw):
    c = draw.colour
    return (draw.region, draw.variant, draw.shift_source, draw.blur[:2], c.rgb_on, c.downscale)


def test_render_of_a_draw_is_self_blend_byte_for_byte(face):
    image, landmarks = face
    for seed in range(8):
        a = self_blend(image, landmarks, np.random.default_rng(seed))
        b = render_blend(image, landmarks, draw_blend(image.shape, np.random.default_rng(seed)))
        assert np.array_equal(a.image, b.image) and np.array_equal(a.target, b.target)
        assert np.array_equal(a.mask, b.mask) and a.blend_ratio == b.blend_ratio


@pytest.mark.parametrize("amount", [0.05, 0.25, 1.0])
def test_drift_stays_in_bounds_moves_by_at_most_the_amount_and_keeps_discrete_settings(amount):
    cfg = SBIConfig()
    bounds = _bounds(cfg, SHAPE)
    moved = 0
    for seed in range(40):
        draws = draw_sequence(SHAPE, 6, np.random.default_rng(seed), amount, cfg)
        for prev, nxt in zip(draws, draws[1:], strict=False):
            assert _discrete(nxt) == _discrete(prev)
            p, n = _continuous(prev), _continuous(nxt)
            for key, (lo, hi) in bounds.items():
                assert lo - 1e-9 <= n[key] <= hi + 1e-9, (key, n[key], lo, hi)
                assert abs(n[key] - p[key]) <= amount * (hi - lo) + 1e-9, key
            if not prev.shift_source:  # the target (the real frame) keeps one look
                assert nxt.colour == prev.colour
            step = np.abs(nxt.elastic - prev.elastic)
            assert step.max() <= 2 * amount + 1e-6 and np.abs(nxt.elastic).max() <= 1.0
            moved += p["ratio"] != n["ratio"]
    assert moved > 100  # the ratio really drifts (not just a copy)


def test_zero_drift_repeats_the_draw_and_one_sequence_shares_its_discrete_draw(face):
    image, landmarks = face
    rng = np.random.default_rng(3)
    still = blend_sequence([image, image, image], [landmarks] * 3, rng, 0.0)
    assert all(np.array_equal(f.image, still[0].image) for f in still)
    moving = blend_sequence([image] * 4, [landmarks] * 4, np.random.default_rng(3), 0.3)
    assert len({(f.region, f.variant, f.shifted) for f in moving}) == 1
    assert any(not np.array_equal(f.image, moving[0].image) for f in moving[1:])


def test_different_sequences_differ_and_a_seed_reproduces_a_sequence(face):
    image, landmarks = face
    frames, lms = [image, cv2.flip(image, 1)], [landmarks, landmarks]
    lms[1] = landmarks.copy()
    lms[1][:, 0] = image.shape[1] - 1 - landmarks[:, 0]

    def run(seed):
        return blend_sequence(frames, lms, np.random.default_rng(seed), 0.25)

    a, b = run(7), run(7)
    assert all(np.array_equal(x.image, y.image) for x, y in zip(a, b, strict=True))
    firsts = [draw_blend(SHAPE, np.random.default_rng(s)) for s in range(12)]
    assert len({(d.blend_ratio, d.affine) for d in firsts}) == 12
    assert not np.array_equal(run(8)[0].image, a[0].image)


def test_drift_validation_and_shape_checks(face):
    image, landmarks = face
    draw = draw_blend(SHAPE, np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"drift amount must be in \[0, 1\]"):
        drift_blend(draw, SHAPE, np.random.default_rng(0), 1.5)
    small = cv2.resize(image, (112, 112))
    with pytest.raises(ValueError, match="elastic noise of shape"):
        render_blend(small, landmarks / 2, draw)
    with pytest.raises(ValueError, match="share one shape"):
        blend_sequence([image, small], [landmarks, landmarks / 2], np.random.default_rng(0), 0.1)
    with pytest.raises(ValueError, match="as many landmark sets"):
        blend_sequence([image], [], np.random.default_rng(0), 0.1)
    # a drifted draw still renders exactly like a fixed draw: the target is the real frame
    nxt = drift_blend(dataclasses.replace(draw, shift_source=False), SHAPE,
                      np.random.default_rng(1), 0.5)  # fmt: skip
    a = render_blend(image, landmarks, dataclasses.replace(draw, shift_source=False))
    b = render_blend(image, landmarks, nxt)
    assert np.array_equal(a.target, b.target) and not np.array_equal(a.image, b.image)
