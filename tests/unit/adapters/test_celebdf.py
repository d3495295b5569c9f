"""Celeb-DF adapter on a tiny synthetic tree."""

from __future__ import annotations

from pathlib import Path

import pytest

from data_catalog.adapters import CelebDFAdapter, ManifestError, PathEscapeError, get_adapter

FILES = [
    "Celeb-real/id0_0000.mp4",
    "Celeb-real/id1_0000.mp4",
    "YouTube-real/00170.mp4",
    "YouTube-real/00171.mp4",
    "Celeb-synthesis/id0_id1_0000.mp4",
    "Celeb-synthesis/id1_id0_0000.mp4",
    "Celeb-synthesis/id1_id0_0001.mp4",
]
TEST_LIST = (
    "1 YouTube-real/00170.mp4\n1 Celeb-real/id1_0000.mp4\n\n0 Celeb-synthesis/id1_id0_0000.mp4\n"
)


def test_labels_methods_and_test_list(make_tree) -> None:
    root = make_tree("celeb", FILES, {"List_of_testing_videos.txt": TEST_LIST})
    rows = {e.video_id: e for e in get_adapter("celebdf", root).entries()}
    assert len(rows) == 7
    assert sum(e.label == "real" for e in rows.values()) == 4
    assert {e.method for e in rows.values() if e.label == "fake"} == {"Celeb-synthesis"}
    assert {e.method for e in rows.values() if e.label == "real"} == {"real"}
    tests = sorted(k for k, e in rows.items() if e.split == "test")
    assert tests == [
        "celebdf/Celeb-real/id1_0000",
        "celebdf/Celeb-synthesis/id1_id0_0000",
        "celebdf/YouTube-real/00170",
    ]
    assert {e.split for k, e in rows.items() if k not in tests} == {"train"}
    assert all(Path(e.path).is_relative_to(root) for e in rows.values())


def test_without_list_splits_are_unknown(make_tree) -> None:
    root = make_tree("celeb", FILES)
    assert {e.split for e in CelebDFAdapter(root).entries()} == {None}


def test_listed_but_missing_video_still_gets_a_row(make_tree) -> None:
    root = make_tree("celeb", FILES, {"List_of_testing_videos.txt": "0 Celeb-synthesis/gone.mp4\n"})
    rows = {e.video_id: e for e in CelebDFAdapter(root).entries()}
    gone = rows["celebdf/Celeb-synthesis/gone"]
    assert (gone.label, gone.split) == ("fake", "test")
    assert not Path(gone.path).exists()


def test_nested_videos_folder_keeps_ids(make_tree) -> None:
    nested = [f"{p.split('/')[0]}/videos/{p.split('/')[1]}" for p in FILES]
    flat_root = make_tree("flat", FILES, {"List_of_testing_videos.txt": TEST_LIST})
    nested_root = make_tree("nested", nested, {"List_of_testing_videos.txt": TEST_LIST})
    flat = [(e.video_id, e.split) for e in CelebDFAdapter(flat_root).entries()]
    deep = [(e.video_id, e.split) for e in CelebDFAdapter(nested_root).entries()]
    assert flat == deep
    assert all("/videos/" in e.path for e in CelebDFAdapter(nested_root).entries())


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("0 YouTube-real/00170.mp4\n", "flag 0"),  # 0 means fake in this file
        ("1 Celeb-real/id0_0000.mp4\n2 Celeb-real/id1_0000.mp4\n", ":2"),
        ("1 Other/a.mp4\n", "folder"),
        ("YouTube-real/00170.mp4\n", "<1|0>"),
    ],
)
def test_malformed_test_list_names_the_line(make_tree, content: str, words: str) -> None:
    root = make_tree("celeb", FILES, {"List_of_testing_videos.txt": content})
    with pytest.raises(ManifestError) as info:
        list(CelebDFAdapter(root).entries())
    assert "List_of_testing_videos.txt:" in str(info.value)
    assert words in str(info.value)


def test_escaping_list_entry_is_refused(make_tree) -> None:
    root = make_tree("celeb", FILES, {"List_of_testing_videos.txt": "1 ../Celeb-real/x.mp4\n"})
    with pytest.raises(PathEscapeError, match=":1"):
        list(CelebDFAdapter(root).entries())
