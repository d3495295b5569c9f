"""Random image and mask transforms of the SBI generator.

Every random number comes from the ``numpy.random.Generator`` passed in, so a blend is
reproduced byte for byte from its seed. Pixel-valued settings in :class:`SBIConfig` are
stated for a 224-pixel crop and scaled by ``min(H, W) / 224``.
"""

from __future__ import annotations

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


def shift_colour_and_quality(
    image: np.ndarray, rng: np.random.Generator, cfg: SBIConfig
) -> np.ndarray:
    """SBI's source-target generator: colour shift, then blur-by-rescale or sharpening.

    RGB shift (with probability ``p_rgb_shift``), hue/saturation/value shift,
    brightness/contrast, then either nearest-neighbour downscaling by a random factor and
    bilinear upscaling back, or a 3x3 sharpening. Shape ``(H, W, 3)`` uint8 in and out.
    """
    h, w = image.shape[:2]
    rgb_on = rng.random() < cfg.p_rgb_shift
    rgb = rng.uniform(-cfg.rgb_shift_limit, cfg.rgb_shift_limit, 3)
    if rgb_on:
        lut = _lut(_IDENTITY[:, None] + rgb[None, :].astype(np.float32))
        image = cv2.LUT(image, lut.reshape(256, 1, 3))

    dh, ds, dv = rng.uniform(-1.0, 1.0, 3)
    hsv = cv2.cvtColor(image, cv2.COLOR_RGB2HSV)  # uint8: H in [0, 180), S and V in [0, 255]
    hue = np.rint(_IDENTITY + dh * cfg.hue_shift_limit / 2.0) % 180  # OpenCV hue = degrees/2
    sat = _IDENTITY + ds * cfg.sat_shift_limit * 255.0
    val = _IDENTITY + dv * cfg.val_shift_limit * 255.0
    lut = np.stack([_lut(hue), _lut(sat), _lut(val)], axis=1).reshape(256, 1, 3)
    image = cv2.cvtColor(cv2.LUT(hsv, lut), cv2.COLOR_HSV2RGB)

    gain = 1.0 + rng.uniform(-cfg.contrast_limit, cfg.contrast_limit)
    offset = rng.uniform(-cfg.brightness_limit, cfg.brightness_limit) * 255.0
    image = cv2.LUT(image, _lut(_IDENTITY * gain + offset))

    if rng.random() < cfg.p_downscale:
        factor = rng.uniform(*cfg.downscale_factor)
        small = (max(1, round(w / factor)), max(1, round(h / factor)))
        image = cv2.resize(image, small, interpolation=cv2.INTER_NEAREST)
        image = cv2.resize(image, (w, h), interpolation=cv2.INTER_LINEAR)
    else:
        alpha = rng.uniform(*cfg.sharpen_alpha)
        kernel = np.full((3, 3), -alpha, np.float32)  # identity + alpha * (8 * centre - ring)
        kernel[1, 1] = 1.0 + 8.0 * alpha
        image = cv2.filter2D(image, -1, kernel, borderType=cv2.BORDER_REFLECT_101)
    return image


def random_affine(shape: tuple[int, ...], rng: np.random.Generator, cfg: SBIConfig) -> np.ndarray:
    """Scale about the centre and translate. Returns the ``(2, 3)`` float64 forward matrix."""
    h, w = shape[:2]
    tx = rng.uniform(-cfg.translate_x, cfg.translate_x) * w
    ty = rng.uniform(-cfg.translate_y, cfg.translate_y) * h
    s = rng.uniform(*cfg.scale)
    cx, cy = (w - 1) / 2.0, (h - 1) / 2.0
    return np.array([[s, 0.0, cx - s * cx + tx], [0.0, s, cy - s * cy + ty]])


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
    h, w = mask.shape
    px = pixel_scale(mask.shape)
    ch, cw = max(2, -(-h // _COARSE)), max(2, -(-w // _COARSE))
    noise = rng.random((2, ch, cw), dtype=np.float32) * 2.0 - 1.0
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


def _odd_size(rng: np.random.Generator, low: float, high: float) -> int:
    lo = max(1, int(round(low)) | 1)
    hi = max(lo, int(round(high)) | 1)
    return lo + 2 * int(rng.integers(0, (hi - lo) // 2 + 1))


def blur_mask(mask: np.ndarray, rng: np.random.Generator, cfg: SBIConfig) -> np.ndarray:
    """SBI's two-stage blur, with kernel sizes drawn per axis.

    Blur, keep only the pixels at the maximum (an erosion by the first kernel, whose radius
    is capped at half the region's inradius so thin parts survive), blur again with a
    random sigma, normalise the peak to 1.
    Shape ``(H, W)`` float32 in ``[0, 1]`` in and out; all zeros stays all zeros.
    """
    px = pixel_scale(mask.shape)
    lo, hi = cfg.blur_kernel[0] * px, cfg.blur_kernel[1] * px
    k1 = (_odd_size(rng, lo, hi), _odd_size(rng, lo, hi))
    k2 = (_odd_size(rng, lo, hi), _odd_size(rng, lo, hi))
    sigma = rng.uniform(*cfg.blur_sigma) * px
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
