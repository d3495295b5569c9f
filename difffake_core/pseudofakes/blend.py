"""Self-blended images (SBI): a face blended with a shifted copy of itself.

Following Shiohara & Yamasaki (CVPR 2022): two copies of one real crop; one (drawn at
random) gets a colour and quality shift; the source copy and a face-region mask are moved
by a small random affine; the mask is elastically deformed and blurred twice; the source
is blended into the target with a random blend ratio. The result carries the boundary and
statistical inconsistencies of face swaps without any identity change.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from difffake_core.pseudofakes.config import MaskRegion, SBIConfig
from difffake_core.pseudofakes.masks import MASK_VARIANTS, check_landmarks, region_mask
from difffake_core.pseudofakes.transforms import (
    ColourShift,
    affine_matrix,
    apply_colour_shift,
    blur_mask_with,
    draw_affine,
    draw_blur,
    draw_colour_shift,
    draw_elastic_noise,
    warp_image,
    warp_mask_with,
)

_DEFAULT_CONFIG = SBIConfig()


@dataclass(frozen=True)
class PseudoFake:
    """One self-blended image and how it was made.

    Attributes:
        image: the blended image. Shape ``(H, W, 3)`` uint8 RGB.
        mask: final blend mask before the ratio. Shape ``(H, W)`` float32 in ``[0, 1]``;
            the blend weight of the source is ``mask * blend_ratio``.
        region: which face region was blended.
        variant: the mask variant (hull style) of the region.
        blend_ratio: peak weight of the source.
        target: the image the source was blended into, equal to ``image`` wherever
            ``mask == 0``. SBI uses it as the *real* sample of the pair, since it may carry
            the colour/quality shift itself. Shape ``(H, W, 3)`` uint8 RGB.
        shifted: ``"source"`` or ``"target"``: the copy that got the colour/quality shift.
    """

    image: np.ndarray
    mask: np.ndarray
    region: MaskRegion
    variant: str
    blend_ratio: float
    target: np.ndarray | None = None
    shifted: str = "source"


def _check_image(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3 or image.shape[0] < 8 or image.shape[1] < 8:
        raise ValueError(f"image must have shape (H, W, 3) with H, W >= 8, got {image.shape}")
    if image.dtype != np.uint8:
        raise ValueError(f"image must be uint8, got {image.dtype}")
    return np.ascontiguousarray(image)


def blend_images(
    source: np.ndarray, target: np.ndarray, mask: np.ndarray, ratio: float
) -> np.ndarray:
    """``source * mask * ratio + target * (1 - mask * ratio)``, rounded to uint8.

    Computed in float32; pixels where ``mask == 0`` are copied from ``target`` unchanged.
    Shapes: images ``(H, W, 3)`` uint8, mask ``(H, W)`` float32.
    """
    if source.shape != target.shape or mask.shape != target.shape[:2]:
        raise ValueError(
            f"source {source.shape}, target {target.shape} and mask {mask.shape} must agree"
        )
    out = target.copy()
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        return out
    box = np.s_[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    m = mask[box]
    weight = (m * np.float32(ratio))[..., None]
    tgt = target[box].astype(np.float32)
    # tgt + (src - tgt) * w with 0 <= w <= 1 stays between tgt and src: no clipping needed.
    blended = np.rint(tgt + (source[box].astype(np.float32) - tgt) * weight).astype(np.uint8)
    np.copyto(out[box], blended, where=(m != 0)[..., None])
    return out


@dataclass(frozen=True)
class BlendDraw:
    """Every random setting of one self-blend, drawn for a crop of a given shape.

    Attributes:
        region, variant: the face region and its mask variant.
        shift_source: whether the source copy (else the target) gets ``colour``.
        colour: the colour/quality shift.
        affine: ``(tx, ty, s)``: translation as fractions of width/height, and scale.
        elastic: elastic-deformation noise in ``[-1, 1]``. Shape ``(2, ch, cw)`` float32.
        blur: ``(k1, k2, sigma)``: odd kernel sizes ``(kx, ky)`` and the second sigma, in
            pixels of the crop.
        blend_ratio: peak weight of the source, in ``(0, 1]``.
    """

    region: MaskRegion
    variant: str
    shift_source: bool
    colour: ColourShift
    affine: tuple[float, float, float]
    elastic: np.ndarray
    blur: tuple[tuple[int, int], tuple[int, int], float]
    blend_ratio: float


def draw_blend(
    shape: tuple[int, ...], rng: np.random.Generator, config: SBIConfig | None = None
) -> BlendDraw:
    """Draw the settings of :func:`self_blend` for a crop of ``shape`` ``(H, W[, 3])``."""
    cfg = _DEFAULT_CONFIG if config is None else config
    regions, probs = zip(*cfg.region_probabilities.items(), strict=True)
    region = regions[int(rng.choice(len(regions), p=probs))]
    names = cfg.variants_for(region) or tuple(MASK_VARIANTS[region].names())
    variant = names[int(rng.integers(len(names)))]
    shift_source = bool(rng.random() < cfg.p_shift_source)
    colour = draw_colour_shift(rng, cfg)
    affine = draw_affine(rng, cfg)
    elastic = draw_elastic_noise(shape, rng)
    blur = draw_blur(shape, rng, cfg)
    ratio = float(cfg.blend_ratios[int(rng.integers(len(cfg.blend_ratios)))])
    return BlendDraw(region, variant, shift_source, colour, affine, elastic, blur, ratio)


def render_blend(
    image: np.ndarray, landmarks: np.ndarray, draw: BlendDraw, config: SBIConfig | None = None
) -> PseudoFake:
    """The pseudo-fake of ``image`` made with the settings ``draw`` (no randomness).

    Shapes as in :func:`self_blend`; ``draw`` must have been drawn for this crop size.
    """
    cfg = _DEFAULT_CONFIG if config is None else config
    image = _check_image(image)
    lms = check_landmarks(landmarks)
    shifted = apply_colour_shift(image, draw.colour, cfg)
    source, target = (shifted, image) if draw.shift_source else (image, shifted)
    mask = region_mask(lms, image.shape, draw.region, draw.variant)
    if not mask.any():
        box = (lms.min(axis=0).round(1).tolist(), lms.max(axis=0).round(1).tolist())
        raise ValueError(
            f"{draw.region.value}/{draw.variant} mask is empty for image {image.shape[:2]}: "
            f"landmarks span {box}"
        )
    matrix = affine_matrix(image.shape, *draw.affine)
    source = warp_image(source, matrix)
    mask = blur_mask_with(warp_mask_with(mask, matrix, draw.elastic, cfg), *draw.blur)
    return PseudoFake(
        image=blend_images(source, target, mask, draw.blend_ratio),
        mask=mask,
        region=draw.region,
        variant=draw.variant,
        blend_ratio=draw.blend_ratio,
        target=target,
        shifted="source" if draw.shift_source else "target",
    )


def self_blend(
    image: np.ndarray,
    landmarks: np.ndarray,
    rng: np.random.Generator,
    config: SBIConfig | None = None,
) -> PseudoFake:
    """Make one self-blended pseudo-fake from a real face crop.

    Args:
        image: real face crop. Shape ``(H, W, 3)`` uint8 RGB.
        landmarks: 68 iBUG points in crop pixels. Shape ``(68, 2)`` ``(x, y)``.
        rng: the only source of randomness; the same seed gives the same bytes.
        config: probabilities and ranges; defaults to ``SBIConfig()``.

    Returns:
        A :class:`PseudoFake`. Raises ``ValueError`` on bad shapes or when the drawn
        region mask falls entirely outside the crop.
    """
    image = _check_image(image)
    check_landmarks(landmarks)
    return render_blend(image, landmarks, draw_blend(image.shape, rng, config), config)
