"""ForgeryNet (He et al., CVPR 2021), video part.

Sources: the ForgeryNet benchmark README ("VIDEO AND CLASS LABELS") and public loaders that
read ``Training/video_list.txt`` with names like ``train_video_release/1/<...>.mp4`` below
``Training/video/``. Two line formats are read, detected per line:

official
    ``<n> <video> [<start> <frames> <flag>] * n <binary> [<triple> [<n-way>]]`` where ``n``
    is the number of temporal segments (0 for real videos) and each segment is three tokens.
simple (re-packaged lists)
    ``<video> <binary> [<triple> [<n-way>]]``.

``binary`` is 1 for fake, 0 for real; ``triple`` is 0 real / 1 identity-replaced / 2
identity-remained; the n-way label is 0 for real and 1..15 for the manipulation approach.
**Assumption:** the published material we could consult does not give the id -> approach
name table, so ``method`` is ``"type_<n>"`` (``"real"`` for 0, None when the line has no
n-way label and the video is fake). A binary label that disagrees with the n-way one is an
error naming the file and line.

Where the lists are. ``lists=`` takes ``{"train": path, "val": path, "test": path}`` or a
sequence of paths. By default every ``*video_list*.txt`` at the root or one folder below it
is read (``Training/video_list.txt`` -> train, ``Validation/video_list.txt`` -> val,
``train_video_list.txt`` -> train; a bare root-level ``video_list.txt`` -> split None).
The split comes from the words in the file name and its folder name.

Video paths in a list are resolved against, in order, ``<list folder>/video``, the list's
folder and the root; the first that exists wins (a missing video falls back to the first
base whose folder exists, so it is still reported downstream). They must stay inside the root.

Ids: ``forgerynet/<path relative to the root, no extension>``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from data_catalog.adapters.base import (
    CorpusAdapter,
    CorpusError,
    CorpusRootError,
    ManifestError,
    VideoEntry,
    normalise_split,
    register_adapter,
    relative_id,
    resolve_listed,
)

_LIST_PATTERN = "*video_list*.txt"


def _is_int(token: str) -> bool:
    return token.isdigit()


def split_from_name(file: Path, root: Path) -> str | None:
    """train|val|test from the words of the list's file name and folder (else None)."""
    words = re.split(r"[^a-z0-9]+", file.stem.lower())
    if file.parent != root:
        words += re.split(r"[^a-z0-9]+", file.parent.name.lower())
    for word in words:
        try:
            split = normalise_split(word)
        except ValueError:
            continue
        if split is not None:
            return split
    return None


@register_adapter
class ForgeryNetAdapter(CorpusAdapter):
    """ForgeryNet videos listed in its video list files.

    Args:
        root: the ForgeryNet folder (holding ``Training/``, ``Validation/`` ...).
        lists: ``{split: list file}`` or a sequence of list files (split from the name);
            relative paths are taken from the root. Default: discovered (module docstring).
    """

    name = "forgerynet"

    def __init__(
        self,
        root: str | Path,
        *,
        lists: Mapping[str, str | Path] | Sequence[str | Path] | None = None,
    ) -> None:
        super().__init__(root)
        self.lists = self._resolve_lists(lists)
        if not self.lists:
            raise CorpusRootError(f"no {_LIST_PATTERN} at {self.root} or one folder below")

    def _resolve_lists(
        self, lists: Mapping[str, str | Path] | Sequence[str | Path] | None
    ) -> list[tuple[Path, str | None]]:
        if lists is None:
            found = sorted(self.root.glob(_LIST_PATTERN)) + sorted(
                self.root.glob(f"*/{_LIST_PATTERN}")
            )
            return [(f, split_from_name(f, self.root)) for f in found if f.is_file()]
        if isinstance(lists, Mapping):
            pairs = []
            for key, file in lists.items():
                try:
                    pairs.append((self.root / Path(file), normalise_split(key)))
                except ValueError as err:
                    raise CorpusError(f"forgerynet option lists: {err}") from None
        else:
            files = [
                self.root / Path(f) for f in ([lists] if isinstance(lists, str | Path) else lists)
            ]
            pairs = [(f, split_from_name(f, self.root)) for f in files]
        missing = [str(f) for f, _ in pairs if not f.is_file()]
        if missing:
            raise CorpusRootError(f"ForgeryNet list file(s) not found: {', '.join(missing)}")
        return pairs

    def _scan(self) -> Iterator[VideoEntry]:
        for file, split in self.lists:
            bases = [file.parent / "video", file.parent, self.root]
            fallback = next((b for b in bases if b.is_dir()), self.root)
            text = file.read_text(encoding="utf-8")
            for number, line in enumerate(text.splitlines(), start=1):
                if not line.strip():
                    continue
                listed, label, method = _parse_line(line, file, number)
                where = f"{file}:{number}"
                path = None
                for base in bases:
                    candidate = resolve_listed(self.root, listed, base=base, where=where)
                    if candidate.exists():
                        path = candidate
                        break
                path = path or resolve_listed(self.root, listed, base=fallback, where=where)
                video_id = f"{self.name}/{relative_id(path, self.root)}"
                yield self._entry(video_id, path, label, split, method)


def _parse_line(line: str, file: Path, number: int) -> tuple[str, str, str | None]:
    """``(video path, label, method)`` of one list line, either format."""
    tokens = line.split()
    if len(tokens) >= 2 and _is_int(tokens[0]) and not _is_int(tokens[1]):
        segments = int(tokens[0])
        video, labels = tokens[1], tokens[2 + 3 * segments :]
        if len(tokens) < 2 + 3 * segments:
            labels = []
    else:
        video, labels = tokens[0], tokens[1:]
    if not 1 <= len(labels) <= 3 or not all(_is_int(t) for t in labels):
        raise ManifestError(
            f"expected '[<n> ]<video> [<segments>] <binary> [<triple> [<n-way>]]', got {line!r}",
            file,
            number,
        )
    binary = int(labels[0])
    if binary not in (0, 1):
        raise ManifestError(
            f"binary label must be 0 (real) or 1 (fake), got {binary}", file, number
        )
    label = "fake" if binary else "real"
    if len(labels) < 3:
        return video, label, None if binary else "real"
    kind = int(labels[2])
    if (kind == 0) != (binary == 0):
        raise ManifestError(
            f"binary label {binary} disagrees with manipulation type {kind} (0 = real)",
            file,
            number,
        )
    return video, label, "real" if kind == 0 else f"type_{kind}"
