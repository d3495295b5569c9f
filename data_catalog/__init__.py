"""data_catalog: named, versioned, immutable datasets with lineage, and corpus adapters."""

from data_catalog.catalog import Catalog, DatasetWriter, Manifest, WorkArea, fingerprint
from data_catalog.errors import (
    DatasetError,
    DatasetExistsError,
    DatasetNotFoundError,
    SchemaMismatchError,
    VersionNotFoundError,
)

__all__ = [
    "Catalog",
    "DatasetError",
    "DatasetExistsError",
    "DatasetNotFoundError",
    "DatasetWriter",
    "Manifest",
    "SchemaMismatchError",
    "VersionNotFoundError",
    "WorkArea",
    "fingerprint",
]
