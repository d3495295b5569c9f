"""Draw frequencies over many blends: regions, full-face variants, blend ratios, sides.

Tolerance: each count is binomial(n, p); we accept |count - n p| <= 4.5 sd, sd =
sqrt(n p (1 - p)). For a correct sampler one cell fails with probability ~7e-6, so the
fixed-seed test is far from the edge; a wrong table is caught, e.g. uniform regions put
300 instead of 600 draws in full_face, 17 sd away.
"""

from __future__ import annotations

from collections import Counter

import cv2
import numpy as np
import pytest

from difffake_core.pseudofakes import MASK_VARIANTS, MaskRegion, self_blend

N_DRAWS = 1200
Z = 4.5


@pytest.fixture(scope="module")
def draws(face):
    # A small crop: the draws do not depend on the resolution, and it keeps the test fast.
    image, landmarks = face
    small = cv2.resize(image, (112, 112), interpolation=cv2.INTER_AREA)
    lms = landmarks / 2
    rng = np.random.default_rng(2024)
    return [self_blend(small, lms, rng) for _ in range(N_DRAWS)]


def _assert_binomial(count: int, n: int, p: float, what: str) -> None:
    sd = np.sqrt(n * p * (1 - p))
    assert abs(count - n * p) <= Z * sd, (
        f"{what}: {count} of {n}, expected {n * p:.0f} +- {Z * sd:.0f}"
    )


def test_region_frequencies_match_the_paper(draws):
    counts = Counter(d.region for d in draws)
    expected = {
        MaskRegion.FULL_FACE: 1 / 2,
        MaskRegion.EYES: 1 / 6,
        MaskRegion.MOUTH: 1 / 6,
        MaskRegion.LOWER_HEAD: 1 / 6,
    }
    assert set(counts) == set(expected)
    for region, p in expected.items():
        _assert_binomial(counts[region], N_DRAWS, p, region.value)


def test_full_face_variants_are_uniform(draws):
    variants = [d.variant for d in draws if d.region is MaskRegion.FULL_FACE]
    names = MASK_VARIANTS[MaskRegion.FULL_FACE].names()
    counts = Counter(variants)
    assert set(counts) == set(names)
    for name in names:
        _assert_binomial(counts[name], len(variants), 1 / len(names), name)


def test_blend_ratios_come_from_the_allowed_set_with_the_right_frequencies(draws):
    counts = Counter(d.blend_ratio for d in draws)
    assert set(counts) == {0.25, 0.5, 0.75, 1.0}
    for ratio, p in {0.25: 1 / 6, 0.5: 1 / 6, 0.75: 1 / 6, 1.0: 1 / 2}.items():
        _assert_binomial(counts[ratio], N_DRAWS, p, f"ratio {ratio}")


def test_source_and_target_are_shifted_equally_often(draws):
    _assert_binomial(sum(d.shifted == "source" for d in draws), N_DRAWS, 0.5, "shift source")
