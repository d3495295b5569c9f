"""Random image and mask transforms of the SBI generator.

Every random number comes from the ``numpy.random.Generator`` passed in, so a blend is
reproduced byte for byte from its seed. Pixel-valued settings in :class:`SBIConfig` are
stated for a 224-pixel crop and scaled by ``min(H, W) / 224``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

from difffake_core.pseudofakes.config import SBIConfig

REFERENCE_SIDE = 224
_COARSE = 4  # the elastic displacement field is drawn on a grid this many times coarser
_IDENTITY = np.arange(256, dtype=np.float32)


def pixel_scale(shape: tuple[int, ...]) -> float:
    """Factor turning pixel settings stated for a 224 crop into pixels of ``shape``."""
    return min(shape[0], shape[1]) / REFERENCE_SIDE


def _lut(values: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(values), 0, 255).astype(np.uint8)


@dataclass(frozen=True)
class ColourShift:
    """One draw of SBI's source-target generator (:func:`draw_colour_shift`).

    ``rgb``: per-channel grey-level offsets (applied when ``rgb_on``); ``hsv``: hue,
    saturation and value shifts in ``[-1, 1]`` (fractions of the configured limits);
    ``gain``/``offset``: contrast and brightness (``offset`` in grey levels); then either
    nearest-neighbour downscaling by ``factor`` (when ``downscale``) or a 3x3 sharpening of
    strength ``sharpen_alpha``.
    """

    rgb_on: bool
    rgb: tuple[float, float, float]
    hsv: tuple[float, float, float]
    gain: float
    offset: float
    downscale: bool
    factor: float = 1.0
    sharpen_alpha: float = 0.0


def draw_colour_shift(rng: np.random.Generator, cfg: SBIConfig) -> ColourShift:
    """Draw the random settings of :func:`shift_colour_and_quality`."""
    rgb_on = bool(rng.random() < cfg.p_rgb_shift)
    rgb = tuple(float(v) for v in rng.uniform(-cfg.rgb_shift_limit, cfg.rgb_shift_limit, 3))
    hsv = tuple(float(v) for v in rng.uniform(-1.0, 1.0, 3))
    gain = 1.0 + float(rng.uniform(-cfg.contrast_limit, cfg.contrast_limit))
    offset = float(rng.uniform(-cfg.brightness_limit, cfg.brightness_limit)) * 255.0
    if rng.random() < cfg.p_downscale:
        return ColourShift(
            rgb_on, rgb, hsv, gain, offset, True, factor=float(rng.uniform(*cfg.downscale_factor))
        )
    alpha = float(rng.uniform(*cfg.sharpen_alpha))
    return ColourShift(rgb_on, rgb, hsv, gain, offset, False, sharpen_alpha=alpha)


def apply_colour_shift(image: np.ndarray, shift: ColourShift, cfg: SBIConfig) -> np.ndarray:
    """Apply a drawn :class:`ColourShift`. Shape ``(H, W, 3)`` uint8 in and out."""
    h, w = image.shape[:2]
    if shift.rgb_on:
        rgb = np.asarray(shift.rgb, dtype=np.float64)
        lut = _lut(_IDENTITY[:, None] + rgb[None, :].astype(np.float32))
        image = cv2.LUT(image, lut.reshape(256, 1, 3))

    dh, ds, dv = shift.hsv
    hsv = cv2.cvtColor(image, cv2.COLOR_RGB2HSV)  # uint8: H in [0, 180), S and V in [0, 255]
    hue = np.rint(_IDENTITY + dh * cfg.hue_shift_limit / 2.0) % 180  # OpenCV hue = degrees/2
    sat = _IDENTITY + ds * cfg.sat_shift_limit * 255.0
    val = _IDENTITY + dv * cfg.val_shift_limit * 255.0
    lut = np.stack([_lut(hue), _lut(sat), _lut(val)], axis=1).reshape(256, 1, 3)
    image = cv2.cvtColor(cv2.LUT(hsv, lut), cv2.COLOR_HSV2RGB)

    image = cv2.LUT(image, _lut(_IDENTITY * shift.gain + shift.offset))

    if shift.downscale:
        small = (max(1, round(w / shift.factor)), max(1, round(h / shift.factor)))
        image = cv2.resize(image, small, interpolation=cv2.INTER_NEAREST)
        image = cv2.resize(image, (w, h), interpolation=cv2.INTER_LINEAR)
    else:
        alpha = shift.sharpen_alpha
        kernel = np.full((3, 3), -alpha, np.float32)  # identity + alpha * (8 * centre - ring)
        kernel[1, 1] = 1.0 + 8.0 * alpha
        image = cv2.filter2D(image, -1, kernel, borderType=cv2.BORDER_REFLECT_101)
    return image


def shift_colour_and_quality(
    image: np.ndarray, rng: np.random.Generator, cfg: SBIConfig
) -> np.ndarray:
    """SBI's source-target generator: colour shift, then blur-by-rescale or sharpening.

    RGB shift (with probability ``p_rgb_shift``), hue/saturation/value shift,
    brightness/contrast, then either nearest-neighbour downscaling by a random factor and
    bilinear upscaling back, or a 3x3 sharpening. Shape ``(H, W, 3)`` uint8 in and out.
    """
    return apply_colour_shift(image, draw_colour_shift(rng, cfg), cfg)


def affine_matrix(shape: tuple[int, ...], tx: float, ty: float, s: float) -> np.ndarray:
    """Scale by ``s`` about the centre, translate by ``(tx * W, ty * H)``. ``(2, 3)`` float64."""
    h, w = shape[:2]
    cx, cy = (w - 1) / 2.0, (h - 1) / 2.0
    return np.array([[s, 0.0, cx - s * cx + tx * w], [0.0, s, cy - s * cy + ty * h]])


def draw_affine(rng: np.random.Generator, cfg: SBIConfig) -> tuple[float, float, float]:
    """``(tx, ty, s)`` of :func:`random_affine`: translation fractions and scale."""
    tx = float(rng.uniform(-cfg.translate_x, cfg.translate_x))
    ty = float(rng.uniform(-cfg.translate_y, cfg.translate_y))
    return tx, ty, float(rng.uniform(*cfg.scale))


def random_affine(shape: tuple[int, ...], rng: np.random.Generator, cfg: SBIConfig) -> np.ndarray:
    """Scale about the centre and translate. Returns the ``(2, 3)`` float64 forward matrix."""
    return affine_matrix(shape, *draw_affine(rng, cfg))


def warp_image(image: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Apply a forward affine ``matrix`` to an image, reflecting at the border."""
    h, w = image.shape[:2]
    return cv2.warpAffine(
        image, matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101
    )


