"""Registry, errors, label/split normalisation and path checks shared by all adapters."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from data_catalog.adapters import (
    ADAPTERS,
    COLUMNS,
    CorpusAdapter,
    CorpusError,
    CorpusRootError,
    DuplicateVideoError,
    PathEscapeError,
    VideoEntry,
    get_adapter,
    list_adapters,
    normalise_label,
    normalise_split,
)
from data_catalog.adapters.base import relative_id, resolve_listed, scan_files
from difffake_core.errors import DiffFakeError, UnknownNameError

EXPECTED = {"folder", "ffpp", "celebdf", "dfdc", "deeperforensics", "forgerynet", "glob"}


def test_every_adapter_is_registered_under_its_name() -> None:
    assert set(list_adapters()) == EXPECTED
    for name in EXPECTED:
        assert ADAPTERS.get(name).name == name


def test_unknown_adapter_lists_valid_names(tmp_path: Path) -> None:
    with pytest.raises(UnknownNameError) as info:
        get_adapter("faceforensics", tmp_path)
    message = str(info.value)
    assert "faceforensics" in message
    assert all(name in message for name in EXPECTED)


def test_unknown_option_lists_valid_options(tmp_path: Path) -> None:
    (tmp_path / "manipulated_sequences").mkdir()
    with pytest.raises(CorpusError, match="quality") as info:
        get_adapter("ffpp", tmp_path, quality="c23")
    assert "compression" in str(info.value)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_missing_root_is_a_corpus_error(tmp_path: Path, name: str) -> None:
    missing = tmp_path / "does-not-exist"
    with pytest.raises(CorpusRootError, match="does-not-exist"):
        get_adapter(name, missing)
    assert issubclass(CorpusRootError, DiffFakeError)


@pytest.mark.parametrize("name", sorted(EXPECTED - {"folder"}))
def test_structured_adapter_refuses_a_root_without_its_layout(tmp_path: Path, name: str) -> None:
    (tmp_path / "unrelated.mp4").touch()
    with pytest.raises(CorpusRootError):
        get_adapter(name, tmp_path)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("real", "real"),
        ("REAL", "real"),
        (" 0 ", "real"),
        (0, "real"),
        ("original", "real"),
        ("Pristine", "real"),
        ("fake", "fake"),
        ("FAKE", "fake"),
        (1, "fake"),
        ("manipulated", "fake"),
    ],
)
def test_label_synonyms(given: object, expected: str) -> None:
    assert normalise_label(given) == expected


def test_unknown_label_names_the_value() -> None:
    with pytest.raises(ValueError, match="'maybe'"):
        normalise_label("maybe")


def test_split_synonyms() -> None:
    assert [normalise_split(s) for s in ("train", "Validation", "dev", "TEST", "", None)] == [
        "train",
        "val",
        "val",
        "test",
        None,
        None,
    ]
    with pytest.raises(ValueError, match="'holdout'"):
        normalise_split("holdout")


def test_relative_id_drops_only_the_last_suffix(tmp_path: Path) -> None:
    assert relative_id(tmp_path / "fake" / "a.b.mp4", tmp_path) == "fake/a.b"
    assert relative_id(tmp_path / "noext", tmp_path) == "noext"


def test_resolve_listed_accepts_inside_and_refuses_escapes(tmp_path: Path) -> None:
    root = tmp_path / "corpus"
    (root / "real").mkdir(parents=True)
    outside = tmp_path / "secret.mp4"
    outside.touch()
    (root / "real" / "link.mp4").symlink_to(outside)
    (root / "real" / "a.mp4").touch()
    (root / "real" / "inner.mp4").symlink_to(root / "real" / "a.mp4")

    assert resolve_listed(root, "real/a.mp4") == root / "real" / "a.mp4"
    assert resolve_listed(root, "real/../real/a.mp4") == root / "real" / "a.mp4"
    assert resolve_listed(root, "real/inner.mp4") == root / "real" / "inner.mp4"
    assert resolve_listed(root, str(root / "real" / "a.mp4")) == root / "real" / "a.mp4"
    for escaping in ("../secret.mp4", str(outside), "real/link.mp4", "real/../../secret.mp4"):
        with pytest.raises(PathEscapeError) as info:
            resolve_listed(root, escaping, where="list.txt:7")
        assert "list.txt:7" in str(info.value)
        assert escaping in str(info.value)


def test_scan_files_skips_hidden_and_sidecars(tmp_path: Path) -> None:
    for rel in ("a.mp4", "b.MOV", "notes.txt", "meta.json", ".hidden.mp4", ".git/x.mp4", "c.bin"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).touch()
    names = [p.name for p in scan_files(tmp_path)]
    assert names == ["a.mp4", "b.MOV", "c.bin"]
    assert [p.name for p in scan_files(tmp_path, {".mp4", ".mov"})] == ["a.mp4", "b.MOV"]


class _Twice(CorpusAdapter):
    """Not registered: yields the same id for two files of one extension (ids that differ
    only by extension are disambiguated instead, see tests/reliability/test_listing.py)."""

    name = "twice"

    def _scan(self) -> Iterator[VideoEntry]:
        for folder in ("a", "b"):
            yield self._entry("x", self.root / folder / "x.mp4", "real", None, "real")


def test_duplicate_ids_are_refused(tmp_path: Path) -> None:
    with pytest.raises(DuplicateVideoError, match="'x'"):
        list(_Twice(tmp_path).entries())


def test_to_frame_has_fixed_columns_and_plain_values(tmp_path: Path) -> None:
    (tmp_path / "a.mp4").touch()
    frame = get_adapter("folder", tmp_path).to_frame()
    assert list(frame.columns) == list(COLUMNS)
    (record,) = frame.to_dict("records")
    assert record["video_id"] == "a" and record["source"] == "folder"
    assert record["label"] is None and record["split"] is None  # None, not NaN/NA
    (tmp_path / "empty").mkdir()
    empty = get_adapter("folder", tmp_path / "empty").to_frame()
    assert list(empty.columns) == list(COLUMNS) and len(empty) == 0


def test_root_given_through_a_symlink_is_resolved(tmp_path: Path) -> None:
    real_root = tmp_path / "data"
    (real_root / "real").mkdir(parents=True)
    (real_root / "real" / "a.mp4").touch()
    link = tmp_path / "link"
    link.symlink_to(real_root)
    (entry,) = get_adapter("folder", link).entries()
    assert entry.path == str(real_root / "real" / "a.mp4")
    assert os.path.isabs(entry.path)
