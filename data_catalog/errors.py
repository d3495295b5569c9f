"""Catalog errors. Each wraps the low-level failure with the dataset's name."""

from __future__ import annotations


class DatasetError(Exception):
    """Base class of catalog errors."""


class DatasetNotFoundError(DatasetError):
    pass


class VersionNotFoundError(DatasetError):
    pass


class SchemaMismatchError(DatasetError):
    pass


class DatasetExistsError(DatasetError):
    pass


class CorruptDatasetError(DatasetError):
    """A published version whose files no longer match its manifest (size or sha256)."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = list(problems or [])


class CatalogWriteError(DatasetError):
    """The catalog (or an output folder) cannot be written: read-only, full disk, no access."""

    def __init__(self, message: str, path: str, errno: int | None = None) -> None:
        super().__init__(message)
        self.path, self.errno = path, errno
