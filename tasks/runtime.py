"""Embedding runtimes for tasks, cached per process (models are loaded once)."""

from __future__ import annotations

import threading
from pathlib import Path

from difffake_core.embedding import SharedBatches
from difffake_core.faces.assets import cache_dir
from difffake_core.runtime import create_runtime, onnx_cache_path
from difffake_core.training.checkpoint import read_card

_lock = threading.Lock()
_cache: dict[tuple[str, str], object] = {}
_shared: dict[tuple[str, str], SharedBatches] = {}


def embedder(checkpoint_dir: str, runtime: str = "auto"):
    """The runtime for an extractor checkpoint folder; returns ``(runtime, input_size)``.

    ONNX exports go to the user cache, never into the (immutable) catalog folder.
    """
    key = (str(checkpoint_dir), runtime)
    card = read_card(checkpoint_dir)
    size = int(card["input_size"])
    with _lock:
        if key not in _cache:
            onnx = cache_dir().parent / "onnx" / onnx_cache_path(checkpoint_dir, size).name
            onnx.parent.mkdir(parents=True, exist_ok=True)
            _cache[key] = create_runtime(runtime, checkpoint=checkpoint_dir, onnx_path=onnx)
    return _cache[key], size


def extractor_dir(catalog, name: str, version: str) -> str:
    return str(Path(catalog.artifact_path(name, version)))


def shared_embedder(checkpoint_dir: str, runtime: str = "auto") -> SharedBatches:
    """Crops -> embeddings through this process's runtime, in batches shared by every video
    being scored in the process at the time (threads of one worker): a video with few faces
    rides along with its neighbours' crops. Each video still gets its own embeddings, and a
    failure its own error (see :class:`~difffake_core.embedding.SharedBatches`)."""
    model, size = embedder(checkpoint_dir, runtime)
    key = (str(checkpoint_dir), runtime)
    with _lock:
        if key not in _shared:
            _shared[key] = SharedBatches(model, size)
        return _shared[key]
