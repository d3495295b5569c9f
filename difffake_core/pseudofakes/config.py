"""Settings of the self-blending pseudo-fake generator (SBI, Shiohara & Yamasaki, CVPR 2022).

Pixel-valued settings (kernel sizes, elastic displacement) are stated for a 224-pixel crop
and scaled linearly with ``min(H, W)`` of the crop actually blended.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from difffake_core.pseudofakes.masks import MASK_VARIANTS
from difffake_core.pseudofakes.regions import MaskRegion, as_region

# The paper's draw: a full-face hull half of the time, each part region a sixth.
DEFAULT_REGION_WEIGHTS: tuple[tuple[MaskRegion, float], ...] = (
    (MaskRegion.FULL_FACE, 1 / 2),
    (MaskRegion.EYES, 1 / 6),
    (MaskRegion.MOUTH, 1 / 6),
    (MaskRegion.LOWER_HEAD, 1 / 6),
)


def _check_range(name: str, value: tuple[float, float], low: float, high: float) -> None:
    lo, hi = value
    if not (low <= lo <= hi <= high) or not all(math.isfinite(v) for v in value):
        raise ValueError(f"{name} must be (lo, hi) with {low} <= lo <= hi <= {high}, got {value}")


@dataclass(frozen=True)
class SBIConfig:
    """Every probability and range of :func:`self_blend`.

    ``region_weights`` accepts a mapping ``{MaskRegion | str: weight}`` and is stored as a
    tuple of ``(MaskRegion, weight)`` pairs (weights need not sum to 1); give one region
    weight 1 to force it. ``variants`` optionally restricts, per region, the mask variants
    drawn (uniformly); by default all registered variants of the region are used.
    """

    region_weights: tuple[tuple[MaskRegion, float], ...] | Mapping[MaskRegion | str, float] = (
        DEFAULT_REGION_WEIGHTS
    )
    variants: (
        tuple[tuple[MaskRegion, tuple[str, ...]], ...] | Mapping[MaskRegion | str, tuple[str, ...]]
    ) = ()
    # Source-target generator: which copy gets the colour/quality shift.
    p_shift_source: float = 0.5
    p_rgb_shift: float = 0.3
    rgb_shift_limit: float = 20.0  # grey levels, per channel
    # SBI's albumentations HSV limits (+-0.3 on 8-bit scales) round to no change; these
    # small shifts are our choice.
    hue_shift_limit: float = 4.0  # degrees
    sat_shift_limit: float = 0.06  # fraction of full scale, additive
    val_shift_limit: float = 0.04  # fraction of full scale, additive
    brightness_limit: float = 0.1  # fraction of full scale, additive
    contrast_limit: float = 0.1  # gain 1 +- limit
    p_downscale: float = 0.5  # otherwise sharpen
    downscale_factor: tuple[float, float] = (2.0, 4.0)
    sharpen_alpha: tuple[float, float] = (0.2, 0.5)
    # Random affine applied to the source and the mask together.
    translate_x: float = 0.03  # fraction of width, +-
    translate_y: float = 0.015  # fraction of height, +-
    scale: tuple[float, float] = (0.95, 1.05)
    # Elastic deformation of the mask: smoothed uniform noise, alpha * N(sigma).
    elastic_alpha: float = 50.0  # pixels at 224
    elastic_sigma: float = 7.0  # pixels at 224
    # Two-stage blur: odd kernel sizes drawn per axis; second stage sigma drawn too.
    blur_kernel: tuple[int, int] = (5, 25)  # pixels at 224
    blur_sigma: tuple[float, float] = (5.0, 45.0)  # pixels at 224, second stage
    blend_ratios: tuple[float, ...] = (0.25, 0.5, 0.75, 1.0, 1.0, 1.0)
    _regions: tuple[MaskRegion, ...] = field(init=False, repr=False, compare=False)
    _probs: tuple[float, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        weights = self.region_weights
        pairs = tuple(weights.items()) if isinstance(weights, Mapping) else tuple(weights)
        pairs = tuple((as_region(r), float(w)) for r, w in pairs)
        if not pairs or any(not math.isfinite(w) or w < 0 for _, w in pairs):
            raise ValueError(f"region_weights must be finite and >= 0, got {pairs}")
        total = sum(w for _, w in pairs)
        if total <= 0:
            raise ValueError(f"region_weights must not all be zero, got {pairs}")
        object.__setattr__(self, "region_weights", pairs)
        object.__setattr__(self, "_regions", tuple(r for r, _ in pairs))
        object.__setattr__(self, "_probs", tuple(w / total for _, w in pairs))

        variants = self.variants
        vpairs = tuple(variants.items()) if isinstance(variants, Mapping) else tuple(variants)
        vpairs = tuple((as_region(r), tuple(v)) for r, v in vpairs)
        if any(not v for _, v in vpairs):
            raise ValueError(f"variants must list at least one name per region, got {vpairs}")
        for region, names in vpairs:
            for name in names:
                MASK_VARIANTS[region].get(name)  # raises UnknownNameError listing valid names
        object.__setattr__(self, "variants", vpairs)

        for name in ("p_shift_source", "p_rgb_shift", "p_downscale"):
            _check_range(name, (getattr(self, name),) * 2, 0.0, 1.0)
        for name in ("rgb_shift_limit", "hue_shift_limit", "sat_shift_limit", "val_shift_limit"):
            _check_range(name, (0.0, getattr(self, name)), 0.0, 255.0)
        _check_range("brightness_limit", (0.0, self.brightness_limit), 0.0, 1.0)
        _check_range("contrast_limit", (0.0, self.contrast_limit), 0.0, 1.0)
        _check_range("downscale_factor", self.downscale_factor, 1.0, 16.0)
        _check_range("sharpen_alpha", self.sharpen_alpha, 0.0, 1.0)
        _check_range("translate_x", (0.0, self.translate_x), 0.0, 0.5)
        _check_range("translate_y", (0.0, self.translate_y), 0.0, 0.5)
        _check_range("scale", self.scale, 0.5, 2.0)
        _check_range("elastic_alpha", (0.0, self.elastic_alpha), 0.0, 1e4)
        _check_range("elastic_sigma", (0.5, self.elastic_sigma), 0.5, 1e3)
        _check_range("blur_kernel", self.blur_kernel, 1, 255)
        _check_range("blur_sigma", self.blur_sigma, 0.1, 1e3)
        if not self.blend_ratios or any(not 0 < r <= 1 for r in self.blend_ratios):
            raise ValueError(f"blend_ratios must be in (0, 1], got {self.blend_ratios}")

    @property
    def region_probabilities(self) -> dict[MaskRegion, float]:
        """Normalised draw probability of each region."""
        return dict(zip(self._regions, self._probs, strict=True))

    def variants_for(self, region: MaskRegion) -> tuple[str, ...] | None:
        """Variant names restricted for ``region``, or ``None`` for all registered ones."""
        for r, names in self.variants:
            if r is region:
                return names
        return None
