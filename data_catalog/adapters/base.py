"""Corpus adapters: the shared contract, errors and path helpers.

A corpus adapter reads a corpus as it lies on disk (folder layout, manifests, split lists)
and yields one :class:`VideoEntry` per video. Adapters never open or decode a video: a
missing or corrupt file still gets a row, and the decoding stage records its status.

Identifiers. ``video_id`` is stable and unique within one corpus and has no file extension.
The generic ``folder`` adapter uses the path relative to the root (``"fake/clip_01"``);
adapters of published corpora prefix a compact id with their own name
(``"ffpp/Deepfakes/c23/000_003"``) so ids stay unique when corpora are concatenated.
Files that differ only by extension (``clip.mkv`` + ``clip.avi``) would share an id: those
ids, and only those, keep the file's extension (``"clip.avi"``, ``"clip.mkv"``), see
:func:`unique_video_ids`. The same path listed twice is an error.

Trust. Paths read from text (manifests, split lists, metadata) are checked: after
following symlinks they must stay inside the corpus root, otherwise :class:`PathEscapeError`.
Paths found by walking the root's folders are inside it lexically; a symlinked file there
whose target lies outside the root (``real/x.mp4 -> /etc/passwd``) still gets a row, with
``status="outside_root"``, and no stage reads it. The one documented exception is an explicit
option naming another folder (``deeperforensics``'s ``originals_dir``, see
:meth:`CorpusAdapter.allowed_roots`).
"""

from __future__ import annotations

import inspect
import os
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import astuple, dataclass, replace
from pathlib import Path, PurePosixPath
from typing import ClassVar

import pandas as pd

from difffake_core.errors import DiffFakeError
from difffake_core.registry import Registry
from difffake_core.status import Status

LABELS = ("real", "fake")
SPLITS = ("train", "val", "test")
COLUMNS = ("video_id", "path", "label", "split", "method", "source", "status")

VIDEO_EXTENSIONS = frozenset(
    {".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv", ".flv"}
)
# Companion files that sit next to videos and are never videos themselves.
SIDECAR_EXTENSIONS = frozenset(
    {".csv", ".json", ".jsonl", ".txt", ".md", ".yaml", ".yml", ".xml", ".tsv", ".parquet"}
    | {".md5", ".sha1", ".sha256", ".log", ".ini", ".pkl", ".npy", ".npz", ".srt", ".vtt"}
)

_REAL_WORDS = frozenset({"real", "0", "original", "pristine", "genuine", "authentic"})
_FAKE_WORDS = frozenset({"fake", "1", "manipulated", "deepfake", "synthetic", "forged"})
_SPLIT_WORDS = {
    "train": "train",
    "training": "train",
    "val": "val",
    "valid": "val",
    "validation": "val",
    "dev": "val",
    "test": "test",
    "testing": "test",
}


class CorpusError(DiffFakeError):
    """A corpus cannot be read as the adapter expects."""


class CorpusRootError(CorpusError):
    """The corpus root is missing, not a folder, or lacks the corpus's layout."""


class ManifestError(CorpusError):
    """A manifest, split list or metadata file is malformed.

    The message starts with ``"<file>:<line>: "`` (or ``"<file>: "`` when no line applies).
    """

    def __init__(self, message: str, file: str | Path, line: int | str | None = None) -> None:
        where = f"{file}" if line is None else f"{file}:{line}"
        super().__init__(f"{where}: {message}")
        self.file, self.line = str(file), line


class PathEscapeError(CorpusError):
    """A listed path resolves outside the corpus root (``..``, absolute, or symlink)."""

    def __init__(self, path: str | Path, root: str | Path, where: str = "") -> None:
        prefix = f"{where}: " if where else ""
        super().__init__(f"{prefix}path {str(path)!r} resolves outside the corpus root {root}")
        self.path, self.root = str(path), str(root)


class DuplicateVideoError(CorpusError):
    """Two entries of one corpus got the same ``video_id`` (or the same path)."""


@dataclass(frozen=True, slots=True)
class VideoEntry:
    """One video of a corpus. ``label``/``split``/``method`` are None when unknown.

    ``status`` is None for a file the stages may read; otherwise the listing already knows
    the file must not be read (``outside_root``) and the stages only record that status.
    """

    video_id: str
    path: str
    label: str | None
    split: str | None
    method: str | None
    source: str
    status: str | None = None


