"""DeeperForensics-1.0 adapter on a tiny synthetic tree."""

from __future__ import annotations

from pathlib import Path

import pytest

from data_catalog.adapters import (
    CorpusError,
    CorpusRootError,
    DeeperForensicsAdapter,
    ManifestError,
    get_adapter,
)

FILES = [
    "manipulated_videos/end_to_end/000_M101.mp4",
    "manipulated_videos/end_to_end/001_M102.mp4",
    "manipulated_videos/end_to_end/002_M103.mp4",
    "manipulated_videos/end_to_end_level_1/000_M101.mp4",
    "manipulated_videos/reenact_postprocess/001_M102.mp4",
    "source_videos/M101/BlendShape/camera_front/M101_front.mp4",
    "source_videos/M102/BlendShape/camera_front/M102_front.mp4",
]
TEXTS = {
    "lists/splits/train.txt": "000_M101.mp4\n",
    "lists/splits/test.txt": "end_to_end/001_M102.mp4\n\n",
}


def test_fakes_sources_and_splits(make_tree) -> None:
    root = make_tree("dfo", FILES, TEXTS)
    rows = {e.video_id: e for e in get_adapter("deeperforensics", root).entries()}
    fakes = {k: e for k, e in rows.items() if e.label == "fake"}
    reals = {k: e for k, e in rows.items() if e.label == "real"}
    assert len(fakes) == 5 and len(reals) == 2
    assert rows["deeperforensics/manipulated_videos/end_to_end/000_M101"].method == "end_to_end"
    assert {e.method for e in fakes.values()} == {
        "end_to_end",
        "end_to_end_level_1",
        "reenact_postprocess",
    }
    assert {e.method for e in reals.values()} == {"real"}
    splits = {k.split("/", 2)[2]: e.split for k, e in fakes.items()}
    assert splits == {
        "end_to_end/000_M101": "train",
        "end_to_end/001_M102": "test",
        "end_to_end/002_M103": None,
        "end_to_end_level_1/000_M101": "train",
        "reenact_postprocess/001_M102": "test",
    }
    assert "deeperforensics/source_videos/M101/BlendShape/camera_front/M101_front" in reals
    assert all(Path(e.path).is_relative_to(root) for e in rows.values())


def test_ffpp_originals_as_reals(make_tree, tmp_path: Path) -> None:
    root = make_tree("dfo", FILES, TEXTS)
    originals = tmp_path / "ffpp_c23"
    originals.mkdir()
    for stem in ("000", "001", "005"):
        (originals / f"{stem}.mp4").touch()
    adapter = DeeperForensicsAdapter(root, originals_dir=originals)
    reals = {e.video_id: e.split for e in adapter.entries() if e.label == "real"}
    assert reals == {
        "deeperforensics/ffpp_originals/000": "train",
        "deeperforensics/ffpp_originals/001": "test",
        "deeperforensics/ffpp_originals/005": None,
    }
    with pytest.raises(CorpusRootError, match="nowhere"):
        DeeperForensicsAdapter(root, originals_dir="nowhere")


def test_perturbation_filter_and_no_reals(make_tree) -> None:
    root = make_tree("dfo", FILES)
    adapter = DeeperForensicsAdapter(root, perturbations="end_to_end", include_real=False)
    entries = list(adapter.entries())
    assert len(entries) == 3 and {e.method for e in entries} == {"end_to_end"}
    assert {e.split for e in entries} == {None}
    with pytest.raises(CorpusError, match="end_to_end_level_9"):
        list(DeeperForensicsAdapter(root, perturbations=["end_to_end_level_9"]).entries())


def test_name_in_two_split_lists_is_refused(make_tree) -> None:
    texts = {
        "lists/splits/train.txt": "000_M101.mp4\n",
        "lists/splits/val.txt": "x\n000_M101.mp4\n",
    }
    root = make_tree("dfo", FILES, texts)
    with pytest.raises(ManifestError, match=r"val.txt:2"):
        list(DeeperForensicsAdapter(root).entries())
