"""DeeperForensics-1.0 (Jiang et al., CVPR 2020).

Layout under the root::

    manipulated_videos/<perturbation>/000_M101.mp4   fake, method "<perturbation>"
    source_videos/M101/.../*.mp4                      real actor recordings, method "real"
    lists/splits/{train,val,test}.txt                 optional, one file name per line

``<perturbation>`` is e.g. ``end_to_end``, ``end_to_end_level_3``, ``end_to_end_mix_4_distortions``
or ``reenact_postprocess``. Fake names are ``<FF++ target id>_<actor>.mp4``.

Real videos. The DeeperForensics fakes swap actors into FaceForensics++ youtube videos, so
benchmarks usually pair them with those FF++ originals: ``originals_dir=`` points at a
folder of FF++ originals (``.../original_sequences/youtube/c23/videos``, may lie outside
the root), and then ``source_videos/`` is not read. Without it the ``source_videos/`` tree
(if present) supplies the reals.

Splits. A video whose file name appears in ``<name>.txt`` gets that split (only the last
path component of each line is used, so ``end_to_end/000_M101.mp4`` and ``000_M101.mp4``
both work; the same name in two lists is an error). An FF++ original ``000.mp4`` gets the
split of the fakes ``000_*`` when all listed ones agree; otherwise None. No lists -> None.

Ids: ``deeperforensics/manipulated_videos/end_to_end/000_M101``,
``deeperforensics/source_videos/M101/...``, ``deeperforensics/ffpp_originals/000``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path, PurePosixPath

from data_catalog.adapters.base import (
    SPLITS,
    VIDEO_EXTENSIONS,
    CorpusAdapter,
    CorpusRootError,
    ManifestError,
    VideoEntry,
    register_adapter,
    relative_id,
    scan_files,
    select_subfolders,
    strip_extension,
)


@register_adapter
class DeeperForensicsAdapter(CorpusAdapter):
    """DeeperForensics-1.0 manipulated videos plus a source of real videos.

    Args:
        root: folder holding ``manipulated_videos/``.
        perturbations: perturbation folders to include; None = all present.
        originals_dir: folder of FF++ original videos used as the reals (absolute, or
            relative to the root).
        include_real: include real videos at all.
        splits_dir: folder of ``train.txt``/``val.txt``/``test.txt``; default
            ``<root>/lists/splits``.
    """

    name = "deeperforensics"

    def __init__(
        self,
        root: str | Path,
        *,
        perturbations: Sequence[str] | str | None = None,
        originals_dir: str | Path | None = None,
        include_real: bool = True,
        splits_dir: str | Path | None = None,
    ) -> None:
        super().__init__(root)
        if not (self.root / "manipulated_videos").is_dir():
            raise CorpusRootError(f"{self.root} has no manipulated_videos/ folder")
        self.perturbations = [perturbations] if isinstance(perturbations, str) else perturbations
        self.originals_dir = None if originals_dir is None else self.root / Path(originals_dir)
        if self.originals_dir is not None and not self.originals_dir.is_dir():
            raise CorpusRootError(f"originals_dir is not a folder: {self.originals_dir}")
        self.include_real = include_real
        self.splits_dir = (
            self.root / Path(splits_dir) if splits_dir is not None else self.root / "lists/splits"
        )

    def allowed_roots(self) -> list[Path]:
        extra = [self.originals_dir] if self.originals_dir is not None else []
        return [self.root, *extra]

    def _selected(self) -> list[str]:
        base = self.root / "manipulated_videos"
        return select_subfolders(base, self.perturbations, "perturbation")

    def _scan(self) -> Iterator[VideoEntry]:
        splits = self._load_splits()
        fakes = []
        for perturbation in self._selected():
            folder = self.root / "manipulated_videos" / perturbation
            for path in scan_files(folder, VIDEO_EXTENSIONS):
                video_id = f"{self.name}/{relative_id(path, self.root)}"
                fakes.append(
                    self._entry(video_id, path, "fake", splits.get(path.name), perturbation)
                )
        if self.include_real:
            yield from self._reals(splits)
        yield from fakes

    def _reals(self, splits: dict[str, str]) -> Iterator[VideoEntry]:
        if self.originals_dir is not None:
            by_target: dict[str, set[str]] = {}
            for name, split in splits.items():
                target = name.split("_", 1)[0]
                by_target.setdefault(target, set()).add(split)
            for path in scan_files(self.originals_dir, VIDEO_EXTENSIONS, recursive=False):
                stem = strip_extension(path.name)
                agreed = by_target.get(stem, set())
                split = splits.get(path.name) or (next(iter(agreed)) if len(agreed) == 1 else None)
                yield self._entry(f"{self.name}/ffpp_originals/{stem}", path, "real", split, "real")
        elif (self.root / "source_videos").is_dir():
            for path in scan_files(self.root / "source_videos", VIDEO_EXTENSIONS):
                video_id = f"{self.name}/{relative_id(path, self.root)}"
                yield self._entry(video_id, path, "real", splits.get(path.name), "real")

    def _load_splits(self) -> dict[str, str]:
        """``{file name: split}`` from the split lists that exist."""
        found: dict[str, tuple[str, Path, int]] = {}
        for split in SPLITS:
            file = self.splits_dir / f"{split}.txt"
            if not file.is_file():
                continue
            for number, line in enumerate(file.read_text(encoding="utf-8").splitlines(), start=1):
                if not line.strip():
                    continue
                name = PurePosixPath(line.split()[0].replace("\\", "/")).name
                if name in found and found[name][0] != split:
                    other = found[name]
                    raise ManifestError(
                        f"{name!r} is also listed in {other[1]} line {other[2]}", file, number
                    )
                found[name] = (split, file, number)
        return {name: split for name, (split, _, _) in found.items()}
