"""DFDC adapter: training parts with metadata.json and a test set with labels.csv."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from data_catalog.adapters import (
    CorpusError,
    CorpusRootError,
    DFDCAdapter,
    ManifestError,
    PathEscapeError,
    get_adapter,
)


def _meta(entries: dict[str, tuple[str, str | None]]) -> str:
    data = {}
    for name, (label, original) in entries.items():
        info = {"label": label, "split": "train"}
        if original:
            info["original"] = original
        data[name] = info
    return json.dumps(data)


PART0 = {"aaa.mp4": ("REAL", None), "bbb.mp4": ("FAKE", "aaa.mp4"), "ccc.mp4": ("FAKE", "aaa.mp4")}
PART1 = {"ddd.mp4": ("REAL", None), "eee.mp4": ("FAKE", "ddd.mp4")}
FILES = [
    *(f"dfdc_train_part_0/{n}" for n in PART0),
    "dfdc_train_part_0/unlisted.mp4",
    *(f"dfdc_train_part_1/{n}" for n in PART1),
    "test/videos_a.mp4",
    "test/videos_b.mp4",
]
TEXTS = {
    "dfdc_train_part_0/metadata.json": _meta(PART0),
    "dfdc_train_part_1/metadata.json": _meta(PART1),
    "test/labels.csv": "filename,label\nvideos_a.mp4,0\nvideos_b.mp4,1\n",
}


def test_parts_and_test_set(make_tree) -> None:
    root = make_tree("dfdc", FILES, TEXTS)
    rows = {e.video_id: e for e in get_adapter("dfdc", root).entries()}
    assert sorted(rows) == [
        "dfdc/dfdc_train_part_0/aaa",
        "dfdc/dfdc_train_part_0/bbb",
        "dfdc/dfdc_train_part_0/ccc",
        "dfdc/dfdc_train_part_1/ddd",
        "dfdc/dfdc_train_part_1/eee",
        "dfdc/test/videos_a",
        "dfdc/test/videos_b",
    ]
    assert [rows[k].label for k in sorted(rows)] == [
        "real",
        "fake",
        "fake",
        "real",
        "fake",
        "real",
        "fake",
    ]
    assert {e.split for k, e in rows.items() if "train_part" in k} == {"train"}
    assert {e.split for k, e in rows.items() if "/test/" in k} == {"test"}
    assert rows["dfdc/dfdc_train_part_0/aaa"].method == "real"
    assert rows["dfdc/dfdc_train_part_0/bbb"].method is None
    assert all(Path(e.path).is_relative_to(root) for e in rows.values())


def test_single_part_as_root_and_labels_split(make_tree) -> None:
    root = make_tree("part", list(PART0), {"metadata.json": _meta(PART0)})
    assert [e.video_id for e in DFDCAdapter(root).entries()] == [
        "dfdc/aaa",
        "dfdc/bbb",
        "dfdc/ccc",
    ]
    test_root = make_tree("val", ["v.mp4"], {"labels.csv": "filename,label\nv.mp4,FAKE\n"})
    (entry,) = DFDCAdapter(test_root, labels_split="val").entries()
    assert (entry.label, entry.split) == ("fake", "val")
    with pytest.raises(CorpusError, match="'heldout'"):
        DFDCAdapter(test_root, labels_split="heldout")


def test_max_depth_limits_discovery(make_tree) -> None:
    root = make_tree("deep", ["a/b/c/x.mp4"], {"a/b/c/labels.csv": "filename,label\nx.mp4,1\n"})
    with pytest.raises(CorpusRootError):
        DFDCAdapter(root)
    assert len(list(DFDCAdapter(root, max_depth=3).entries())) == 1


def test_unknown_label_names_the_entry(make_tree) -> None:
    texts = {"p/metadata.json": json.dumps({"x.mp4": {"label": "MAYBE"}})}
    root = make_tree("dfdc", ["p/x.mp4"], texts)
    with pytest.raises(ManifestError) as info:
        list(DFDCAdapter(root).entries())
    assert "metadata.json" in str(info.value) and "'x.mp4'" in str(info.value)


def test_labels_csv_errors_name_the_line(make_tree) -> None:
    root = make_tree("dfdc", [], {"labels.csv": "filename,label\na.mp4,0\nb.mp4,7\n"})
    with pytest.raises(ManifestError, match=r"labels.csv:3"):
        list(DFDCAdapter(root).entries())
    root2 = make_tree("dfdc2", [], {"labels.csv": "name,label\na.mp4,0\n"})
    with pytest.raises(ManifestError, match="filename"):
        list(DFDCAdapter(root2).entries())


def test_escaping_filename_is_refused(make_tree) -> None:
    texts = {"p/metadata.json": json.dumps({"../../evil.mp4": {"label": "FAKE"}})}
    root = make_tree("dfdc", [], texts)
    with pytest.raises(PathEscapeError, match="evil"):
        list(DFDCAdapter(root).entries())
