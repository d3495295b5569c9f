"""A PNG contact sheet for eyeballing pseudo-fakes: real | pseudo-fake | mask triplets."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from difffake_core.pseudofakes.blend import PseudoFake

LABEL_HEIGHT = 20  # pixels of the caption strip above each triplet
GAP = 6  # pixels between triplets side by side
_BACKGROUND = 32


def _fit(image: np.ndarray, tile: tuple[int, int]) -> np.ndarray:
    h, w = tile
    if image.shape[:2] == (h, w):
        return image
    return cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA)


def preview_sheet(
    items: Sequence[tuple[np.ndarray, PseudoFake]],
    path: str | Path,
    columns: int = 2,
    tile_size: tuple[int, int] | None = None,
) -> Path:
    """Write a PNG of ``(real, pseudo_fake)`` items as labelled triplets.

    Each triplet is ``real | pseudo_fake.image | mask`` (the mask in grey, before the blend
    ratio) under a caption ``region/variant r=<blend_ratio>``. Triplets fill rows of
    ``columns``. Tiles are ``tile_size = (h, w)``, by default the first real image's size;
    other sizes are resized. The sheet is
    ``rows * (LABEL_HEIGHT + h)`` high and ``cols * 3 * w + (cols - 1) * GAP`` wide, with
    ``cols = min(columns, len(items))`` and ``rows = ceil(len(items) / columns)``.

    Args:
        items: ``(real, pseudo_fake)`` pairs; ``real`` is ``(H, W, 3)`` uint8 RGB.
        path: output file, must end in ``.png``; parent folders are created.

    Returns:
        The path written.
    """
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise ValueError(f"preview sheet path must end in .png, got {path}")
    if not items:
        raise ValueError("preview_sheet needs at least one (real, pseudo_fake) item, got 0")
    if columns < 1:
        raise ValueError(f"columns must be >= 1, got {columns}")
    h, w = tile_size if tile_size is not None else items[0][0].shape[:2]
    cols = min(columns, len(items))
    rows = math.ceil(len(items) / columns)
    sheet = np.full(
        (rows * (LABEL_HEIGHT + h), cols * 3 * w + (cols - 1) * GAP, 3), _BACKGROUND, np.uint8
    )
    for i, (real, fake) in enumerate(items):
        if real.ndim != 3 or real.shape[2] != 3 or real.dtype != np.uint8:
            raise ValueError(
                f"item {i}: real must be (H, W, 3) uint8, got {real.shape} {real.dtype}"
            )
        top = (i // columns) * (LABEL_HEIGHT + h)
        left = (i % columns) * (3 * w + GAP)
        grey = np.rint(np.clip(fake.mask, 0.0, 1.0) * 255.0).astype(np.uint8)
        tiles = [real, fake.image, cv2.cvtColor(grey, cv2.COLOR_GRAY2RGB)]
        for j, tile in enumerate(tiles):
            x = left + j * w
            sheet[top + LABEL_HEIGHT : top + LABEL_HEIGHT + h, x : x + w] = _fit(tile, (h, w))
        caption = f"{fake.region.value}/{fake.variant} r={fake.blend_ratio:g} shift={fake.shifted}"
        cv2.putText(
            sheet,
            caption,
            (left + 4, top + LABEL_HEIGHT - 6),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.42,
            (235, 235, 235),
            1,
            cv2.LINE_AA,
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR)):
        raise OSError(f"could not write preview sheet to {path}")
    return path
