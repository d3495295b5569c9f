"""Generic folder corpus: a CSV manifest, ``real/`` + ``fake/`` folders, or a flat archive.

Layouts (``layout="auto"`` picks the first that applies):

``manifest``
    ``manifest.csv`` at the root, the file named by ``manifest=`` (relative to the root
    or absolute), or a CSV file given as the root itself (its folder is then the root). Columns ``path,label`` and optionally ``split,method`` (header names are
    case-insensitive; other columns are ignored). ``path`` is relative to the root and must
    stay inside it. Only listed files become entries; a listed file that does not exist
    still gets a row so the decoding stage reports it.
``folders``
    ``real/`` and/or ``fake/`` at the root (names case-insensitive), walked recursively. A
    fake inside a sub-folder (``fake/Deepfakes/x.mp4``) gets that sub-folder as its method.
``flat``
    Every file under the root, unlabelled (``label=None``): an archive to score.

By default every regular, non-hidden file is an entry except known companion files
(``.csv .json .txt .md ...``, see ``SIDECAR_EXTENSIONS``), so that a truncated or non-video
file gets a status row downstream instead of vanishing here. ``video_only=True`` keeps only
the extensions in ``VIDEO_EXTENSIONS``. ``label=`` forces one label on every entry.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

from data_catalog.adapters.base import (
    VIDEO_EXTENSIONS,
    CorpusAdapter,
    CorpusError,
    CorpusRootError,
    ManifestError,
    VideoEntry,
    normalise_label,
    normalise_split,
    register_adapter,
    relative_id,
    resolve_listed,
    scan_files,
)

LAYOUTS = ("auto", "manifest", "folders", "flat")
DEFAULT_MANIFEST = "manifest.csv"


@register_adapter
class FolderAdapter(CorpusAdapter):
    """A corpus in a plain folder (see the module docstring for the layouts).

    Args:
        root: corpus root folder, or a CSV manifest (its folder is then the root).
        layout: ``"auto"``, ``"manifest"``, ``"folders"`` or ``"flat"``.
        manifest: CSV manifest path; implies ``layout="manifest"`` under ``"auto"``.
        label: force this label (``real``/``fake`` or a synonym) on every entry.
        video_only: keep only files with a known video extension.
    """

    name = "folder"

    def __init__(
        self,
        root: str | Path,
        *,
        layout: str = "auto",
        manifest: str | Path | None = None,
        label: str | None = None,
        video_only: bool = False,
    ) -> None:
        given = Path(root).expanduser()
        if given.is_file():  # a manifest given as the root: its folder is the corpus root
            if manifest is not None:
                raise CorpusError(f"root {given} is a file and manifest={manifest!r} is also set")
            root, manifest = given.parent, given.resolve()
        super().__init__(root)
        if layout not in LAYOUTS:
            raise CorpusError(f"unknown folder layout {layout!r}; valid: {', '.join(LAYOUTS)}")
        try:
            self.label = None if label is None else normalise_label(label)
        except ValueError as err:
            raise CorpusError(f"folder option label: {err}") from None
        self.layout, self.video_only = layout, video_only
        self.manifest = None if manifest is None else self.root / Path(manifest).expanduser()

    def resolved_layout(self) -> str:
        """The layout that :meth:`entries` will read (resolves ``"auto"``)."""
        if self.layout != "auto":
            return self.layout
        if self.manifest is not None or (self.root / DEFAULT_MANIFEST).is_file():
            return "manifest"
        return "folders" if self._label_dirs() else "flat"

    def _scan(self) -> Iterator[VideoEntry]:
        layout = self.resolved_layout()
        if layout == "manifest":
            yield from self._scan_manifest()
        elif layout == "folders":
            yield from self._scan_folders()
        else:
            yield from self._scan_flat()

    def _files(self, directory: Path) -> list[Path]:
        return scan_files(directory, VIDEO_EXTENSIONS if self.video_only else None)

    def _label_dirs(self) -> dict[str, Path]:
        """``{"real": <dir>, "fake": <dir>}`` for the label folders present at the root."""
        found: dict[str, Path] = {}
        for child in sorted(self.root.iterdir()):
            key = child.name.lower()
            if key in ("real", "fake") and child.is_dir():
                if key in found:
                    raise CorpusError(f"{self.root}: both {found[key].name}/ and {child.name}/")
                found[key] = child
        return found

    def _default_method(self, label: str | None) -> str | None:
        return "real" if label == "real" else None

    def _scan_folders(self) -> Iterator[VideoEntry]:
        dirs = self._label_dirs()
        if not dirs:
            raise CorpusRootError(f"{self.root}: no real/ or fake/ folder for layout 'folders'")
        for folder_label in ("real", "fake"):
            if folder_label not in dirs:
                continue
            label = self.label or folder_label
            for path in self._files(dirs[folder_label]):
                inner = path.relative_to(dirs[folder_label]).parts
                method = inner[0] if folder_label == "fake" and len(inner) > 1 else None
                yield self._entry(
                    relative_id(path, self.root),
                    path,
                    label,
                    None,
                    method or self._default_method(label),
                )

    def _scan_flat(self) -> Iterator[VideoEntry]:
        for path in self._files(self.root):
            label = self.label
            yield self._entry(
                relative_id(path, self.root), path, label, None, self._default_method(label)
            )

    def _scan_manifest(self) -> Iterator[VideoEntry]:
        manifest = self.manifest or self.root / DEFAULT_MANIFEST
        if not manifest.is_file():
            raise CorpusRootError(f"manifest not found: {manifest}")
        with manifest.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle)
            header = next(reader, None)
            if header is None:
                raise ManifestError("empty manifest, expected a header row", manifest, 1)
            columns = {name.strip().lower(): i for i, name in enumerate(header)}
            missing = [c for c in ("path", "label") if c not in columns]
            if self.label is not None and "label" in missing:
                missing.remove("label")  # the forced label stands in for the column
            if missing:
                raise ManifestError(
                    f"missing column(s) {', '.join(missing)}; header is {header}", manifest, 1
                )
            first_line: dict[str, int] = {}
            for row in reader:
                if not any(cell.strip() for cell in row):
                    continue
                entry = self._manifest_row(row, columns, manifest, reader.line_num)
                if entry.path in first_line:  # same-id files (clip.mkv, clip.avi) are fine
                    raise ManifestError(
                        f"path {entry.path!r} already listed on line {first_line[entry.path]}",
                        manifest,
                        reader.line_num,
                    )
                first_line[entry.path] = reader.line_num
                yield entry

    def _manifest_row(
        self, row: list[str], columns: dict[str, int], manifest: Path, line: int
    ) -> VideoEntry:
        def cell(name: str) -> str:
            i = columns.get(name)
            return row[i].strip() if i is not None and i < len(row) else ""

        if not cell("path"):
            raise ManifestError("empty path", manifest, line)
        path = resolve_listed(self.root, cell("path"), where=f"{manifest}:{line}")
        try:
            label = self.label or normalise_label(cell("label"))
            split = normalise_split(cell("split"))
        except ValueError as err:
            raise ManifestError(str(err), manifest, line) from None
        method = cell("method") or self._default_method(label)
        return self._entry(relative_id(path, self.root), path, label, split, method)
