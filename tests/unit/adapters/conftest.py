"""Tiny synthetic corpus trees: empty placeholder files (adapters never decode videos)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

import pytest


def write_files(root: Path, relative_paths: Iterable[str]) -> None:
    for rel in relative_paths:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()


@pytest.fixture
def make_tree(tmp_path: Path) -> Callable[..., Path]:
    """``make_tree("name", ["a/b.mp4", ...], {"list.txt": "content"})`` -> corpus root."""

    def make(name: str, files: Iterable[str] = (), texts: dict[str, str] | None = None) -> Path:
        root = tmp_path / name
        root.mkdir()
        write_files(root, files)
        for rel, content in (texts or {}).items():
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_text(content, encoding="utf-8")
        return root

    return make