@lru_cache(maxsize=8)
def _grid(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    xs, ys = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    xs.flags.writeable = False
    ys.flags.writeable = False
    return xs, ys


def elastic_grid(shape: tuple[int, ...]) -> tuple[int, int]:
    """Rows and columns of the coarse grid the elastic noise of ``shape`` is drawn on."""
    h, w = shape[:2]
    return max(2, -(-h // _COARSE)), max(2, -(-w // _COARSE))


def draw_elastic_noise(shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    """Uniform noise in ``[-1, 1]`` of :func:`warp_mask`. Shape ``(2, ch, cw)`` float32."""
    ch, cw = elastic_grid(shape)
    return rng.random((2, ch, cw), dtype=np.float32) * 2.0 - 1.0


def warp_mask_with(
    mask: np.ndarray, matrix: np.ndarray, noise: np.ndarray, cfg: SBIConfig
) -> np.ndarray:
    """:func:`warp_mask` with its elastic noise given. ``noise``: ``(2, ch, cw)`` float32
    from :func:`draw_elastic_noise` for this mask's shape."""
    h, w = mask.shape
    if noise.shape != (2, *elastic_grid(mask.shape)):
        raise ValueError(
            f"elastic noise of shape {noise.shape} does not fit a {mask.shape} mask "
            f"(expected {(2, *elastic_grid(mask.shape))})"
        )
    px = pixel_scale(mask.shape)
    if cfg.elastic_alpha > 0:
        sigma = cfg.elastic_sigma * px / _COARSE
        alpha = np.float32(cfg.elastic_alpha * px / _COARSE)
        field = [
            cv2.resize(
                cv2.GaussianBlur(n, (0, 0), sigma, borderType=cv2.BORDER_REFLECT_101) * alpha,
                (w, h),
                interpolation=cv2.INTER_LINEAR,
            )
            for n in noise
        ]
    else:
        field = [np.float32(0.0), np.float32(0.0)]
    xs, ys = _grid(h, w)
    # Output pixel p reads the mask at A^-1(p + d(p)): elastic applied after the affine.
    inv = cv2.invertAffineTransform(matrix).astype(np.float32)
    qx, qy = xs + field[0], ys + field[1]
    map_x = inv[0, 0] * qx + inv[0, 1] * qy + inv[0, 2]
    map_y = inv[1, 0] * qx + inv[1, 1] * qy + inv[1, 2]
    warped = cv2.remap(mask, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    return (warped > 0.5).astype(np.float32)


def warp_mask(
    mask: np.ndarray, matrix: np.ndarray, rng: np.random.Generator, cfg: SBIConfig
) -> np.ndarray:
    """The affine ``matrix``, then an elastic deformation, in one resampling.

    The displacement field is uniform noise in [-1, 1] smoothed by a Gaussian of
    ``elastic_sigma`` and scaled by ``elastic_alpha`` (both scaled to the crop). For speed the
    field is drawn on a grid ``_COARSE`` times coarser (sigma and alpha divided accordingly,
    which keeps its spread) and upsampled bilinearly. The warped mask is re-binarised at 0.5.
    Shape ``(H, W)`` float32 in and out.
    """
    return warp_mask_with(mask, matrix, draw_elastic_noise(mask.shape, rng), cfg)


def _odd_size(rng: np.random.Generator, low: float, high: float) -> int:
    lo = max(1, int(round(low)) | 1)
    hi = max(lo, int(round(high)) | 1)
    return lo + 2 * int(rng.integers(0, (hi - lo) // 2 + 1))


def draw_blur(
    shape: tuple[int, ...], rng: np.random.Generator, cfg: SBIConfig
) -> tuple[tuple[int, int], tuple[int, int], float]:
    """``(k1, k2, sigma)`` of :func:`blur_mask` for a mask of ``shape``, in its pixels."""
    px = pixel_scale(shape)
    lo, hi = cfg.blur_kernel[0] * px, cfg.blur_kernel[1] * px
    k1 = (_odd_size(rng, lo, hi), _odd_size(rng, lo, hi))
    k2 = (_odd_size(rng, lo, hi), _odd_size(rng, lo, hi))
    return k1, k2, float(rng.uniform(*cfg.blur_sigma) * px)


def blur_mask(mask: np.ndarray, rng: np.random.Generator, cfg: SBIConfig) -> np.ndarray:
    """SBI's two-stage blur, with kernel sizes drawn per axis.

    Blur, keep only the pixels at the maximum (an erosion by the first kernel, whose radius
    is capped at half the region's inradius so thin parts survive), blur again with a
    random sigma, normalise the peak to 1.
    Shape ``(H, W)`` float32 in ``[0, 1]`` in and out; all zeros stays all zeros.
    """
    return blur_mask_with(mask, *draw_blur(mask.shape, rng, cfg))


def blur_mask_with(
    mask: np.ndarray, k1: tuple[int, int], k2: tuple[int, int], sigma: float
) -> np.ndarray:
    """:func:`blur_mask` with its odd kernel sizes ``(kx, ky)`` and second sigma (pixels) given."""
    out = np.zeros_like(mask)
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        return out
    # Work on the mask's bounding box padded by both kernel radii: zeros outside it and
    # the constant-zero border make this equal to blurring the whole image, only faster.
    pad_y, pad_x = k1[1] // 2 + k2[1] // 2 + 1, k1[0] // 2 + k2[0] // 2 + 1
    y0, y1 = max(0, rows[0] - pad_y), min(mask.shape[0], rows[-1] + pad_y + 1)
    x0, x1 = max(0, cols[0] - pad_x), min(mask.shape[1], cols[-1] + pad_x + 1)
    roi = np.ascontiguousarray(mask[y0:y1, x0:x1])
    # Thin regions (an eye, the mouth) would erode to a ridge: cap the first kernel's
    # radius at half the region's inradius.
    inradius = float(cv2.distanceTransform((roi > 0).astype(np.uint8), cv2.DIST_L2, 3).max())
    cap = 2 * max(0, int(inradius / 2)) + 1
    k1 = (min(k1[0], cap), min(k1[1], cap))
    first = cv2.GaussianBlur(roi, k1, 0, borderType=cv2.BORDER_CONSTANT)
    core = (first >= float(first.max()) * (1.0 - 1e-4)).astype(np.float32)
    second = cv2.GaussianBlur(core, k2, sigma, sigma, borderType=cv2.BORDER_CONSTANT)
    np.clip(second * np.float32(1.0 / float(second.max())), 0.0, 1.0, out=out[y0:y1, x0:x1])
    return out
