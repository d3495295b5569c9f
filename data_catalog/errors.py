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
