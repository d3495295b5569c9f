"""Embedding runtimes for tasks, cached per process (models are loaded once)."""

from __future__ import annotations

import threading
from pathlib import Path

from difffake_core.faces.assets import cache_dir
from difffake_core.runtime import create_runtime, onnx_cache_path
from difffake_core.training.checkpoint import read_card

_lock = threading.Lock()
_cache: dict[tuple[str, str], object] = {}


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
