"""FaceForensics++ (Rössler et al., ICCV 2019) as laid out by its official download script.

Layout under the root (``<q>`` is the compression: ``c0``/``raw``, ``c23`` or ``c40``; the
script names lossless ``raw`` in recent versions and ``c0`` in older ones, both are found)::

    original_sequences/youtube/<q>/videos/000.mp4             real, method "real"
    original_sequences/actors/<q>/videos/01__walking.mp4      real (DeepFakeDetection actors)
    manipulated_sequences/<Method>/<q>/videos/000_003.mp4     fake, method "<Method>"
    splits/{train,val,test}.json                              optional official splits

``<Method>`` is one of Deepfakes, Face2Face, FaceSwap, NeuralTextures, FaceShifter,
DeepFakeDetection (any other folder found there is taken too when ``methods`` is None).

Splits: each json file is a list of ``[target, source]`` id pairs (``["953", "974"]``). A
real video ``953`` is in the split whose pairs contain ``953``; a fake ``953_974`` or
``974_953`` is in the split of the pair ``{953, 974}``. Videos in no pair (the actors,
DeepFakeDetection) and every video when no split file exists get ``split=None``.

Ids: ``ffpp/youtube/c23/000``, ``ffpp/actors/c23/01__walking``, ``ffpp/Deepfakes/c23/000_003``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from data_catalog.adapters.base import (
    SPLITS,
    VIDEO_EXTENSIONS,
    CorpusAdapter,
    CorpusError,
    CorpusRootError,
    ManifestError,
    VideoEntry,
    register_adapter,
    scan_files,
    select_subfolders,
)

COMPRESSIONS = ("c0", "raw", "c23", "c40")
_LOSSLESS = ("raw", "c0")


@register_adapter
class FaceForensicsAdapter(CorpusAdapter):
    """FaceForensics++ videos of one compression level.

    Args:
        root: folder holding ``original_sequences/`` and/or ``manipulated_sequences/``.
        compression: ``"c23"`` (default), ``"c40"``, or ``"c0"``/``"raw"`` (lossless).
        methods: manipulation folders to include; None = every one present.
        include_real: include the real videos (youtube, and actors when DeepFakeDetection
            is selected).
        splits_dir: folder of ``train.json``/``val.json``/``test.json``; default
            ``<root>/splits``. Relative paths are taken from the root.
    """

    name = "ffpp"

    def __init__(
        self,
        root: str | Path,
        *,
        compression: str = "c23",
        methods: Sequence[str] | str | None = None,
        include_real: bool = True,
        splits_dir: str | Path | None = None,
    ) -> None:
        super().__init__(root)
        if compression not in COMPRESSIONS:
            raise CorpusError(
                f"unknown FF++ compression {compression!r}; valid: {', '.join(COMPRESSIONS)}"
            )
        if not any(
            (self.root / d).is_dir() for d in ("original_sequences", "manipulated_sequences")
        ):
            raise CorpusRootError(
                f"{self.root} has neither original_sequences/ nor manipulated_sequences/"
            )
        self.compression = compression
        self.methods = [methods] if isinstance(methods, str) else methods
        self.include_real = include_real
        self.splits_dir = self.root / Path(splits_dir) if splits_dir is not None else None

    def _videos_dir(self, parent: Path) -> Path:
        """``parent/<q>/videos``; for lossless, whichever of raw/c0 exists."""
        names = _LOSSLESS if self.compression in _LOSSLESS else (self.compression,)
        for name in names:
            if (parent / name / "videos").is_dir():
                return parent / name / "videos"
        return parent / self.compression / "videos"

    def _selected_methods(self) -> list[str]:
        base = self.root / "manipulated_sequences"
        return select_subfolders(base, self.methods, "FF++ method")

    def _scan(self) -> Iterator[VideoEntry]:
        real_split, pair_split = self._load_splits()
        methods = self._selected_methods()
        if self.include_real:
            youtube = self._videos_dir(self.root / "original_sequences" / "youtube")
            yield from self._videos(youtube, "youtube", "real", lambda s: real_split.get(s))
            actors = self._videos_dir(self.root / "original_sequences" / "actors")
            wants_actors = self.methods is None or "DeepFakeDetection" in methods
            if wants_actors and actors.is_dir():
                yield from self._videos(actors, "actors", "real", lambda s: None)
        for method in methods:
            folder = self._videos_dir(self.root / "manipulated_sequences" / method)
            yield from self._videos(folder, method, "fake", lambda s: pair_split.get(_pair(s)))

    def _videos(
        self, folder: Path, group: str, label: str, split_of: Callable[[str], str | None]
    ) -> Iterator[VideoEntry]:
        if not folder.is_dir():
            raise CorpusError(f"FF++ folder missing for compression {self.compression}: {folder}")
        quality = folder.parent.name
        method = "real" if label == "real" else group
        for path in scan_files(folder, VIDEO_EXTENSIONS, recursive=False):
            video_id = f"{self.name}/{group}/{quality}/{path.stem}"
            yield self._entry(video_id, path, label, split_of(path.stem), method)

    def _load_splits(self) -> tuple[dict[str, str], dict[frozenset[str], str]]:
        """``({video_id: split}, {frozenset(pair): split})`` from the official json files."""
        folder = self.splits_dir or self.root / "splits"
        if self.splits_dir is not None and not folder.is_dir():
            raise CorpusError(f"FF++ splits_dir is not a folder: {folder}")
        real: dict[str, str] = {}
        pairs: dict[frozenset[str], str] = {}
        for split in SPLITS:
            file = folder / f"{split}.json"
            if not file.is_file():
                continue
            for pair in _read_pairs(file):
                for vid in pair:
                    if real.setdefault(vid, split) != split:
                        raise ManifestError(
                            f"video {vid} is in both {real[vid]}.json and {split}.json", file
                        )
                pairs[frozenset(pair)] = split
        return real, pairs


def _pair(stem: str) -> frozenset[str] | None:
    """``"953_974"`` -> ``{"953", "974"}``; None for names that are not id pairs."""
    parts = stem.split("_")
    if len(parts) == 2 and all(p.isdigit() for p in parts):
        return frozenset(parts)
    return None


def _read_pairs(file: Path) -> list[tuple[str, str]]:
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ManifestError(f"invalid JSON: {err.msg}", file, err.lineno) from None
    if not isinstance(data, list):
        raise ManifestError(
            f"expected a list of [target, source] pairs, got {type(data).__name__}", file
        )
    pairs = []
    for i, item in enumerate(data, start=1):
        ok = isinstance(item, list) and len(item) == 2
        ok = ok and all(isinstance(v, str | int) and str(v).isdigit() for v in item)
        if not ok:
            raise ManifestError(f"entry {i} is {item!r}, expected a pair like ['953', '974']", file)
        pairs.append((f"{int(item[0]):03d}", f"{int(item[1]):03d}"))
    return pairs