def unique_video_ids(ids: Sequence[str], paths: Sequence[str]) -> list[str]:
    """``ids`` with collisions resolved: every id given to more than one path gets its
    path's extension appended (``clip`` -> ``clip.avi`` / ``clip.mkv``); ids that were unique
    stay as they are. Repeats until no two paths share an id, so the result depends only on
    the set of (id, path) pairs.

    Raises :class:`DuplicateVideoError` when one path is given twice, or when two paths with
    the same extension share an id.
    """
    seen_paths = Counter(paths)
    twice = sorted(p for p, n in seen_paths.items() if n > 1)
    if twice:
        raise DuplicateVideoError(f"path listed more than once: {twice[0]}")
    out = list(ids)
    while True:
        counts = Counter(out)
        clashing = [i for i, v in enumerate(out) if counts[v] > 1]
        if not clashing:
            return out
        changed = False
        for i in clashing:
            longer = ids[i] + PurePosixPath(paths[i]).suffix
            if out[i] != longer:
                out[i], changed = longer, True
        if not changed:
            i = clashing[0]
            others = [paths[j] for j in clashing if out[j] == out[i] and j != i]
            raise DuplicateVideoError(
                f"video_id {ids[i]!r} given to both {paths[i]} and {others[0]}"
            )


def normalise_label(value: object) -> str:
    """Map a label spelling (``real``/``fake``, ``0``/``1``, ``original``, ...) to real|fake.

    Raises ``ValueError`` naming the value; callers add where it was read.
    """
    text = str(value).strip().lower()
    if text in _REAL_WORDS:
        return "real"
    if text in _FAKE_WORDS:
        return "fake"
    raise ValueError(
        f"unknown label {value!r}; expected real/fake, 0/1, original/pristine (real) "
        "or manipulated (fake)"
    )


def normalise_split(value: object) -> str | None:
    """Map a split spelling to train|val|test; empty means unknown (None). Else ``ValueError``."""
    text = "" if value is None else str(value).strip().lower()
    if not text:
        return None
    if text in _SPLIT_WORDS:
        return _SPLIT_WORDS[text]
    raise ValueError(f"unknown split {value!r}; expected one of {', '.join(SPLITS)}")


def strip_extension(relative: PurePosixPath | str) -> str:
    """``"fake/a.b.mp4"`` -> ``"fake/a.b"``: the last suffix only."""
    rel = PurePosixPath(relative)
    return str(rel.with_suffix("")) if rel.suffix else str(rel)


def relative_id(path: Path, base: Path) -> str:
    """Posix path of ``path`` relative to ``base`` without its extension."""
    return strip_extension(PurePosixPath(path.relative_to(base).as_posix()))


def resolve_listed(root: Path, listed: str, base: Path | None = None, where: str = "") -> Path:
    """Absolute path of a path read from a text file, refusing anything outside ``root``.

    Relative paths are taken from ``base`` (default ``root``). The returned path is lexically
    normalised (no ``..``) but keeps in-root symlinks as written.
    """
    text = listed.strip()
    if not text:
        raise CorpusError(f"{where}: empty path" if where else "empty path")
    candidate = Path(text)
    if not candidate.is_absolute():
        candidate = (base or root) / candidate
    lexical = Path(os.path.normpath(candidate))
    real = Path(os.path.realpath(lexical))
    if not lexical.is_relative_to(root) or not real.is_relative_to(root):
        raise PathEscapeError(listed, root, where)
    return lexical


def scan_files(
    directory: Path,
    extensions: Iterable[str] | None = None,
    exclude: Iterable[str] = SIDECAR_EXTENSIONS,
    recursive: bool = True,
) -> list[Path]:
    """Sorted regular non-hidden files under ``directory``.

    ``extensions`` keeps only those suffixes (lower-case, with dot); otherwise every file
    except the ``exclude`` suffixes. Hidden files and folders (``.name``) are skipped;
    symlinked folders are not descended into (the top folder itself may be a symlink).
    """
    keep = None if extensions is None else {e.lower() for e in extensions}
    drop = {e.lower() for e in exclude}
    found: list[Path] = []
    for current, dirs, files in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".")) if recursive else []
        for name in files:
            if name.startswith("."):
                continue
            suffix = os.path.splitext(name)[1].lower()
            if (keep is not None and suffix not in keep) or (keep is None and suffix in drop):
                continue
            path = Path(current, name)
            # a dangling symlink is kept (decoding reports it); fifos and sockets are not
            if path.is_file() or path.is_symlink():
                found.append(path)
    return sorted(found)


