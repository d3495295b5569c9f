"""Training data for the extractor: real face crops and self-blended pseudo-fakes made on the fly.

Randomness: every item draws from ``numpy.random.default_rng([stream, seed, epoch, index])``
(``stream`` separates training from validation draws), so a
run is reproducible from its seed whatever the number of DataLoader workers or the order in
which they fetch items.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset


@dataclass(frozen=True, kw_only=True, eq=False)
class CropRecord:
    """One real face crop.

    Attributes:
        landmarks: 68 iBUG points in crop pixels. Shape ``(68, 2)`` float32 ``(x, y)``.
        video_id: the video the frame came from (splits never cut a video in two).
        track_id: the face track within the video (``None``: one track per video).
        frame_index: the frame's index in the video (``None``: order of the records);
            consecutive frames of a track form the sequences of temporal training.
        image_bytes: the crop PNG/JPEG-encoded, or
        image: the crop decoded. Shape ``(H, W, 3)`` uint8 RGB.
    """

    landmarks: np.ndarray
    video_id: str
    image_bytes: bytes | None = None
    image: np.ndarray | None = None
    track_id: int | None = None
    frame_index: int | None = None

    def __post_init__(self) -> None:
        if (self.image_bytes is None) == (self.image is None):
            raise ValueError("CropRecord needs exactly one of image_bytes or image")
        lms = np.asarray(self.landmarks, dtype=np.float32)
        if lms.shape != (68, 2):
            raise ValueError(f"landmarks must have shape (68, 2), got {lms.shape}")
        object.__setattr__(self, "landmarks", lms)

    def decode(self) -> np.ndarray:
        """The crop as ``(H, W, 3)`` uint8 RGB."""
        if self.image is not None:
            image = np.asarray(self.image)
            if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
                raise ValueError(
                    f"image must be (H, W, 3) uint8, got {image.shape} {image.dtype} "
                    f"(video {self.video_id!r})"
                )
            return image
        buffer = np.frombuffer(self.image_bytes, dtype=np.uint8)
        bgr = cv2.imdecode(buffer, cv2.IMREAD_COLOR)
        if bgr is None:
            raise ValueError(
                f"cannot decode crop of video {self.video_id!r} ({len(self.image_bytes)} bytes)"
            )
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def split_by_video(
    video_ids: Sequence[str], val_fraction: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Split item indices into train and validation, holding out whole videos.

    ``round(val_fraction * n_videos)`` videos (at least one when ``val_fraction > 0``) go to
    validation. Returns ``(train_idx, val_idx)``, sorted int64 index arrays.
    """
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
    ids = np.asarray([str(v) for v in video_ids])
    videos = np.unique(ids)
    n_val = 0 if val_fraction == 0 else max(1, round(val_fraction * len(videos)))
    if n_val >= len(videos):
        raise ValueError(
            f"cannot hold out {n_val} of {len(videos)} videos and still train on one; "
            f"val_fraction={val_fraction}"
        )
    val_videos = rng.permutation(videos)[:n_val]
    is_val = np.isin(ids, val_videos)
    return np.flatnonzero(~is_val).astype(np.int64), np.flatnonzero(is_val).astype(np.int64)


def resize_crop(
    image: np.ndarray, landmarks: np.ndarray, size: int
) -> tuple[np.ndarray, np.ndarray]:
    h, w = image.shape[:2]
    if (h, w) == (size, size):
        return image, landmarks
    interp = cv2.INTER_AREA if min(h, w) > size else cv2.INTER_LINEAR
    resized = cv2.resize(image, (size, size), interpolation=interp)
    scale = np.array([size / w, size / h], dtype=np.float32)
    return resized, landmarks * scale


class PseudoFakePairs(Dataset):
    """Item ``i``: ``(real, fake)``, each ``(S, S, 3)`` uint8, from real crop ``records[i]``.

    The crop is resized to ``S = input_size`` and self-blended (:func:`self_blend`); ``real``
    is the blend's target image (which may carry SBI's colour/quality shift itself), so the
    two differ only by the blend. With ``augment``, both are flipped left-right together
    with probability 1/2. Call :meth:`set_epoch` before each epoch; a dataset never given an
    epoch (validation) yields identical items every time. ``stream`` keeps the draws of
    datasets sharing a seed (training, validation) independent.
    """

    def __init__(
        self,
        records: Sequence[CropRecord],
        input_size: int,
        seed: int,
        augment: bool = True,
        blend: Mapping[str, Any] | None = None,
        stream: int = 0,
    ) -> None:
        self.records = records
        self.stream = int(stream)
        self.input_size = int(input_size)
        self.seed = int(seed)
        self.augment = augment
        self.blend = dict(blend or {})
        self.epoch = 0
        self._config = None

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.records)

    def _blend_config(self):
        if self._config is None and self.blend:
            from difffake_core.pseudofakes import SBIConfig

            self._config = SBIConfig(**self.blend)
        return self._config

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        from difffake_core.pseudofakes import self_blend

        record = self.records[index]
        rng = np.random.default_rng([self.stream, self.seed, self.epoch, int(index)])
        image, landmarks = resize_crop(record.decode(), record.landmarks, self.input_size)
        fake = self_blend(image, landmarks, rng, self._blend_config())
        real = fake.target if getattr(fake, "target", None) is not None else image
        out_real, out_fake = real, fake.image
        if self.augment and rng.random() < 0.5:
            out_real, out_fake = out_real[:, ::-1], out_fake[:, ::-1]
        return np.ascontiguousarray(out_real), np.ascontiguousarray(out_fake)


def collate_pairs(items: list[tuple[np.ndarray, np.ndarray]]) -> tuple[torch.Tensor, torch.Tensor]:
    """``B`` pairs -> ``(images, labels)``: images ``(2B, S, S, 3)`` uint8, reals first;
    labels ``(2B,)`` int64, 0 = real, 1 = fake."""
    reals = np.stack([r for r, _ in items])
    fakes = np.stack([f for _, f in items])
    images = torch.from_numpy(np.concatenate([reals, fakes]))
    labels = torch.cat([torch.zeros(len(items)), torch.ones(len(items))]).long()
    return images, labels
