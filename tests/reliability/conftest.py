"""Fixtures of the reliability suite (issue 9): a real ingested catalog to break."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.reliability.catalog_corpus import corpus_folder, ingest


@pytest.fixture(scope="session")
def ingested(media, face_model, tmp_path_factory) -> dict:
    """A pristine catalog with ``t.videos`` / ``t.face_crops`` from a real ingest (read-only
    for tests: copy it with :func:`catalog_copy` before breaking anything)."""
    corpus = corpus_folder(media, tmp_path_factory.mktemp("rel-corpus"))
    root = tmp_path_factory.mktemp("rel-catalog")
    versions = ingest(corpus, str(root), face_model)
    return {"corpus": corpus, "root": root, "versions": versions, "face_model": face_model}


@pytest.fixture
def catalog_copy(ingested, tmp_path) -> Path:
    """A private copy of the ingested catalog (work area included)."""
    dest = tmp_path / "catalog"
    shutil.copytree(ingested["root"], dest)
    return dest
