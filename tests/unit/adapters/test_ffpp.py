"""FaceForensics++ adapter on a tiny synthetic tree."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from data_catalog.adapters import CorpusError, FaceForensicsAdapter, ManifestError, get_adapter

OS = "original_sequences"
MS = "manipulated_sequences"
FILES = [
    *(f"{OS}/youtube/c23/videos/{i}.mp4" for i in ("000", "001", "002", "003", "004")),
    f"{OS}/youtube/c40/videos/000.mp4",
    f"{OS}/youtube/raw/videos/000.mp4",
    f"{OS}/actors/c23/videos/01__walking.mp4",
    *(f"{MS}/Deepfakes/c23/videos/{n}.mp4" for n in ("000_001", "001_000", "002_003", "004_000")),
    f"{MS}/Deepfakes/c40/videos/000_001.mp4",
    f"{MS}/Deepfakes/raw/videos/000_001.mp4",
    f"{MS}/Face2Face/c23/videos/003_002.mp4",
    f"{MS}/DeepFakeDetection/c23/videos/01_02__walking__4JVD2FJ9.mp4",
    f"{MS}/Deepfakes/c23/videos/.DS_Store",
]
SPLITS = {
    "splits/train.json": json.dumps([["000", "001"]]),
    "splits/test.json": json.dumps([["002", "003"]]),
}


@pytest.fixture
def ffpp_root(make_tree) -> Path:
    return make_tree("ffpp", FILES, SPLITS)


def test_default_reads_every_method_at_c23(ffpp_root: Path) -> None:
    rows = {e.video_id: e for e in get_adapter("ffpp", ffpp_root).entries()}
    assert sorted(rows) == sorted(
        [
            *(f"ffpp/youtube/c23/{i}" for i in ("000", "001", "002", "003", "004")),
            "ffpp/actors/c23/01__walking",
            *(f"ffpp/Deepfakes/c23/{n}" for n in ("000_001", "001_000", "002_003", "004_000")),
            "ffpp/Face2Face/c23/003_002",
            "ffpp/DeepFakeDetection/c23/01_02__walking__4JVD2FJ9",
        ]
    )
    assert {e.label for k, e in rows.items() if "/youtube/" in k or "/actors/" in k} == {"real"}
    assert sum(e.label == "fake" for e in rows.values()) == 6
    assert rows["ffpp/Face2Face/c23/003_002"].method == "Face2Face"
    assert rows["ffpp/youtube/c23/000"].method == "real"
    for entry in rows.values():
        assert Path(entry.path).is_relative_to(ffpp_root) and entry.path.endswith(".mp4")
        assert entry.source == "ffpp"


def test_official_splits(ffpp_root: Path) -> None:
    split = {e.video_id: e.split for e in FaceForensicsAdapter(ffpp_root).entries()}
    assert split["ffpp/youtube/c23/000"] == "train"
    assert split["ffpp/youtube/c23/001"] == "train"
    assert split["ffpp/youtube/c23/002"] == "test"
    assert split["ffpp/youtube/c23/004"] is None  # in no pair
    assert split["ffpp/Deepfakes/c23/000_001"] == "train"
    assert split["ffpp/Deepfakes/c23/001_000"] == "train"  # either order of the pair
    assert split["ffpp/Face2Face/c23/003_002"] == "test"
    assert split["ffpp/Deepfakes/c23/004_000"] is None  # 004 and 000 are not a pair
    assert split["ffpp/actors/c23/01__walking"] is None


def test_without_split_files_every_split_is_none(make_tree) -> None:
    root = make_tree("ffpp", FILES)
    assert {e.split for e in FaceForensicsAdapter(root).entries()} == {None}


def test_splits_dir_option(make_tree, tmp_path: Path) -> None:
    root = make_tree("ffpp", FILES)
    elsewhere = tmp_path / "my_splits"
    elsewhere.mkdir()
    (elsewhere / "val.json").write_text(json.dumps([["000", "001"]]))
    rows = {e.video_id: e.split for e in FaceForensicsAdapter(root, splits_dir=elsewhere).entries()}
    assert rows["ffpp/Deepfakes/c23/001_000"] == "val"
    with pytest.raises(CorpusError, match="nowhere"):
        list(FaceForensicsAdapter(root, splits_dir="nowhere").entries())


def test_methods_filter_and_actors(ffpp_root: Path) -> None:
    ids = [e.video_id for e in FaceForensicsAdapter(ffpp_root, methods=["Deepfakes"]).entries()]
    assert not any("Face2Face" in i or "actors" in i or "DeepFakeDetection" in i for i in ids)
    assert sum(i.startswith("ffpp/Deepfakes/") for i in ids) == 4
    dfd = [
        e.video_id for e in FaceForensicsAdapter(ffpp_root, methods="DeepFakeDetection").entries()
    ]
    assert "ffpp/actors/c23/01__walking" in dfd
    fakes_only = FaceForensicsAdapter(ffpp_root, methods=["Face2Face"], include_real=False)
    assert [e.video_id for e in fakes_only.entries()] == ["ffpp/Face2Face/c23/003_002"]


def test_missing_method_lists_present_ones(ffpp_root: Path) -> None:
    with pytest.raises(CorpusError, match="NeuralTextures") as info:
        list(FaceForensicsAdapter(ffpp_root, methods=["NeuralTextures"]).entries())
    assert "Deepfakes" in str(info.value)


@pytest.mark.parametrize("compression", ["c0", "raw"])
def test_lossless_finds_raw_or_c0(ffpp_root: Path, compression: str) -> None:
    adapter = FaceForensicsAdapter(ffpp_root, compression=compression, methods=["Deepfakes"])
    assert sorted(e.video_id for e in adapter.entries()) == [
        "ffpp/Deepfakes/raw/000_001",
        "ffpp/youtube/raw/000",
    ]


def test_other_compression_and_missing_folder(ffpp_root: Path) -> None:
    adapter = FaceForensicsAdapter(ffpp_root, compression="c40", methods=["Deepfakes"])
    assert len(list(adapter.entries())) == 2
    with pytest.raises(CorpusError, match="c40"):
        list(FaceForensicsAdapter(ffpp_root, compression="c40").entries())  # no Face2Face/c40
    with pytest.raises(CorpusError, match="'c99'"):
        FaceForensicsAdapter(ffpp_root, compression="c99")


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (json.dumps([["000", "001"], ["002"]]), "entry 2"),
        (json.dumps({"000": "001"}), "list"),
        ('[["000", "001"],\n oops]', "test.json:2"),
    ],
)
def test_malformed_split_file(make_tree, content: str, words: str) -> None:
    root = make_tree("ffpp", FILES, {"splits/test.json": content})
    with pytest.raises(ManifestError) as info:
        list(FaceForensicsAdapter(root).entries())
    assert "test.json" in str(info.value) and words in str(info.value)


def test_video_in_two_splits_is_refused(make_tree) -> None:
    texts = {"splits/train.json": '[["000", "001"]]', "splits/val.json": '[["001", "002"]]'}
    root = make_tree("ffpp", FILES, texts)
    with pytest.raises(ManifestError, match="001"):
        list(FaceForensicsAdapter(root).entries())
