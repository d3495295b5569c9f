"""The random pieces of SBI: colour/quality shift, affine, elastic warp, two-stage blur."""

from __future__ import annotations

import numpy as np
import pytest

from difffake_core.pseudofakes import SBIConfig
from difffake_core.pseudofakes.transforms import (
    blur_mask,
    random_affine,
    shift_colour_and_quality,
    warp_mask,
)


def _square(size: int = 224, lo: int = 62, hi: int = 162) -> np.ndarray:
    mask = np.zeros((size, size), np.float32)
    mask[lo:hi, lo:hi] = 1.0
    return mask


def test_colour_and_quality_shift_changes_the_image_within_range(face):
    image, _ = face
    means = []
    for seed in range(20):
        out = shift_colour_and_quality(image, np.random.default_rng(seed), SBIConfig())
        assert out.shape == image.shape and out.dtype == np.uint8
        diff = np.abs(out.astype(np.int16) - image.astype(np.int16))
        assert diff.mean() > 0.5
        means.append(out.reshape(-1, 3).mean(axis=0) - image.reshape(-1, 3).mean(axis=0))
    # Shifts go both ways per channel, bounded by RGB +-20, brightness +-25.5 and HSV.
    means = np.array(means)
    assert (means.min(axis=0) < 0).all() and (means.max(axis=0) > 0).all()
    assert np.abs(means).max() < 70


def test_no_shift_settings_leave_only_the_quality_change(face):
    image, _ = face
    still = SBIConfig(
        p_rgb_shift=0.0,
        hue_shift_limit=0.0,
        sat_shift_limit=0.0,
        val_shift_limit=0.0,
        brightness_limit=0.0,
        contrast_limit=0.0,
        p_downscale=1.0,
        downscale_factor=(1.0, 1.0),
    )
    out = shift_colour_and_quality(image, np.random.default_rng(0), still)
    # Only the RGB -> HSV -> RGB round trip of OpenCV remains: a grey level or two.
    assert np.abs(out.astype(np.int16) - image.astype(np.int16)).mean() < 1.5


def test_affine_draws_stay_in_the_configured_ranges():
    cfg = SBIConfig()
    rng = np.random.default_rng(1)
    mats = np.array([random_affine((224, 224, 3), rng, cfg) for _ in range(500)])
    scales = mats[:, 0, 0]
    assert np.allclose(mats[:, 1, 1], scales) and np.allclose(mats[:, 0, 1], 0)
    assert scales.min() >= 0.95 and scales.max() <= 1.05 and np.ptp(scales) > 0.08
    centre = 223 / 2
    tx = mats[:, 0, 2] - (centre - scales * centre)
    ty = mats[:, 1, 2] - (centre - scales * centre)
    assert np.abs(tx).max() <= 0.03 * 224 and np.abs(tx).max() > 0.025 * 224
    assert np.abs(ty).max() <= 0.015 * 224 and np.abs(ty).max() > 0.012 * 224


def test_warp_without_motion_is_the_identity():
    cfg = SBIConfig(elastic_alpha=0.0)
    mask = _square()
    out = warp_mask(mask, np.array([[1.0, 0, 0], [0, 1.0, 0]]), np.random.default_rng(0), cfg)
    np.testing.assert_array_equal(out, mask)


def test_warp_translates_and_deforms_a_little():
    mask = _square()
    shift = np.array([[1.0, 0, 6.0], [0, 1.0, -3.0]])
    moved = warp_mask(mask, shift, np.random.default_rng(0), SBIConfig(elastic_alpha=0.0))
    np.testing.assert_array_equal(moved[59:159, 68:168], 1.0)
    assert moved.sum() == mask.sum()
    deformed = warp_mask(mask, shift, np.random.default_rng(0), SBIConfig())
    changed = np.count_nonzero(deformed != moved)
    assert 0 < changed < 0.05 * mask.sum()  # an uneven border, not a different shape


def test_two_stage_blur_erodes_then_softens():
    # Both kernels fixed at 25: erosion by 12 then a 25-wide blur reaches back to the edge.
    cfg = SBIConfig(blur_kernel=(25, 25), blur_sigma=(45.0, 45.0))
    out = blur_mask(_square(), np.random.default_rng(0), cfg)
    assert out.dtype == np.float32 and out.max() == pytest.approx(1.0)
    assert out[112, 112] == pytest.approx(1.0)
    assert np.count_nonzero(out[:62]) == 0 and np.count_nonzero(out[:, 162:]) == 0
    assert out[112, 62] < 0.1  # the edge of the region is faded, not cut
    assert 0.3 < out[112, 74] < 0.7  # halfway up the ramp, 12 px inside


def test_blur_keeps_thin_regions_and_empty_masks():
    thin = np.zeros((224, 224), np.float32)
    thin[100:106, 40:180] = 1.0
    out = blur_mask(thin, np.random.default_rng(0), SBIConfig())
    assert out[103, 110] > 0.9
    empty = blur_mask(np.zeros((64, 64), np.float32), np.random.default_rng(0), SBIConfig())
    assert not empty.any()


def test_small_blobs_stay_round_instead_of_collapsing_to_a_point():
    # A disc of radius 10 would erode to its centre pixel under a 25-wide first kernel and
    # come back as a 25x25 square; the inradius cap keeps a disc-shaped core.
    yy, xx = np.mgrid[:224, :224]
    disc = ((yy - 112) ** 2 + (xx - 112) ** 2 <= 100).astype(np.float32)
    cfg = SBIConfig(blur_kernel=(25, 25), blur_sigma=(45.0, 45.0))
    out = blur_mask(disc, np.random.default_rng(0), cfg)
    assert out[112, 112] == pytest.approx(1.0)
    assert out[123, 123] < 0.6 and out[101, 101] < 0.6  # corners of the would-be square