ADAPTERS: Registry[type[CorpusAdapter]] = Registry("corpus adapter")


def select_subfolders(base: Path, wanted: list[str] | None, what: str) -> list[str]:
    """Names of the visible sub-folders of ``base`` (none if it is missing), or ``wanted``
    after checking each exists; ``what`` names them in the error ("FF++ method")."""
    present = (
        sorted(d.name for d in base.iterdir() if d.is_dir() and not d.name.startswith("."))
        if base.is_dir()
        else []
    )
    if wanted is None:
        return present
    absent = [w for w in wanted if w not in present]
    if absent:
        raise CorpusError(
            f"{what} folder(s) {', '.join(absent)} not found under {base}; "
            f"present: {', '.join(present) or '(none)'}"
        )
    return list(wanted)


def register_adapter(cls: type[CorpusAdapter]) -> type[CorpusAdapter]:
    """Class decorator: register ``cls`` in :data:`ADAPTERS` under ``cls.name``."""
    ADAPTERS.register(cls.name)(cls)
    return cls


class CorpusAdapter(ABC):
    """Turns one corpus on disk into :class:`VideoEntry` rows.

    Subclasses set ``name``, take their options as keyword arguments (the constructor is the
    schema) and implement :meth:`_scan`. :meth:`entries` adds the uniqueness check.
    """

    name: ClassVar[str]

    def __init__(self, root: str | Path) -> None:
        given = Path(root).expanduser()
        if not given.is_dir():
            raise CorpusRootError(f"{self.name} corpus root is not a folder: {given}")
        self.root = Path(os.path.realpath(given))

    @abstractmethod
    def _scan(self) -> Iterator[VideoEntry]:
        """Yield entries in a deterministic order."""

    def allowed_roots(self) -> list[Path]:
        """Folders whose files may be read (after following symlinks): the root, plus any
        folder an explicit option names (overridden by such adapters)."""
        return [self.root]

    def entries(self) -> Iterator[VideoEntry]:
        """Every video of the corpus, in a deterministic order. Ids are unique (see
        :func:`unique_video_ids`); a file whose real path leaves :meth:`allowed_roots` gets
        ``status="outside_root"``."""
        found = list(self._scan())
        try:
            ids = unique_video_ids([e.video_id for e in found], [e.path for e in found])
        except DuplicateVideoError as err:
            raise DuplicateVideoError(f"{self.name}: {err}") from None
        roots = [Path(os.path.realpath(r)) for r in self.allowed_roots()]
        for entry, video_id in zip(found, ids, strict=True):
            real = Path(os.path.realpath(entry.path))
            outside = not any(real.is_relative_to(r) for r in roots)
            status = Status.OUTSIDE_ROOT.value if outside else entry.status
            yield replace(entry, video_id=video_id, status=status)

    def to_frame(self) -> pd.DataFrame:
        """All entries as a table with columns :data:`COLUMNS`.

        Columns have ``object`` dtype holding ``str`` or ``None`` (never NaN/NA), so
        ``to_dict("records")`` gives plain values and pyarrow infers ``string`` columns.
        """
        rows = [astuple(e) for e in self.entries()]
        return pd.DataFrame(rows, columns=list(COLUMNS), dtype=object)

    def _entry(
        self, video_id: str, path: Path, label: str | None, split: str | None, method: str | None
    ) -> VideoEntry:
        return VideoEntry(video_id, str(path), label, split, method, self.name)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(root={str(self.root)!r})"


def get_adapter(name: str, root: str | Path, **options: object) -> CorpusAdapter:
    """Build the adapter registered as ``name``.

    Unknown names raise ``UnknownNameError`` listing the valid ones; options the adapter
    does not take raise :class:`CorpusError` listing the ones it does.
    """
    cls = ADAPTERS.get(name)
    params = inspect.signature(cls.__init__).parameters
    accepted = [p for p in params if p not in ("self", "root")]
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise CorpusError(
            f"corpus adapter {name!r} has no option(s) {', '.join(unknown)}; "
            f"valid options: {', '.join(accepted) or '(none)'}"
        )
    return cls(root, **options)


def list_adapters() -> list[str]:
    """Registered adapter names, sorted."""
    return ADAPTERS.names()
