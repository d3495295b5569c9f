"""Celeb-DF (v2, and v1 which shares the layout; Li et al., CVPR 2020).

Layout under the root::

    Celeb-real/id0_0000.mp4           real  (celebrity interviews)
    YouTube-real/00000.mp4            real  (extra YouTube clips)
    Celeb-synthesis/id0_id1_0000.mp4  fake, method "Celeb-synthesis"
    List_of_testing_videos.txt        "<flag> <folder>/<file>" per line

In the testing list the flag is ``1`` for real and ``0`` for fake (the opposite of the
usual convention), e.g. ``1 YouTube-real/00170.mp4``. Listed videos are ``split="test"``,
every other video ``"train"`` (Celeb-DF has no official validation split). Without the list
file every split is None. A flag that disagrees with the video's folder is an error. A
listed video absent from disk still gets a row so the decoding stage reports it.

Some re-packagings add a ``videos/`` level (``Celeb-real/videos/id0_0000.mp4``); it is
found, list entries are mapped into it, and ids stay the same.

Ids: ``celebdf/<folder>/<stem>``, e.g. ``celebdf/Celeb-synthesis/id0_id1_0000``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from data_catalog.adapters.base import (
    VIDEO_EXTENSIONS,
    CorpusAdapter,
    CorpusRootError,
    ManifestError,
    VideoEntry,
    register_adapter,
    resolve_listed,
    scan_files,
    strip_extension,
)

FOLDER_LABELS = {"Celeb-real": "real", "YouTube-real": "real", "Celeb-synthesis": "fake"}
TEST_LIST = "List_of_testing_videos.txt"
_LIST_FLAG = {"1": "real", "0": "fake"}


@register_adapter
class CelebDFAdapter(CorpusAdapter):
    """Celeb-DF videos with the official test list.

    Args:
        root: folder holding ``Celeb-real/``, ``YouTube-real/``, ``Celeb-synthesis/``.
        test_list: testing list file; default ``<root>/List_of_testing_videos.txt``.
            Relative paths are taken from the root.
    """

    name = "celebdf"

    def __init__(self, root: str | Path, *, test_list: str | Path | None = None) -> None:
        super().__init__(root)
        if not any((self.root / folder).is_dir() for folder in FOLDER_LABELS):
            raise CorpusRootError(
                f"{self.root} holds none of the Celeb-DF folders {', '.join(FOLDER_LABELS)}"
            )
        self.test_list = self.root / Path(test_list) if test_list is not None else None

    def _video_dir(self, folder: str) -> Path:
        """``<root>/<folder>``, or ``<root>/<folder>/videos`` where a re-packaging added it."""
        nested = self.root / folder / "videos"
        return nested if nested.is_dir() else self.root / folder

    def _scan(self) -> Iterator[VideoEntry]:
        listed = self._read_test_list()
        found: dict[Path, str] = {path: folder for path, folder in listed.items()}
        for folder in FOLDER_LABELS:
            if (self.root / folder).is_dir():
                for path in scan_files(self._video_dir(folder), VIDEO_EXTENSIONS, recursive=False):
                    found[path] = folder
        has_list = self.test_list is not None or (self.root / TEST_LIST).is_file()
        for path in sorted(found):
            folder = found[path]
            label = FOLDER_LABELS[folder]
            split = ("test" if path in listed else "train") if has_list else None
            method = "real" if label == "real" else folder
            video_id = f"{self.name}/{folder}/{strip_extension(path.name)}"
            yield self._entry(video_id, path, label, split, method)

    def _read_test_list(self) -> dict[Path, str]:
        """``{absolute path: folder}`` of the videos in the testing list."""
        file = self.test_list or self.root / TEST_LIST
        if self.test_list is None and not file.is_file():
            return {}
        if not file.is_file():
            raise CorpusRootError(f"Celeb-DF test list not found: {file}")
        listed: dict[Path, str] = {}
        for number, line in enumerate(file.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            tokens = line.split()
            if len(tokens) != 2 or tokens[0] not in _LIST_FLAG:
                raise ManifestError(
                    f"expected '<1|0> <folder>/<file>' (1 = real), got {line!r}", file, number
                )
            resolve_listed(self.root, tokens[1], where=f"{file}:{number}")  # refuse escapes
            parts = PurePosixPath(tokens[1]).parts
            if len(parts) != 2 or parts[0] not in FOLDER_LABELS:
                raise ManifestError(
                    f"{tokens[1]!r} is not '<folder>/<file>' with folder one of "
                    f"{', '.join(FOLDER_LABELS)}",
                    file,
                    number,
                )
            folder = parts[0]
            if _LIST_FLAG[tokens[0]] != FOLDER_LABELS[folder]:
                raise ManifestError(
                    f"flag {tokens[0]} means {_LIST_FLAG[tokens[0]]} but {folder}/ holds "
                    f"{FOLDER_LABELS[folder]} videos",
                    file,
                    number,
                )
            path = resolve_listed(
                self.root, parts[1], base=self._video_dir(folder), where=f"{file}:{number}"
            )
            listed[path] = folder
        return listed
