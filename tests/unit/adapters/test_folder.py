"""The generic folder adapter: real/fake folders, CSV manifests, flat archives."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest

from data_catalog.adapters import (
    CorpusError,
    CorpusRootError,
    FolderAdapter,
    ManifestError,
    PathEscapeError,
    get_adapter,
)

FOLDER_FILES = [
    "real/a.mp4",
    "real/sub/b.avi",
    "Fake/c.mkv",
    "Fake/Deepfakes/d.mp4",
    "Fake/broken.bin",  # not a video: kept by default so decoding reports it
    "Fake/notes.txt",  # companion file: never an entry
    "Fake/.partial.mp4",  # hidden: never an entry
    "images/face.png",  # outside real/ and fake/
    "readme.md",
]


def _by_id(adapter: FolderAdapter) -> dict[str, tuple]:
    return {e.video_id: (e.label, e.split, e.method, e.path) for e in adapter.entries()}


def test_folders_layout(make_tree) -> None:
    root = make_tree("corpus", FOLDER_FILES)
    adapter = get_adapter("folder", root)
    assert adapter.resolved_layout() == "folders"
    rows = _by_id(adapter)
    assert sorted(rows) == ["Fake/Deepfakes/d", "Fake/broken", "Fake/c", "real/a", "real/sub/b"]
    assert {k: v[0] for k, v in rows.items()} == {
        "Fake/Deepfakes/d": "fake",
        "Fake/broken": "fake",
        "Fake/c": "fake",
        "real/a": "real",
        "real/sub/b": "real",
    }
    assert rows["Fake/Deepfakes/d"][2] == "Deepfakes"
    assert rows["Fake/c"][2] is None
    assert rows["real/sub/b"][2] == "real"
    assert all(v[1] is None for v in rows.values())
    for _, _, _, path in rows.values():
        assert Path(path).is_absolute() and Path(path).is_relative_to(root)
    assert {e.source for e in adapter.entries()} == {"folder"}


def test_video_only_drops_non_video_files(make_tree) -> None:
    root = make_tree("corpus", FOLDER_FILES)
    ids = [e.video_id for e in FolderAdapter(root, video_only=True).entries()]
    assert "Fake/broken" not in ids and len(ids) == 4


def test_dangling_symlink_still_gets_a_row(make_tree, tmp_path: Path) -> None:
    root = make_tree("corpus", ["real/a.mp4"])
    (root / "real" / "gone.mp4").symlink_to(tmp_path / "deleted.mp4")
    ids = [e.video_id for e in FolderAdapter(root).entries()]
    assert ids == ["real/a", "real/gone"]


def test_ids_are_stable_across_scans(make_tree) -> None:
    root = make_tree("corpus", FOLDER_FILES)
    first = list(FolderAdapter(root).entries())
    second = list(FolderAdapter(root).entries())
    assert first == second
    assert len({e.video_id for e in first}) == len(first)


def test_flat_archive_is_unlabelled_unless_forced(make_tree) -> None:
    root = make_tree("archive", ["x.mp4", "day2/y.webm", "list.csv.txt"])
    entries = list(FolderAdapter(root).entries())
    assert [e.video_id for e in entries] == ["day2/y", "x"]
    assert {e.label for e in entries} == {None}
    forced = list(FolderAdapter(root, label="pristine").entries())
    assert {(e.label, e.method) for e in forced} == {("real", "real")}


def test_forced_label_overrides_folders(make_tree) -> None:
    root = make_tree("corpus", FOLDER_FILES)
    assert {e.label for e in FolderAdapter(root, label="fake").entries()} == {"fake"}
    with pytest.raises(CorpusError, match="'sometimes'"):
        FolderAdapter(root, label="sometimes")


def test_layout_folders_without_folders_is_an_error(make_tree) -> None:
    root = make_tree("archive", ["x.mp4"])
    with pytest.raises(CorpusRootError, match="real/ or fake/"):
        list(FolderAdapter(root, layout="folders").entries())
    with pytest.raises(CorpusError, match="'tree'"):
        FolderAdapter(root, layout="tree")


def _write_manifest(path: Path, rows: list[list[str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)


def test_manifest_layout(make_tree) -> None:
    root = make_tree("corpus", ["v/a.mp4", "v/b.mp4", "v/c.mp4", "v/unlisted.mp4"])
    _write_manifest(
        root / "manifest.csv",
        [
            ["Path", "label", "split", "method", "extra"],
            ["v/a.mp4", "original", "train", "", "x"],
            ["v/b.mp4", "1", "Validation", "Face2Face", "y"],
            ["v/c.mp4", "manipulated", "", "", "z"],
            ["", "", "", "", ""],  # blank rows are skipped
            ["v/missing.mp4", "0", "test", "", ""],  # absent on disk: still a row
        ],
    )
    adapter = FolderAdapter(root)
    assert adapter.resolved_layout() == "manifest"
    rows = _by_id(adapter)
    assert sorted(rows) == ["v/a", "v/b", "v/c", "v/missing"]
    assert rows["v/a"][:3] == ("real", "train", "real")
    assert rows["v/b"][:3] == ("fake", "val", "Face2Face")
    assert rows["v/c"][:3] == ("fake", None, None)
    assert rows["v/missing"][:3] == ("real", "test", "real")
    assert rows["v/missing"][3] == str(root / "v" / "missing.mp4")


def test_explicit_manifest_option(make_tree) -> None:
    root = make_tree("corpus", ["real/a.mp4", "real/b.mp4"])
    _write_manifest(root / "mine.csv", [["path", "label"], ["real/b.mp4", "real"]])
    assert [e.video_id for e in FolderAdapter(root, manifest="mine.csv").entries()] == ["real/b"]
    # without the option the folders are read
    assert len(list(FolderAdapter(root).entries())) == 2
    # a manifest file given as the root
    as_root = FolderAdapter(root / "mine.csv")
    assert as_root.root == root and [e.video_id for e in as_root.entries()] == ["real/b"]
    with pytest.raises(CorpusError, match="also set"):
        FolderAdapter(root / "mine.csv", manifest="other.csv")


@pytest.mark.parametrize("escaping", ["../outside.mp4", "OUTSIDE_ABS", "real/link.mp4"])
def test_manifest_paths_escaping_the_root_are_refused(make_tree, tmp_path, escaping) -> None:
    outside = tmp_path / "outside.mp4"
    outside.touch()
    root = make_tree("corpus", ["real/a.mp4"])
    (root / "real" / "link.mp4").symlink_to(outside)
    listed = str(outside) if escaping == "OUTSIDE_ABS" else escaping
    _write_manifest(
        root / "manifest.csv", [["path", "label"], ["real/a.mp4", "real"], [listed, "fake"]]
    )
    with pytest.raises(PathEscapeError) as info:
        list(FolderAdapter(root).entries())
    assert "manifest.csv:3" in str(info.value)


@pytest.mark.parametrize(
    ("rows", "where", "words"),
    [
        ([["path", "label"], ["a.mp4", "real"], ["b.mp4", "unsure"]], ":3", "'unsure'"),
        ([["path", "label", "split"], ["a.mp4", "real", "holdout"]], ":2", "'holdout'"),
        ([["path", "split"], ["a.mp4", "train"]], ":1", "label"),
        ([["path", "label"], ["a.mp4", "real"], ["a.mp4", "fake"]], ":3", "line 2"),
        ([["path", "label"], ["", "real"]], ":2", "empty path"),
        ([], ":1", "header"),
    ],
)
def test_malformed_manifest_names_file_and_line(make_tree, rows, where, words) -> None:
    root = make_tree("corpus", ["a.mp4", "b.mp4"])
    _write_manifest(root / "manifest.csv", rows)
    with pytest.raises(ManifestError) as info:
        list(FolderAdapter(root).entries())
    message = str(info.value)
    assert f"manifest.csv{where}" in message
    assert words in message


def test_forced_label_stands_in_for_a_missing_label_column(make_tree) -> None:
    root = make_tree("corpus", ["a.mp4"])
    _write_manifest(root / "manifest.csv", [["path"], ["a.mp4"]])
    assert [e.label for e in FolderAdapter(root, label="fake").entries()] == ["fake"]


@pytest.mark.shared
def test_shared_dev_set(shared_dev: Path) -> None:
    """The shared dev set: 20 real + 20 fake from its manifest; images/ is not picked up."""
    with (shared_dev / "manifest.csv").open(newline="") as handle:
        listed = {row["path"]: row for row in csv.DictReader(handle)}
    entries = list(FolderAdapter(shared_dev).entries())
    labels = [e.label for e in entries]
    assert labels.count("real") == 20 and labels.count("fake") == 20
    assert not any("/images/" in e.path for e in entries)
    root = Path(os.path.realpath(shared_dev))
    for entry in entries:
        relative = Path(entry.path).relative_to(root).as_posix()
        assert entry.method == listed[relative]["method"]
        assert entry.label == listed[relative]["label"]
        assert entry.video_id == relative.rsplit(".", 1)[0]
