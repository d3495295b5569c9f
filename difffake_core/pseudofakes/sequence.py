"""Video-level pseudo-fakes: one self-blend whose settings drift smoothly along a face track.

A face swap is re-rendered frame by frame, so its blend boundary, colour match and mask
wobble from one frame to the next while the real footage around it does not. To teach the
extractor that temporal inconsistency, the settings of a sequence are drawn once
(:func:`draw_blend`) and then move by a bounded random walk (:func:`drift_blend`):

- drift: the blend ratio, the affine (translation, scale), the elastic-deformation noise,
  the second blur sigma and, when the *source* copy carries the colour/quality shift, that
  shift's continuous settings. Each step moves a setting by at most ``amount`` times its
  configured range and stays inside the range.
- fixed for the whole sequence: the region, mask variant, blur kernel sizes, which copy is
  shifted, and the on/off switches of the shift. When the *target* copy is shifted its
  shift stays fixed, since the target is the sequence's real sample: real frames of one
  video keep one consistent look.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from difffake_core.pseudofakes.blend import BlendDraw, PseudoFake, draw_blend, render_blend
from difffake_core.pseudofakes.config import SBIConfig
from difffake_core.pseudofakes.transforms import ColourShift, pixel_scale

_DEFAULT_CONFIG = SBIConfig()


def _step(value: float, lo: float, hi: float, amount: float, rng: np.random.Generator) -> float:
    """``value`` moved by a uniform step of at most ``amount * (hi - lo)``, kept in [lo, hi]."""
    return float(np.clip(value + rng.uniform(-1.0, 1.0) * amount * (hi - lo), lo, hi))


def _drift_colour(
    shift: ColourShift, rng: np.random.Generator, amount: float, cfg: SBIConfig
) -> ColourShift:
    lim = cfg.rgb_shift_limit
    rgb = tuple(_step(v, -lim, lim, amount, rng) for v in shift.rgb)
    hsv = tuple(_step(v, -1.0, 1.0, amount, rng) for v in shift.hsv)
    gain = _step(shift.gain, 1.0 - cfg.contrast_limit, 1.0 + cfg.contrast_limit, amount, rng)
    b = cfg.brightness_limit * 255.0
    offset = _step(shift.offset, -b, b, amount, rng)
    factor, alpha = shift.factor, shift.sharpen_alpha
    if shift.downscale:
        factor = _step(factor, *cfg.downscale_factor, amount, rng)
    else:
        alpha = _step(alpha, *cfg.sharpen_alpha, amount, rng)
    return dataclasses.replace(
        shift, rgb=rgb, hsv=hsv, gain=gain, offset=offset, factor=factor, sharpen_alpha=alpha
    )


def drift_blend(
    draw: BlendDraw,
    shape: tuple[int, ...],
    rng: np.random.Generator,
    amount: float,
    config: SBIConfig | None = None,
) -> BlendDraw:
    """The settings of the next frame: ``draw`` with its continuous settings moved.

    ``shape``: the crop size ``draw`` was made for. ``amount`` in ``[0, 1]``: the largest
    step as a fraction of each setting's configured range (0 returns an equal draw).
    Discrete settings never change (see the module doc). The blend ratio drifts within
    ``[min, max]`` of ``config.blend_ratios``.
    """
    if not 0.0 <= amount <= 1.0:
        raise ValueError(f"drift amount must be in [0, 1], got {amount}")
    cfg = _DEFAULT_CONFIG if config is None else config
    tx, ty, s = draw.affine
    affine = (
        _step(tx, -cfg.translate_x, cfg.translate_x, amount, rng),
        _step(ty, -cfg.translate_y, cfg.translate_y, amount, rng),
        _step(s, *cfg.scale, amount, rng),
    )
    step = rng.uniform(-1.0, 1.0, draw.elastic.shape).astype(np.float32) * np.float32(2 * amount)
    elastic = np.clip(draw.elastic + step, -1.0, 1.0).astype(np.float32)
    k1, k2, sigma = draw.blur
    px = pixel_scale(shape)
    sigma = _step(sigma, cfg.blur_sigma[0] * px, cfg.blur_sigma[1] * px, amount, rng)
    ratio = _step(draw.blend_ratio, min(cfg.blend_ratios), max(cfg.blend_ratios), amount, rng)
    colour = _drift_colour(draw.colour, rng, amount, cfg) if draw.shift_source else draw.colour
    return dataclasses.replace(
        draw, colour=colour, affine=affine, elastic=elastic, blur=(k1, k2, sigma),
        blend_ratio=ratio,
    )  # fmt: skip


def draw_sequence(
    shape: tuple[int, ...],
    length: int,
    rng: np.random.Generator,
    amount: float,
    config: SBIConfig | None = None,
) -> list[BlendDraw]:
    """``length`` blend settings for consecutive frames of one track: one draw, then
    ``length - 1`` drift steps of at most ``amount`` (see :func:`drift_blend`)."""
    if length < 1:
        raise ValueError(f"a sequence needs at least one frame, got length={length}")
    draws = [draw_blend(shape, rng, config)]
    for _ in range(length - 1):
        draws.append(drift_blend(draws[-1], shape, rng, amount, config))
    return draws


def blend_sequence(
    images: Sequence[np.ndarray],
    landmarks: Sequence[np.ndarray],
    rng: np.random.Generator,
    amount: float,
    config: SBIConfig | None = None,
) -> list[PseudoFake]:
    """Pseudo-fakes of consecutive crops of one track with drifting blend settings.

    ``images``: ``T`` crops, each ``(H, W, 3)`` uint8 of one size; ``landmarks``: their
    ``(68, 2)`` points (each frame's mask follows its own landmarks).
    """
    if len(images) != len(landmarks) or not images:
        raise ValueError(
            f"need as many landmark sets as images (and at least one), got {len(images)} "
            f"images and {len(landmarks)} landmark sets"
        )
    shapes = {np.asarray(im).shape for im in images}
    if len(shapes) != 1:
        raise ValueError(f"crops of one sequence must share one shape, got {sorted(shapes)}")
    draws = draw_sequence(shapes.pop(), len(images), rng, amount, config)
    return [
        render_blend(im, lm, d, config) for im, lm, d in zip(images, landmarks, draws, strict=True)
    ]
