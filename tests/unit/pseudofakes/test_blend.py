"""self_blend: exactness outside the mask, reproducibility, region geometry, validation."""

from __future__ import annotations

import random

import cv2
import numpy as np
import pytest

from difffake_core.errors import UnknownNameError
from difffake_core.pseudofakes import MaskRegion, PseudoFake, SBIConfig, blend_images, self_blend
from tests.unit.pseudofakes.conftest import (
    FORBIDDEN_POINTS,
    OWN_POINTS,
    region_centres,
    still_config,
    window_values,
)

SEEDS = range(24)


def _blend(face, seed, config=None) -> PseudoFake:
    image, landmarks = face
    return self_blend(image, landmarks, np.random.default_rng(seed), config)


@pytest.mark.parametrize("size", [(224, 224), (160, 200), (300, 256)])
def test_output_types_shapes_and_ranges(face, size):
    h, w = size
    image, landmarks = face
    resized = cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA)
    lms = landmarks * np.float32([w / 224, h / 224])
    for seed in range(6):
        fake = self_blend(resized, lms, np.random.default_rng(seed))
        assert fake.image.shape == (h, w, 3) and fake.image.dtype == np.uint8
        assert fake.target.shape == (h, w, 3) and fake.target.dtype == np.uint8
        assert fake.mask.shape == (h, w) and fake.mask.dtype == np.float32
        assert np.isfinite(fake.mask).all()
        assert fake.mask.min() >= 0.0 and fake.mask.max() == pytest.approx(1.0)
        assert fake.blend_ratio in (0.25, 0.5, 0.75, 1.0)
        assert fake.shifted in ("source", "target")


def test_pixels_outside_the_mask_equal_the_target_exactly(face):
    image, _ = face
    sides = set()
    for seed in SEEDS:
        fake = _blend(face, seed)
        outside = fake.mask == 0
        assert outside.any()
        np.testing.assert_array_equal(fake.image[outside], fake.target[outside])
        # The unshifted copy is the input itself; the shifted one is not.
        assert np.array_equal(fake.target, image) == (fake.shifted == "source")
        sides.add(fake.shifted)
    assert sides == {"source", "target"}


def test_blended_image_differs_from_the_real_inside_the_mask(face):
    for seed in SEEDS:
        fake = _blend(face, seed)
        inside = fake.mask * fake.blend_ratio > 0.2
        diff = np.abs(fake.image.astype(np.int16) - fake.target.astype(np.int16))
        assert diff[inside].mean() > 1.0, (seed, fake.region, fake.blend_ratio)


def test_same_seed_gives_the_same_bytes_and_other_seeds_differ(face):
    a, b, c = _blend(face, 123), _blend(face, 123), _blend(face, 124)
    assert a.image.tobytes() == b.image.tobytes()
    assert a.mask.tobytes() == b.mask.tobytes()
    assert (a.region, a.variant, a.blend_ratio, a.shifted) == (
        b.region,
        b.variant,
        b.blend_ratio,
        b.shifted,
    )
    assert a.image.tobytes() != c.image.tobytes()


def test_global_random_state_is_neither_used_nor_changed(face):
    np.random.seed(0)
    random.seed(0)
    legacy, stdlib = np.random.get_state(), random.getstate()
    first = _blend(face, 5)
    after = np.random.get_state()
    assert random.getstate() == stdlib
    assert all(np.array_equal(x, y) for x, y in zip(legacy, after, strict=True))
    np.random.seed(99)  # a different global seed must not change the result
    assert _blend(face, 5).image.tobytes() == first.image.tobytes()


