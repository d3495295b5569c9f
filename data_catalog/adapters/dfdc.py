"""Deepfake Detection Challenge (DFDC, Dolhansky et al. 2020) full and preview releases.

Every folder up to ``max_depth`` levels below the root (the root included) that holds one of
these files is a part of the corpus:

``metadata.json`` (training parts ``dfdc_train_part_0`` ... ``dfdc_train_part_49``)
    ``{"aaqaifqrwn.mp4": {"label": "FAKE", "split": "train", "original": "vudstovrck.mp4"},
    ...}``; filenames are relative to that folder. ``split`` is optional (None if absent).
``labels.csv`` (public validation/test sets)
    columns ``filename,label`` with ``label`` 1 = fake, 0 = real (REAL/FAKE also accepted)
    and an optional ``split`` column; rows without it get ``labels_split`` (default "test").

A folder with both files is read from ``metadata.json`` only. Files on disk that their part's
metadata does not list are not entries: the metadata is the corpus. Listed files missing on
disk still get a row. DFDC does not publish the manipulation method of each fake, so fakes
have ``method=None`` and reals ``"real"``.

Ids: ``dfdc/<part folder>/<stem>``, e.g. ``dfdc/dfdc_train_part_0/aaqaifqrwn``.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterator
from pathlib import Path

from data_catalog.adapters.base import (
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
)

METADATA = "metadata.json"
LABELS = "labels.csv"


@register_adapter
class DFDCAdapter(CorpusAdapter):
    """DFDC parts described by ``metadata.json`` or ``labels.csv``.

    Args:
        root: the DFDC folder (a single part, or a folder of parts).
        labels_split: split given to ``labels.csv`` rows that carry none.
        max_depth: how many folder levels below the root to look for parts.
    """

    name = "dfdc"

    def __init__(
        self, root: str | Path, *, labels_split: str | None = "test", max_depth: int = 2
    ) -> None:
        super().__init__(root)
        try:
            self.labels_split = normalise_split(labels_split)
        except ValueError as err:
            raise CorpusError(f"dfdc option labels_split: {err}") from None
        self.max_depth = max_depth
        self.parts = self._find_parts()
        if not self.parts:
            raise CorpusRootError(
                f"no {METADATA} or {LABELS} within {max_depth} level(s) of {self.root}"
            )

    def _find_parts(self) -> list[Path]:
        parts = []
        for current, dirs, files in os.walk(self.root):
            depth = len(Path(current).relative_to(self.root).parts)
            dirs[:] = (
                sorted(d for d in dirs if not d.startswith(".")) if depth < self.max_depth else []
            )
            if METADATA in files or LABELS in files:
                parts.append(Path(current))
        return sorted(parts)

    def _scan(self) -> Iterator[VideoEntry]:
        for part in self.parts:
            if (part / METADATA).is_file():
                yield from self._read_metadata(part / METADATA)
            else:
                yield from self._read_labels(part / LABELS)

    def _make(
        self, part: Path, filename: str, label: str, split: str | None, where: str
    ) -> VideoEntry:
        path = resolve_listed(self.root, filename, base=part, where=where)
        method = "real" if label == "real" else None
        return self._entry(
            f"{self.name}/{relative_id(path, self.root)}", path, label, split, method
        )

    def _read_metadata(self, file: Path) -> Iterator[VideoEntry]:
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
        except json.JSONDecodeError as err:
            raise ManifestError(f"invalid JSON: {err.msg}", file, err.lineno) from None
        if not isinstance(data, dict):
            raise ManifestError(
                f"expected an object of filename -> info, got {type(data).__name__}", file
            )
        for filename in sorted(data):
            info = data[filename]
            where = f"{file}: entry {filename!r}"
            if not isinstance(info, dict) or "label" not in info:
                raise ManifestError(f"entry {filename!r} has no label: {info!r}", file)
            try:
                label = normalise_label(info["label"])
                split = normalise_split(info.get("split"))
            except ValueError as err:
                raise ManifestError(f"entry {filename!r}: {err}", file) from None
            yield self._make(file.parent, filename, label, split, where)

    def _read_labels(self, file: Path) -> Iterator[VideoEntry]:
        with file.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            fields = {(name or "").strip().lower(): name for name in reader.fieldnames or []}
            if "filename" not in fields or "label" not in fields:
                raise ManifestError(
                    f"expected columns filename,label; got {reader.fieldnames}", file, 1
                )
            for row in reader:
                line = reader.line_num
                filename = (row[fields["filename"]] or "").strip()
                if not filename:
                    raise ManifestError("empty filename", file, line)
                try:
                    label = normalise_label(row[fields["label"]] or "")
                    raw_split = row[fields["split"]] if "split" in fields else None
                    split = normalise_split(raw_split) or self.labels_split
                except ValueError as err:
                    raise ManifestError(str(err), file, line) from None
                yield self._make(file.parent, filename, label, split, f"{file}:{line}")
