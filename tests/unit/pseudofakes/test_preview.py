"""preview_sheet writes a PNG of labelled real | fake | mask triplets."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from difffake_core.pseudofakes import self_blend
from difffake_core.pseudofakes.preview import GAP, LABEL_HEIGHT, preview_sheet


@pytest.fixture(scope="module")
def items(face):
    image, landmarks = face
    rng = np.random.default_rng(3)
    return [(image, self_blend(image, landmarks, rng)) for _ in range(5)]


def test_sheet_has_the_documented_size_and_holds_the_tiles(items, tmp_path):
    path = preview_sheet(items, tmp_path / "sub" / "sheet.png", columns=2)
    sheet = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
    h, w = 224, 224
    assert sheet.shape == (3 * (LABEL_HEIGHT + h), 2 * 3 * w + GAP, 3)
    # Item 3 sits in row 1, column 1: real | fake | mask, lossless in PNG.
    top, left = LABEL_HEIGHT + h + LABEL_HEIGHT, 3 * w + GAP
    real, fake = items[3]
    np.testing.assert_array_equal(sheet[top : top + h, left : left + w], real)
    np.testing.assert_array_equal(sheet[top : top + h, left + w : left + 2 * w], fake.image)
    grey = sheet[top : top + h, left + 2 * w : left + 3 * w, 0]
    assert np.abs(grey.astype(np.float32) - fake.mask * 255).max() <= 0.5 + 1e-3
    # The caption strip carries text.
    assert sheet[top - LABEL_HEIGHT : top, left : left + 3 * w].max() > 150


def test_fewer_items_than_columns_and_a_custom_tile_size(items, tmp_path):
    path = preview_sheet(items[:2], tmp_path / "two.png", columns=4, tile_size=(100, 120))
    assert cv2.imread(str(path)).shape == (LABEL_HEIGHT + 100, 2 * 3 * 120 + GAP, 3)


def test_bad_arguments_are_reported(items, tmp_path):
    with pytest.raises(ValueError, match="png"):
        preview_sheet(items, tmp_path / "sheet.jpg")
    with pytest.raises(ValueError, match="got 0"):
        preview_sheet([], tmp_path / "sheet.png")
    with pytest.raises(ValueError, match="columns"):
        preview_sheet(items, tmp_path / "sheet.png", columns=0)