@pytest.mark.parametrize("region", list(MaskRegion))
def test_final_mask_covers_its_region_and_avoids_the_others(face, region):
    _, landmarks = face
    centres = region_centres(landmarks, region)
    forbidden = landmarks[FORBIDDEN_POINTS[region]]
    own = landmarks[OWN_POINTS[region]]
    for seed in range(16):
        # Without the affine shift: deep points well inside, other regions untouched.
        fake = _blend(face, seed, still_config(region))
        assert fake.region is region
        assert window_values(fake.mask, centres, radius=0).min() > 0.3, (seed, fake.variant)
        assert (window_values(fake.mask, own, radius=0) > 0).mean() > 0.5, (seed, fake.variant)
        if len(forbidden):
            assert (window_values(fake.mask, forbidden, radius=0) == 0).all()
        # With the default affine and elastic motion, only a small leak is tolerated.
        moved = _blend(face, seed, SBIConfig(region_weights={region: 1.0}))
        assert np.median(window_values(moved.mask, centres, radius=0)) > 0.3
        if len(forbidden):
            assert window_values(moved.mask, forbidden, radius=0).max() < 0.05


def test_variants_can_be_restricted_by_config(face):
    config = SBIConfig(region_weights={"eyes": 1}, variants={"eyes": ("eye_pair",)})
    assert {_blend(face, s, config).variant for s in range(8)} == {"eye_pair"}


def test_blend_images_weights_source_and_target():
    rng = np.random.default_rng(0)
    source = rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)
    target = rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)
    mask = np.zeros((16, 16), np.float32)
    mask[4:12, 4:12] = 1.0
    mask[6, 6] = 0.5
    out = blend_images(source, target, mask, 1.0)
    np.testing.assert_array_equal(out[mask == 1], source[mask == 1])
    np.testing.assert_array_equal(out[mask == 0], target[mask == 0])
    expected = np.rint((source[6, 6].astype(np.float32) + target[6, 6]) / 2)
    assert np.abs(out[6, 6] - expected).max() <= 1
    half = blend_images(source, target, mask, 0.5)
    expected = np.rint((source[8, 8].astype(np.float32) + target[8, 8]) / 2)
    assert np.abs(half[8, 8] - expected).max() <= 1
    assert np.array_equal(blend_images(source, target, np.zeros_like(mask), 1.0), target)


def test_landmarks_outside_the_crop_raise(face):
    image, landmarks = face
    with pytest.raises(ValueError, match="empty"):
        self_blend(image, landmarks + 1000, np.random.default_rng(0))


@pytest.mark.parametrize(
    ("image", "message"),
    [
        (np.zeros((64, 64, 3), np.float32), "uint8"),
        (np.zeros((64, 64), np.uint8), r"\(H, W, 3\).*got \(64, 64\)"),
        (np.zeros((64, 64, 4), np.uint8), r"got \(64, 64, 4\)"),
    ],
)
def test_bad_images_are_reported(face, image, message):
    with pytest.raises(ValueError, match=message):
        self_blend(image, face[1], np.random.default_rng(0))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"region_weights": {"eyes": -1.0}}, "region_weights"),
        ({"region_weights": {"eyes": 0.0, "mouth": 0.0}}, "all be zero"),
        ({"region_weights": {"nose": 1.0}}, "valid regions"),
        ({"blend_ratios": (0.5, 1.5)}, "blend_ratios"),
        ({"blend_ratios": ()}, "blend_ratios"),
        ({"scale": (1.1, 0.9)}, "scale"),
        ({"p_shift_source": 1.5}, "p_shift_source"),
    ],
)
def test_bad_config_is_reported(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SBIConfig(**kwargs)


def test_unknown_variant_in_config_lists_valid_names():
    with pytest.raises(UnknownNameError, match="components"):
        SBIConfig(variants={"full_face": ("convex",)})


def test_config_is_hashable_and_normalises_weights():
    config = SBIConfig(region_weights={"eyes": 2.0, MaskRegion.MOUTH: 6.0})
    assert hash(config) == hash(SBIConfig(region_weights={"eyes": 2.0, "mouth": 6.0}))
    assert config.region_probabilities == {MaskRegion.EYES: 0.25, MaskRegion.MOUTH: 0.75}


def test_blend_images_rejects_mismatched_shapes():
    image = np.zeros((8, 8, 3), np.uint8)
    with pytest.raises(ValueError, match=r"mask \(8, 9\)"):
        blend_images(image, image, np.zeros((8, 9), np.float32), 1.0)
