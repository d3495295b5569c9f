"""Binary region masks: each holds its own landmarks and stays off the others."""

from __future__ import annotations

import numpy as np
import pytest

from difffake_core.errors import UnknownNameError
from difffake_core.pseudofakes import DEFAULT_VARIANTS, MASK_VARIANTS, MaskRegion, region_mask
from tests.unit.pseudofakes.conftest import FORBIDDEN_POINTS, OWN_POINTS, window_values

ALL_VARIANTS = [(r, v) for r in MaskRegion for v in MASK_VARIANTS[r].names()]


def test_every_region_has_variants_and_a_default():
    for region in MaskRegion:
        assert DEFAULT_VARIANTS[region] in MASK_VARIANTS[region]
    assert len(MASK_VARIANTS[MaskRegion.FULL_FACE].names()) == 4


@pytest.mark.parametrize(("region", "variant"), ALL_VARIANTS)
def test_mask_is_binary_float32_of_image_size(face, region, variant):
    image, landmarks = face
    mask = region_mask(landmarks, image.shape, region, variant)
    assert mask.shape == image.shape[:2] and mask.dtype == np.float32
    assert set(np.unique(mask).tolist()) == {0.0, 1.0}


@pytest.mark.parametrize(("region", "variant"), ALL_VARIANTS)
def test_mask_holds_own_points_and_avoids_others(face, region, variant):
    image, landmarks = face
    mask = region_mask(landmarks, image.shape, region, variant)
    # Points on a hull edge may round to a pixel just outside it: allow one pixel.
    own = window_values(mask, landmarks[OWN_POINTS[region]]).max(axis=1)
    assert (own == 1).all(), np.array(OWN_POINTS[region])[own != 1]
    forbidden = FORBIDDEN_POINTS[region]
    if forbidden:
        assert (window_values(mask, landmarks[forbidden], radius=2) == 0).all()


def test_full_face_stays_inside_a_face_sized_area(face):
    image, landmarks = face
    corners = np.array([[2, 2], [221, 2], [2, 221], [221, 221]])
    x0, y0 = landmarks.min(axis=0) - 2
    x1, y1 = landmarks.max(axis=0) + 2
    for variant in MASK_VARIANTS[MaskRegion.FULL_FACE].names():
        mask = region_mask(landmarks, image.shape, "full_face", variant)
        assert (window_values(mask, corners) == 0).all()
        ys, xs = np.nonzero(mask)
        assert xs.min() >= x0 and xs.max() <= x1 and ys.max() <= y1
        if variant != "extended":
            assert ys.min() >= y0


def test_extended_hull_reaches_the_forehead(face):
    image, landmarks = face
    hull = region_mask(landmarks, image.shape, "full_face", "hull")
    extended = region_mask(landmarks, image.shape, "full_face", "extended")
    assert (extended >= hull).all()
    brow_top = landmarks[17:27, 1].min()
    forehead = np.array([landmarks[27, 0], brow_top - 15])
    assert window_values(hull, forehead[None]).max() == 0
    assert window_values(extended, forehead[None]).min() == 1


@pytest.mark.parametrize(("region", "variant"), ALL_VARIANTS)
def test_mask_moves_with_the_landmarks(face, region, variant):
    image, landmarks = face
    base = region_mask(landmarks, image.shape, region, variant)
    moved = region_mask(landmarks + np.float32([7, -5]), image.shape, region, variant)
    np.testing.assert_array_equal(moved[20:-20, 20:-20], base[25:-15, 13:-27])


def test_unknown_variant_lists_valid_names(face):
    image, landmarks = face
    with pytest.raises(UnknownNameError, match="eye_pair") as info:
        region_mask(landmarks, image.shape, MaskRegion.EYES, "no_such_hull")
    assert "no_such_hull" in str(info.value)


def test_unknown_region_lists_valid_regions(face):
    image, landmarks = face
    with pytest.raises(ValueError, match="lower_head"):
        region_mask(landmarks, image.shape, "forehead")


@pytest.mark.parametrize("bad", [np.zeros((67, 2)), np.zeros((68, 3)), np.zeros(136)])
def test_bad_landmark_shape_is_reported(face, bad):
    with pytest.raises(ValueError, match=r"\(68, 2\).*got"):
        region_mask(bad, face[0].shape, "eyes")


def test_non_finite_landmarks_are_rejected(face):
    image, landmarks = face
    bad = landmarks.copy()
    bad[40] = np.nan
    with pytest.raises(ValueError, match="finite"):
        region_mask(bad, image.shape, "eyes")
