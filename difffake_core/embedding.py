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


class _Request:
    __slots__ = ("images", "done", "result", "error")

    def __init__(self, images: np.ndarray) -> None:
        self.images = images
        self.done = False
        self.result: np.ndarray | None = None
        self.error: BaseException | None = None


class SharedBatches:
    """Embeds the crops of several callers (threads scoring different videos) in shared
    batches: a video with few faces fills a batch with its neighbours' crops.

    No timers: a caller whose crops arrive while another batch runs waits for it, then the
    next batch takes every waiting request (whole requests, up to ``max_batch`` crops, at
    least one); a lone caller runs at once, so one video at a time costs nothing extra.
    Crops are decoded and checked in the caller's thread, so a bad crop fails its own call
    only; a combined batch that raises is rerun request by request, so the error reaches only
    the video it belongs to. ``embedder.embed``: ``(B, S, S, 3)`` uint8 -> ``(B, D)``.

    Thread-safe. Every call returns ``(N, D)`` float32 in the order of its crops.
    """

    def __init__(self, embedder, size: int, max_batch: int = 64) -> None:
        import threading

        self.embedder = embedder
        self.size = size
        self.max_batch = max_batch
        self._cond = threading.Condition()
        self._pending: list[_Request] = []
        self._busy = False
        self.batches = 0  # embedding calls made (for measurements)
        self.requests = 0

    def __call__(self, crops: Sequence[bytes | np.ndarray]) -> np.ndarray:
        """Embeddings of one video's crops ``(N, D)``, batched with other callers' crops."""
        return self.embed_many([crops])[0]

    def embed_many(self, videos: Sequence[Sequence[bytes | np.ndarray]]) -> list[np.ndarray]:
        """Embeddings of several videos' crops (one caller, e.g. a sequential scorer), in
        shared batches; one ``(N_i, D)`` array per video (``(0, 0)`` for no crops)."""
        requests = [_Request(prepare_crops(c, self.size)) if len(c) else None for c in videos]
        mine = [r for r in requests if r is not None]
        with self._cond:
            self._pending.extend(mine)
            self.requests += len(mine)
            while self._busy and not all(r.done for r in mine):
                self._cond.wait()
            lead = not all(r.done for r in mine)
            if lead:
                self._busy = True  # this caller leads: runs batches until its own are done
        if lead:
            try:
                while not all(r.done for r in mine):
                    with self._cond:
                        batch = self._take()
                    self._run(batch)
                    with self._cond:
                        self._cond.notify_all()
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()
        return [np.zeros((0, 0), np.float32) if r is None else self._result(r) for r in requests]

    @staticmethod
    def _result(request: _Request) -> np.ndarray:
        if request.error is not None:
            raise request.error
        return request.result

    def _take(self) -> list[_Request]:
        batch, n = [], 0
        while self._pending and (not batch or n + len(self._pending[0].images) <= self.max_batch):
            request = self._pending.pop(0)
            batch.append(request)
            n += len(request.images)
        return batch

    def _embed(self, images: np.ndarray) -> np.ndarray:
        self.batches += 1
        out = [np.asarray(self.embedder.embed(images[s]), np.float32)
               for s in (slice(i, i + self.max_batch) for i in range(0, len(images), self.max_batch))]  # fmt: skip
        return np.concatenate(out)

    def _run(self, batch: list[_Request]) -> None:
        try:
            vectors = self._embed(np.concatenate([r.images for r in batch]))
        except Exception:
            vectors = None
        start = 0
        for request in batch:
            n = len(request.images)
            if vectors is not None:
                request.result = vectors[start : start + n]
            else:  # rerun alone: the failure stays with the request that causes it
                try:
                    request.result = self._embed(request.images)
                except Exception as exc:
                    request.error = exc
            start += n
            request.done = True
