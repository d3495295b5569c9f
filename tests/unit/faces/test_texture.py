"""Per-crop texture features: each moves when its region's texture is changed, not otherwise."""

import cv2
import numpy as np
import pytest

from difffake_core.faces.crop import encode_crop
from difffake_core.faces.texture import FEATURES, crop_texture, crop_textures
from tests.unit.training.faces_fixture import template68

S = 224


def face_landmarks(size=S, lo=0.25, hi=0.75):
    """The 68-point layout of :func:`template68` filling ``[lo, hi]`` of a ``size`` crop."""
    return (lo + (hi - lo) * template68()) * size


def textured(rng, size=S, level=128.0, amp=25.0):
    grey = level + rng.normal(scale=amp, size=(size, size))
    return np.repeat(np.clip(grey, 0, 255).astype(np.uint8)[..., None], 3, axis=2)


def mask_of(points, size=S):
    m = np.zeros((size, size), np.uint8)
    cv2.fillConvexPoly(m, cv2.convexHull(np.round(points).astype(np.int32)), 1)
    return m.astype(bool)


@pytest.fixture
def scene():
    rng = np.random.default_rng(0)
    lm = face_landmarks()
    return textured(rng), lm, mask_of(lm[np.r_[0:17, 26:16:-1]])


def test_uniform_texture_gives_ratios_near_zero(scene):
    image, lm, _ = scene
    f = crop_texture(image, lm)
    assert f.shape == (len(FEATURES),) and f.dtype == np.float32
    assert np.all(np.abs(f[:6]) < 0.15), dict(zip(FEATURES, f, strict=True))
    assert f[6] < 1.0  # grey everywhere: no chroma difference


def test_a_blurred_face_lowers_face_detail_and_noise_only_against_its_ring(scene):
    image, lm, face = scene
    blurred = image.copy()
    blurred[face] = cv2.GaussianBlur(image, (0, 0), 2.0)[face]
    base, f = crop_texture(image, lm), crop_texture(blurred, lm)
    assert f[0] < base[0] - 0.7  # detail_face_ring
    assert f[1] < base[1] - 0.7  # noise_face_ring
    assert abs(f[2] - base[2]) < 0.3  # mouth vs skin: both blurred alike


def test_a_regenerated_mouth_moves_the_mouth_features(scene):
    image, lm, _ = scene
    mouth = mask_of(lm[48:68])
    smooth = image.copy()
    smooth[mouth] = cv2.GaussianBlur(image, (0, 0), 2.5)[mouth]
    base, f = crop_texture(image, lm), crop_texture(smooth, lm)
    assert f[2] < base[2] - 0.5 and f[3] < base[3] - 0.5
    assert abs(f[0] - base[0]) < 0.3  # the face as a whole barely changes


def test_a_colour_shifted_face_raises_the_chroma_distance(scene):
    image, lm, face = scene
    tinted = image.astype(np.int16)
    tinted[face] += np.array([30, -10, -20], np.int16)
    tinted = np.clip(tinted, 0, 255).astype(np.uint8)
    assert crop_texture(tinted, lm)[6] > crop_texture(image, lm)[6] + 5.0


def test_features_are_measured_at_one_size_whatever_the_crop_size(scene):
    image, lm, _ = scene
    big = cv2.resize(image, (2 * S, 2 * S), interpolation=cv2.INTER_NEAREST)
    np.testing.assert_allclose(crop_texture(big, lm * 2), crop_texture(image, lm), atol=0.1)


def test_a_face_filling_the_crop_has_no_ring_and_gives_nan_not_an_error():
    rng = np.random.default_rng(1)
    lm = face_landmarks(lo=-0.8, hi=1.8)  # the hull covers the whole crop
    f = crop_texture(textured(rng), lm)
    assert np.isnan(f[0]) and np.isnan(f[1]) and np.isnan(f[6])


def test_crop_textures_decodes_bytes_and_skips_unmeasured_rows(scene):
    image, lm, _ = scene
    crops = [encode_crop(image, "png"), image, image]
    out = crop_textures(crops, np.stack([lm] * 3).reshape(3, 136),
                        measure=np.array([True, True, False]))  # fmt: skip
    assert out.shape == (3, len(FEATURES))
    np.testing.assert_array_equal(out[0], out[1])  # PNG is lossless: same pixels, same features
    assert np.isnan(out[2]).all()
    with pytest.raises(ValueError, match="uint8"):
        crop_texture(image.astype(np.float32), lm)
    with pytest.raises(ValueError, match="landmark rows"):
        crop_textures(crops, np.stack([lm] * 2))
