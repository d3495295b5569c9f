"""Splitting a long listing into shards: fixed-size slices identified by their content.

A shard's identity (:func:`shard_digest`) is a hash of its rows (ids, paths, sizes, mtimes,
labels), not its position, so a rerun on an unchanged archive finds every finished shard and
a change to one file reruns only that file's shard.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

DEFAULT_SHARD_SIZE = 1000


def shard_bounds(n_items: int, shard_size: int = DEFAULT_SHARD_SIZE) -> list[tuple[int, int]]:
    """``[(start, stop), ...]`` covering ``range(n_items)`` in slices of ``shard_size``.

    >>> shard_bounds(5, 2)
    [(0, 2), (2, 4), (4, 5)]
    """
    if shard_size < 1:
        raise ValueError(f"shard_size must be >= 1, got {shard_size}")
    if n_items < 0:
        raise ValueError(f"n_items must be >= 0, got {n_items}")
    return [(s, min(s + shard_size, n_items)) for s in range(0, n_items, shard_size)]


def shard_digest(rows: Iterable[Mapping[str, Any]]) -> str:
    """sha256 of a shard's rows (order matters; keys sorted; values as JSON)."""
    h = hashlib.sha256()
    for row in rows:
        h.update(json.dumps(dict(row), sort_keys=True, default=str).encode())
        h.update(b"\n")
    return h.hexdigest()
