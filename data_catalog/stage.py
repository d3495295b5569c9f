"""Dataset references and the one find-or-build step every pipeline stage goes through.

A stage names its inputs as :class:`DatasetRef`, its parameters and its code version;
:func:`run_stage` fingerprints them, reuses an up-to-date version when the catalog has one, and
otherwise builds a new version that records every input as a parent. Dataset names follow one
pattern per kind: ``{prefix}.{kind}`` (:func:`dataset_name`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from data_catalog.catalog import Catalog, DatasetWriter, fingerprint
from data_catalog.errors import DatasetError

DATASET_KINDS = (
    "media",
    "videos",
    "face_crops",
    "extractor",
    "embeddings",
    "embedding_pairs",
    "detector",
    "scores",
    "pair_scores",
)


def dataset_name(prefix: str, kind: str) -> str:
    """``{prefix}.{kind}``, the name of the ``kind`` dataset of a corpus or archive."""
    if kind not in DATASET_KINDS:
        raise DatasetError(f"unknown dataset kind {kind!r}; valid: {', '.join(DATASET_KINDS)}")
    return f"{prefix}.{kind}"


@dataclass(frozen=True)
class DatasetRef:
    """One immutable dataset version: ``name@version``."""

    name: str
    version: str

    @classmethod
    def of(cls, prefix: str, kind: str, version: str) -> DatasetRef:
        return cls(dataset_name(prefix, kind), version)

    @classmethod
    def parse(cls, text: str, catalog: Catalog | None = None) -> DatasetRef:
        """``NAME@VERSION`` (or ``NAME``, resolved to the latest version via ``catalog``)."""
        name, _, version = text.partition("@")
        if not version:
            if catalog is None:
                raise DatasetError(f"{text!r}: expected NAME@VERSION")
            version = catalog.resolve(name)
        return cls(name, version)

    def __str__(self) -> str:
        return f"{self.name}@{self.version}"


@dataclass(frozen=True)
class StageResult:
    """The output of a stage and whether it was reused; ``metadata`` as in its manifest."""

    ref: DatasetRef
    reused: bool
    metadata: dict[str, Any]


def stage_fingerprint(
    stage_version: str, inputs: Iterable[DatasetRef], params: Mapping[str, Any]
) -> str:
    """Fingerprint of a stage's code version, input versions (order-free) and parameters."""
    refs = sorted((r.name, r.version) for r in inputs)
    return fingerprint(stage_version, refs, dict(params))


def run_stage(
    catalog: Catalog,
    name: str,
    stage_version: str,
    inputs: Iterable[DatasetRef],
    params: Mapping[str, Any],
    build: Callable[[DatasetWriter], None],
    metadata: Mapping[str, Any] | None = None,
) -> StageResult:
    """Reuse the version of ``name`` made from the same inputs, parameters and stage version,
    or build one: ``build(writer)`` writes parts/files (and may add to ``writer.metadata``);
    the version is published atomically when it returns, with every input as a parent."""
    inputs = list(inputs)
    fp = stage_fingerprint(stage_version, inputs, params)
    found = catalog.find(name, fp)
    if found is not None:
        return StageResult(DatasetRef(name, found.version), True, dict(found.metadata))
    parents = {r.name: r.version for r in inputs}
    with catalog.writer(
        name, parents=parents, parameters=dict(params), fingerprint_=fp, metadata=metadata
    ) as w:
        build(w)
    return StageResult(DatasetRef(name, w.manifest.version), False, dict(w.manifest.metadata))
