"""ForgeryNet adapter: official and simple video-list formats."""

from __future__ import annotations

from pathlib import Path

import pytest

from data_catalog.adapters import (
    CorpusRootError,
    ForgeryNetAdapter,
    ManifestError,
    PathEscapeError,
    get_adapter,
)
from data_catalog.adapters.forgerynet import split_from_name

TRAIN_FILES = [
    "Training/video/train_video_release/0/r1/video.mp4",
    "Training/video/train_video_release/7/f1/video.mp4",
    "Training/video/train_video_release/3/f2/video.mp4",
]
# official: <n segments> <video> (<start> <frames> <flag>) * n <binary> <triple> <n-way>
TRAIN_LIST = (
    "0 train_video_release/0/r1/video.mp4 0 0 0\n"
    "1 train_video_release/7/f1/video.mp4 10 20 1 1 1 7\n"
    "2 train_video_release/3/f2/video.mp4 0 5 1 30 9 1 1 2 3\n"
)
VAL_FILES = ["Validation/video/val_video_release/v1.mp4"]
VAL_LIST = "1 val_video_release/v1.mp4 0 40 1 1 2 12\n"


def test_official_lists_are_discovered(make_tree) -> None:
    root = make_tree(
        "fn",
        TRAIN_FILES + VAL_FILES,
        {"Training/video_list.txt": TRAIN_LIST, "Validation/video_list.txt": VAL_LIST},
    )
    rows = {e.video_id: e for e in get_adapter("forgerynet", root).entries()}
    prefix = "forgerynet/Training/video/train_video_release"
    assert sorted(rows) == sorted(
        [
            f"{prefix}/0/r1/video",
            f"{prefix}/7/f1/video",
            f"{prefix}/3/f2/video",
            "forgerynet/Validation/video/val_video_release/v1",
        ]
    )
    r1, f1, f2 = (rows[f"{prefix}/{k}/video"] for k in ("0/r1", "7/f1", "3/f2"))
    assert (r1.label, r1.method, r1.split) == ("real", "real", "train")
    assert (f1.label, f1.method, f1.split) == ("fake", "type_7", "train")
    assert (f2.label, f2.method) == ("fake", "type_3")
    val = rows["forgerynet/Validation/video/val_video_release/v1"]
    assert (val.label, val.method, val.split) == ("fake", "type_12", "val")
    for entry in rows.values():
        assert Path(entry.path).is_file() and Path(entry.path).is_relative_to(root)


def test_simple_format_with_explicit_lists(make_tree) -> None:
    files = ["clips/a.mp4", "clips/b.mp4", "clips/c.mp4"]
    texts = {"mine.txt": "clips/a.mp4 0\nclips/b.mp4 1\nclips/c.mp4 1 2 9\n"}
    root = make_tree("fn", files, texts)
    rows = {e.video_id: e for e in ForgeryNetAdapter(root, lists={"test": "mine.txt"}).entries()}
    assert {k: (e.label, e.method, e.split) for k, e in rows.items()} == {
        "forgerynet/clips/a": ("real", "real", "test"),
        "forgerynet/clips/b": ("fake", None, "test"),
        "forgerynet/clips/c": ("fake", "type_9", "test"),
    }
    by_name = ForgeryNetAdapter(root, lists=["mine.txt"])
    assert {e.split for e in by_name.entries()} == {None}


def test_root_level_list_names_give_splits(make_tree, tmp_path: Path) -> None:
    root = make_tree(
        "fn",
        ["a.mp4", "b.mp4"],
        {"train_video_list.txt": "a.mp4 0 0 0\n", "val_video_list.txt": "b.mp4 1 1 4\n"},
    )
    assert {e.video_id: e.split for e in ForgeryNetAdapter(root).entries()} == {
        "forgerynet/a": "train",
        "forgerynet/b": "val",
    }
    assert split_from_name(tmp_path / "video_list.txt", tmp_path) is None
    assert split_from_name(tmp_path / "Validation" / "video_list.txt", tmp_path) == "val"


def test_missing_video_still_listed(make_tree) -> None:
    root = make_tree("fn", [], {"Training/video_list.txt": "0 gone/x.mp4 0 0 0\n"})
    (entry,) = ForgeryNetAdapter(root).entries()
    assert entry.video_id == "forgerynet/Training/gone/x"
    assert not Path(entry.path).exists()


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("a.mp4 0 0 0\nb.mp4 0 1 5\n", ":2"),  # binary 0 but manipulation type 5
        ("a.mp4 2 1 1\n", "binary label"),
        ("a.mp4\n", ":1"),
        ("2 a.mp4 0 4 1 1 1 7\n", "segments"),  # says 2 segments, holds 1
    ],
)
def test_malformed_lines_name_file_and_line(make_tree, content: str, words: str) -> None:
    root = make_tree("fn", ["a.mp4", "b.mp4"], {"video_list.txt": content})
    with pytest.raises(ManifestError) as info:
        list(ForgeryNetAdapter(root).entries())
    assert "video_list.txt:" in str(info.value) and words in str(info.value)


def test_escaping_and_missing_lists(make_tree) -> None:
    root = make_tree("fn", [], {"video_list.txt": "../../etc/x.mp4 1\n"})
    with pytest.raises(PathEscapeError, match="video_list.txt:1"):
        list(ForgeryNetAdapter(root).entries())
    with pytest.raises(CorpusRootError, match="absent.txt"):
        ForgeryNetAdapter(root, lists=["absent.txt"])
