"""Temporal training of the extractor: frame pairs of one track with drifting pseudo-fakes.

DiffFake scores the change of embeddings between two frames of one video. Frame-only
training (the paper's recipe) never shows the extractor two frames together. With
``TrainConfig.temporal_weight > 0`` each training item is instead a pair of crops of one
face track (a frame and the next sampled frame of its track) blended with settings drawn
once and drifted between the two (:func:`~difffake_core.pseudofakes.blend_sequence`), and
the loss adds, to the real-vs-fake cross-entropy on every image, a pair term on the pooled
embeddings (:func:`temporal_pair_loss`): the squared change of the L2-normalised embedding
between the two fake frames should exceed that between the two real frames.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from difffake_core.training.data import CropRecord, PseudoFakePairs, resize_crop


def track_partners(records: Sequence[CropRecord]) -> np.ndarray:
    """For each record, the index of the next frame of its track (the last frame of a track
    pairs with the one before it; a single-frame track with itself).

    Tracks are ``(video_id, track_id)``; frames are ordered by ``frame_index`` (records
    without one keep their order). Shape ``(len(records),)`` int64.
    """
    tracks: dict[tuple[str, Any], list[int]] = defaultdict(list)
    for i, r in enumerate(records):
        tracks[(r.video_id, r.track_id)].append(i)
    partner = np.arange(len(records), dtype=np.int64)
    for members in tracks.values():
        order = sorted(members, key=lambda i: (records[i].frame_index is None,
                                               records[i].frame_index or 0, i))  # fmt: skip
        for k, i in enumerate(order):
            if len(order) > 1:
                partner[i] = order[k + 1] if k + 1 < len(order) else order[k - 1]
    return partner


class DriftingPseudoFakeSequences(PseudoFakePairs):
    """Item ``i``: ``(reals, fakes)``, each ``(2, S, S, 3)`` uint8: real crop ``records[i]``
    and its track partner (:func:`track_partners`), and their pseudo-fakes blended with one
    draw of settings drifted by at most ``drift`` between the two frames.

    As in :class:`~difffake_core.training.data.PseudoFakePairs`, the reals are the blends'
    targets, both frames are flipped together with probability 1/2 under ``augment``, and
    every item draws from ``default_rng([stream, seed, epoch, index])``.
    """

    def __init__(
        self,
        records: Sequence[CropRecord],
        input_size: int,
        seed: int,
        drift: float,
        augment: bool = True,
        blend: Mapping[str, Any] | None = None,
        stream: int = 0,
    ) -> None:
        if not 0.0 <= drift <= 1.0:
            raise ValueError(f"drift must be in [0, 1], got {drift}")
        super().__init__(records, input_size, seed, augment, blend, stream)
        self.partners = track_partners(records)
        self.drift = float(drift)

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        from difffake_core.pseudofakes import blend_sequence

        rng = np.random.default_rng([self.stream, self.seed, self.epoch, int(index)])
        frames = [self.records[int(index)], self.records[int(self.partners[index])]]
        crops = [resize_crop(r.decode(), r.landmarks, self.input_size) for r in frames]
        fakes = blend_sequence([c for c, _ in crops], [lm for _, lm in crops], rng, self.drift,
                               self._blend_config())  # fmt: skip
        reals = np.stack([f.target for f in fakes])
        blended = np.stack([f.image for f in fakes])
        if self.augment and rng.random() < 0.5:
            reals, blended = reals[:, :, ::-1], blended[:, :, ::-1]
        return np.ascontiguousarray(reals), np.ascontiguousarray(blended)


def collate_sequences(
    items: list[tuple[np.ndarray, np.ndarray]],
) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` two-frame items -> ``(images, labels)``: images ``(4n, S, S, 3)`` uint8 in the
    order real frame a, real frame b, fake frame a, fake frame b (``n`` each); labels
    ``(4n,)`` int64, 0 = real, 1 = fake. Image ``j`` and ``j + n`` are one pair for
    ``j < n`` (reals) and ``2n <= j < 3n`` (fakes)."""
    reals = np.stack([r for r, _ in items])  # (n, 2, S, S, 3)
    fakes = np.stack([f for _, f in items])
    images = np.concatenate([reals[:, 0], reals[:, 1], fakes[:, 0], fakes[:, 1]])
    n = len(items)
    labels = torch.cat([torch.zeros(2 * n), torch.ones(2 * n)]).long()
    return torch.from_numpy(images), labels


def pair_changes(embeddings: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Squared change of the L2-normalised embedding within each pair of a
    :func:`collate_sequences` batch. ``embeddings``: ``(4n, D)``. Returns ``(real, fake)``,
    each ``(n,)`` in ``[0, 4]``."""
    if embeddings.ndim != 2 or embeddings.shape[0] % 4:
        raise ValueError(
            f"embeddings must have shape (4n, D) (real a, real b, fake a, fake b), got "
            f"{tuple(embeddings.shape)}"
        )
    e = F.normalize(embeddings.float(), dim=1)
    real_a, real_b, fake_a, fake_b = e.chunk(4)
    return ((real_a - real_b) ** 2).sum(1), ((fake_a - fake_b) ** 2).sum(1)


def temporal_pair_loss(embeddings: torch.Tensor, temperature: float) -> torch.Tensor:
    """Logistic loss that the fake pair's embedding change exceeds the real pair's:
    ``mean(softplus((d_real - d_fake) / temperature))`` over the ``n`` sequences, with
    ``d`` from :func:`pair_changes`. ``log 2`` when the changes are equal; goes to 0 as the
    fake change grows past the real one by a few ``temperature``."""
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    d_real, d_fake = pair_changes(embeddings)
    return F.softplus((d_real - d_fake) / temperature).mean()
