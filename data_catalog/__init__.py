"""data_catalog: named, versioned, immutable datasets with lineage, and corpus adapters."""

from data_catalog.catalog import Catalog, DatasetWriter, Manifest, WorkArea, fingerprint
from data_catalog.errors import (
    CatalogWriteError,
    CorruptDatasetError,
    DatasetError,
    DatasetExistsError,
    DatasetNotFoundError,
    SchemaMismatchError,
    VersionNotFoundError,
)
from data_catalog.stage import DatasetRef, StageResult, dataset_name, run_stage

__all__ = [
    "Catalog",
    "CatalogWriteError",
    "CorruptDatasetError",
    "DatasetError",
    "DatasetRef",
    "DatasetExistsError",
    "DatasetNotFoundError",
    "DatasetWriter",
    "Manifest",
    "SchemaMismatchError",
    "StageResult",
    "VersionNotFoundError",
    "WorkArea",
    "dataset_name",
    "fingerprint",
    "run_stage",
]
