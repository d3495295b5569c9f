"""Media matched by a glob pattern (``"/archive/**/*.mp4"``): an unlabelled archive to score.

Ids are the matched paths relative to their common folder, without extension; ``source`` is
``"glob"``. ``**`` matches any depth. Only regular files are entries; a pattern that matches no file is a
:class:`CorpusRootError` (most likely a typo), not an empty archive.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterator
from pathlib import Path

from data_catalog.adapters.base import (
    CorpusAdapter,
    CorpusRootError,
    VideoEntry,
    register_adapter,
    relative_id,
)

GLOB_CHARS = "*?["


def is_pattern(source: str) -> bool:
    """True when ``source`` is a glob pattern rather than an existing path."""
    return any(c in source for c in GLOB_CHARS) and not os.path.exists(source)


@register_adapter
class GlobAdapter(CorpusAdapter):
    """Every regular file matching ``root`` (a glob pattern), sorted by path."""

    name = "glob"

    def __init__(self, root: str | Path) -> None:  # the pattern stands in for a root folder
        self.pattern = str(Path(root).expanduser())
        self.paths = sorted(
            os.path.abspath(p) for p in glob.glob(self.pattern, recursive=True) if os.path.isfile(p)
        )
        if not self.paths:
            raise CorpusRootError(f"glob pattern matches no file: {self.pattern}")
        if len(self.paths) > 1:
            self.root = Path(os.path.commonpath(self.paths))
        else:
            self.root = Path(os.path.dirname(self.paths[0]))

    def _scan(self) -> Iterator[VideoEntry]:
        for path in self.paths:
            yield VideoEntry(relative_id(Path(path), self.root), path, None, None, None, self.name)

    def __repr__(self) -> str:
        return f"GlobAdapter(pattern={self.pattern!r})"
