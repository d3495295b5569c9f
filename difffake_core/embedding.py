"""Batched embedding of face crops with any runtime that maps uint8 images to vectors."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import cv2
import numpy as np

from difffake_core.faces.crop import decode_crop


def prepare_crops(crops: Sequence[bytes | np.ndarray], size: int) -> np.ndarray:
    """Decode (PNG/JPEG bytes) and resize crops to ``size``. Returns ``(N, size, size, 3)`` uint8."""
    out = np.empty((len(crops), size, size, 3), np.uint8)
    for i, crop in enumerate(crops):
        img = decode_crop(crop) if isinstance(crop, bytes | bytearray) else np.asarray(crop)
        if img.shape[:2] != (size, size):
            interp = cv2.INTER_AREA if img.shape[0] > size else cv2.INTER_LINEAR
            img = cv2.resize(img, (size, size), interpolation=interp)
        out[i] = img
    return out


def embed_crops(
    embedder, crops: Sequence[bytes | np.ndarray], size: int, batch_size: int = 32
) -> np.ndarray:
    """Embeddings of crops, in order. ``embedder.embed``: (B, S, S, 3) uint8 -> (B, D)."""
    chunks = []
    for start in range(0, len(crops), batch_size):
        batch = prepare_crops(crops[start : start + batch_size], size)
        chunks.append(np.asarray(embedder.embed(batch), np.float32))
    if not chunks:
        return np.zeros((0, 0), np.float32)
    return np.concatenate(chunks)


def batched(items: Sequence, n: int) -> Iterable[Sequence]:
    for start in range(0, len(items), n):
        yield items[start : start + n]
