"""Embedding pairs: which frames of one face track are paired, and how two embeddings combine.

DiffFake scores a video by how *consistent* its frames are: two embeddings ``a`` and ``b``
of the same face are combined into one vector (by default ``(a - b) ** 2``), the row is
L2-normalised, and an anomaly model fitted on real pairs says how normal the pair looks.

Pair strategies (:class:`PairStrategy`), for a track of ``n`` frames sorted by frame index:

``paper``
    As in the reference implementation: a set of *partner* frames is held out and every
    other frame is paired with one partner drawn at random. The partners are ``images_to_pair``
    frames chosen **at random** (with the given generator) when ``n > 2 * images_to_pair``,
    otherwise ``ceil(n / 2)`` frames (the other ``floor(n / 2)`` are paired). Gives
    ``n - n_partners`` pairs: about ``n`` pairs per track, no frame pairs with itself.
``all``
    Every unordered pair ``i < j``: ``n (n - 1) / 2`` pairs (grows fast; for evaluation of
    short tracks).
``consecutive``
    ``(i, i + 1)``: ``n - 1`` pairs of neighbouring sampled frames.

Every pair is oriented earlier frame first (``a < b``), so the signed combinations
(``diff``, ``cube_diff``) mean "earlier minus later" for every strategy. (The reference code
kept a random order; the paper's default ``sq_diff`` is symmetric, so this only matters
for the signed ops.)
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum, StrEnum
from typing import Any

import numpy as np

from difffake_core.errors import UnknownNameError


class PairStrategy(StrEnum):
    """Which frames of one track are paired. See the module docstring."""

    PAPER = "paper"
    ALL = "all"
    CONSECUTIVE = "consecutive"


class CombineOp(StrEnum):
    """How embeddings ``a`` and ``b`` of a pair combine (before L2 normalisation)."""

    ABS_DIFF = "abs_diff"  # |a - b|
    DIFF = "diff"  # a - b
    SQ_DIFF = "sq_diff"  # (a - b) ** 2, the paper's default
    CUBE_DIFF = "cube_diff"  # (a - b) ** 3


def _coerce(enum_cls: type[Enum], value: Any, kind: str) -> Any:
    try:
        return enum_cls(value)
    except ValueError:
        raise UnknownNameError(kind, str(value), [m.value for m in enum_cls]) from None


def make_pairs(
    n_frames: int,
    strategy: PairStrategy | str,
    rng: np.random.Generator,
    images_to_pair: int = 8,
) -> np.ndarray:
    """Pair positions into one track's frame list (sorted by frame index).

    Args:
        n_frames: number of frames in the track.
        strategy: a :class:`PairStrategy` or its value.
        rng: the generator for the ``paper`` strategy (unused by the others).
        images_to_pair: number of held-out partner frames for ``paper``.

    Returns:
        Pairs of positions, shape ``(P, 2)``, int64, each row ``a < b``, rows sorted.
        Fewer than two frames gives an empty ``(0, 2)`` array.
    """
    strategy = _coerce(PairStrategy, strategy, "pair strategy")
    if n_frames < 0:
        raise ValueError(f"n_frames must be >= 0, got {n_frames}")
    if images_to_pair < 1:
        raise ValueError(f"images_to_pair must be >= 1, got {images_to_pair}")
    if n_frames < 2:
        return np.empty((0, 2), dtype=np.int64)
    if strategy is PairStrategy.ALL:
        a, b = np.triu_indices(n_frames, k=1)
        pairs = np.stack([a, b], axis=1)
    elif strategy is PairStrategy.CONSECUTIVE:
        a = np.arange(n_frames - 1)
        pairs = np.stack([a, a + 1], axis=1)
    else:
        n_partners = images_to_pair if n_frames > 2 * images_to_pair else n_frames - n_frames // 2
        order = rng.permutation(n_frames)
        partners, bases = order[:n_partners], np.sort(order[n_partners:])
        chosen = partners[rng.integers(0, n_partners, size=bases.size)]
        pairs = np.sort(np.stack([bases, chosen], axis=1), axis=1)
    pairs = pairs.astype(np.int64)
    return pairs[np.lexsort((pairs[:, 1], pairs[:, 0]))]


def combine(a: np.ndarray, b: np.ndarray, op: CombineOp | str = CombineOp.SQ_DIFF) -> np.ndarray:
    """Combine paired embeddings and L2-normalise each row.

    Args:
        a, b: embeddings, shape ``(P, D)`` each.
        op: a :class:`CombineOp` or its value.

    Returns:
        Shape ``(P, D)``, float32, unit-norm rows; a row that combines to all zeros (two
        identical embeddings) stays zero rather than becoming NaN.
    """
    op = _coerce(CombineOp, op, "combine op")
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.ndim != 2 or a.shape != b.shape:
        raise ValueError(f"a and b must both have shape (P, D), got {a.shape} and {b.shape}")
    d = a - b
    if op is CombineOp.ABS_DIFF:
        d = np.abs(d)
    elif op is CombineOp.SQ_DIFF:
        d = d * d
    elif op is CombineOp.CUBE_DIFF:
        d = d * d * d
    norms = np.linalg.norm(d, axis=1, keepdims=True)
    d = np.divide(d, norms, out=np.zeros_like(d), where=norms > 0)
    return d.astype(np.float32)


@dataclass(frozen=True)
class PairSet:
    """Combined pair vectors and where they came from. ``P`` pairs.

    Attributes:
        video_id: shape ``(P,)``, the video of each pair.
        group_id: shape ``(P,)``, the face track (or other group) inside the video.
        frame_a, frame_b: shape ``(P,)`` int64, frame indices, ``frame_a < frame_b``.
        vectors: shape ``(P, D)`` float32, combined and L2-normalised.
        row_a, row_b: shape ``(P,)`` int64, row positions into the arrays given to
            :func:`build_pairs` (to join back to the embeddings table).
    """

    video_id: np.ndarray
    group_id: np.ndarray
    frame_a: np.ndarray
    frame_b: np.ndarray
    vectors: np.ndarray
    row_a: np.ndarray
    row_b: np.ndarray

    def __post_init__(self) -> None:
        n = len(self.vectors)
        for field in ("video_id", "group_id", "frame_a", "frame_b", "row_a", "row_b"):
            if len(getattr(self, field)) != n:
                raise ValueError(f"PairSet.{field} has {len(getattr(self, field))} rows, not {n}")

    def __len__(self) -> int:
        return len(self.vectors)


def _key_seed(base: int, video_id: Any, group_id: Any) -> np.random.Generator:
    """A generator that depends only on ``base`` and the (video, group) key."""
    digest = hashlib.sha256(f"{video_id!s}\x00{group_id!s}".encode()).digest()
    words = np.frombuffer(digest[:16], dtype=np.uint32).tolist()
    return np.random.default_rng([base, *words])


def build_pairs(
    video_ids: Sequence[Any] | np.ndarray,
    frame_indices: Sequence[int] | np.ndarray,
    vectors: np.ndarray,
    strategy: PairStrategy | str,
    op: CombineOp | str,
    rng: np.random.Generator,
    images_to_pair: int = 8,
    group_ids: Sequence[Any] | np.ndarray | None = None,
) -> PairSet:
    """Pair embeddings inside each (video, group) and combine them.

    Args:
        video_ids: shape ``(N,)``, video of each embedding.
        frame_indices: shape ``(N,)``, frame index of each embedding.
        vectors: embeddings, shape ``(N, D)``.
        strategy, op, images_to_pair: see :func:`make_pairs` and :func:`combine`.
        rng: exactly one number is drawn from it; each (video, group) then gets its own
            generator seeded from that number and the key, so a video's pairs do not depend
            on which other videos are in the batch.
        group_ids: shape ``(N,)``, e.g. face-track ids; pairs never cross groups. ``None``
            puts all faces of a video in group ``0``.

    Returns:
        A :class:`PairSet`, groups in sorted (video, group) order, pairs sorted by frame.

    Raises:
        ValueError: on mismatched lengths, or a frame index repeated inside one group
            (several faces per frame need ``group_ids``).
    """
    strategy = _coerce(PairStrategy, strategy, "pair strategy")
    op = _coerce(CombineOp, op, "combine op")
    vectors = np.asarray(vectors)
    if vectors.ndim != 2:
        raise ValueError(f"vectors must have shape (N, D), got {vectors.shape}")
    n = len(vectors)
    vids = np.asarray(video_ids)
    frames = np.asarray(frame_indices, dtype=np.int64)
    gids = np.zeros(n, dtype=np.int64) if group_ids is None else np.asarray(group_ids)
    for name, arr in (("video_ids", vids), ("frame_indices", frames), ("group_ids", gids)):
        if arr.shape != (n,):
            raise ValueError(f"{name} must have shape ({n},) to match vectors, got {arr.shape}")
    base = int(rng.integers(0, 2**63 - 1))

    keys: dict[tuple[Any, Any], list[int]] = {}
    for row, key in enumerate(zip(vids.tolist(), gids.tolist(), strict=True)):
        keys.setdefault(key, []).append(row)
    rows_a: list[np.ndarray] = []
    rows_b: list[np.ndarray] = []
    try:
        ordered = sorted(keys)
    except TypeError:  # mixed id types: fall back to their text
        ordered = sorted(keys, key=lambda k: (str(k[0]), str(k[1])))
    for key in ordered:
        rows = np.asarray(keys[key], dtype=np.int64)
        rows = rows[np.argsort(frames[rows], kind="stable")]
        f = frames[rows]
        if f.size > 1 and np.any(f[1:] == f[:-1]):
            dup = int(f[1:][f[1:] == f[:-1]][0])
            raise ValueError(
                f"frame {dup} appears twice in video {key[0]!r} group {key[1]!r}; "
                "pass group_ids (e.g. face-track ids) when a frame holds several faces"
            )
        pos = make_pairs(len(rows), strategy, _key_seed(base, *key), images_to_pair)
        rows_a.append(rows[pos[:, 0]])
        rows_b.append(rows[pos[:, 1]])
    ra = np.concatenate(rows_a) if rows_a else np.empty(0, dtype=np.int64)
    rb = np.concatenate(rows_b) if rows_b else np.empty(0, dtype=np.int64)
    if ra.size:
        combined = combine(vectors[ra], vectors[rb], op)
    else:
        combined = np.empty((0, vectors.shape[1]), dtype=np.float32)
    return PairSet(
        video_id=vids[ra],
        group_id=gids[ra],
        frame_a=frames[ra],
        frame_b=frames[rb],
        vectors=combined,
        row_a=ra,
        row_b=rb,
    )
