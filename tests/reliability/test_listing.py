"""Issue 9, cases 6 and 11: what a listing makes of same-stem files and of links that leave
the corpus root, and what ingest then records for them."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from data_catalog import Catalog
from data_catalog.adapters import DuplicateVideoError, get_adapter, unique_video_ids
from difffake_core.ingest import IngestParams


def test_ids_get_the_extension_only_when_they_collide():
    paths = ["/r/clip.mkv", "/r/clip.avi", "/r/a.mp4", "/r/a.m4a", "/r/b.mp4"]
    ids = unique_video_ids(["clip", "clip", "a", "a", "b"], paths)
    assert ids == ["clip.mkv", "clip.avi", "a.mp4", "a.m4a", "b"]
    # an extended id that meets another file's plain id extends that one too
    ids = unique_video_ids(["x.avi", "x", "x"], ["/r/x.avi.mp4", "/r/x.avi", "/r/x.mkv"])
    assert ids == ["x.avi.mp4", "x.avi", "x.mkv"] and len(set(ids)) == 3
    with pytest.raises(DuplicateVideoError, match="more than once"):
        unique_video_ids(["a", "a"], ["/r/a.mp4", "/r/a.mp4"])


def test_folder_layouts_give_same_stem_files_distinct_stable_ids(tmp_path):
    for rel in ("real/clip.mkv", "real/clip.avi", "fake/a.mp4", "fake/a.m4a", "fake/b.mp4"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"x")
    frame = get_adapter("folder", tmp_path).to_frame()
    assert sorted(frame["video_id"]) == [
        "fake/a.m4a", "fake/a.mp4", "fake/b", "real/clip.avi", "real/clip.mkv"
    ]  # fmt: skip
    assert frame.equals(get_adapter("folder", tmp_path).to_frame())  # deterministic
    manifest = tmp_path / "list.csv"
    manifest.write_text("path,label\nreal/clip.mkv,real\nreal/clip.avi,real\n")
    ids = get_adapter("folder", tmp_path, manifest="list.csv").to_frame()["video_id"]
    assert list(ids) == ["real/clip.mkv", "real/clip.avi"]


def test_score_listing_of_a_glob_gives_same_stem_files_distinct_ids(tmp_path):
    from tasks.score import list_media

    for name in ("clip.mkv", "clip.avi", "other.mp4"):
        (tmp_path / name).write_bytes(b"x")
    rows = list_media(str(tmp_path / "*.*"))
    assert sorted(r["video_id"] for r in rows) == ["clip.avi", "clip.mkv", "other"]
    rows = list_media(str(tmp_path))
    assert sorted(r["video_id"] for r in rows) == ["clip.avi", "clip.mkv", "other"]


def test_links_leaving_the_root_are_listed_as_outside_root(tmp_path):
    outside = tmp_path / "secret.txt"
    outside.write_text("not yours")
    root = tmp_path / "corpus"
    (root / "real").mkdir(parents=True)
    (root / "real" / "in.mp4").write_bytes(b"x")
    (root / "real" / "alias.mp4").symlink_to(root / "real" / "in.mp4")  # stays inside
    (root / "passwd").symlink_to("/etc/passwd")
    (root / "real" / "leak.mp4").symlink_to(outside)
    flat = get_adapter("folder", root, layout="flat").to_frame().set_index("video_id")
    assert flat.loc["passwd", "status"] == "outside_root"
    assert flat.loc["real/leak", "status"] == "outside_root"
    assert flat["status"].isna().sum() == 2  # in + alias (a link inside the root)
    folders = get_adapter("folder", root).to_frame().set_index("video_id")
    assert folders.loc["real/leak", "status"] == "outside_root"


def test_ingest_records_outside_root_and_never_reads_the_target(tmp_path):
    from tasks.ingest import ingest_video

    entry = {"video_id": "passwd", "path": "/etc/passwd", "status": "outside_root"}
    out = ingest_video.fn(entry, IngestParams(), str(tmp_path / "cat"), "k")
    assert out["status"] == "outside_root" and out["sha"] is None
    assert "outside the corpus root" in out["error"]


@pytest.fixture(scope="module")
def mixed_corpus(media, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("mixed")
    shutil.copy(media["talking_head"], root / "clip.mp4")
    shutil.copy(media["mpegts"], root / "clip.ts")
    (root / "passwd").symlink_to("/etc/passwd")
    return root


def test_ingest_flow_rows_for_same_stem_files_and_an_escaping_link(
    mixed_corpus, face_model, prefect_harness, tmp_path
):
    from flows.ingest_corpus import IngestConfig, ingest_corpus

    config = IngestConfig(root=str(mixed_corpus), catalog=str(tmp_path), corpus="m",
                          params=IngestParams(n_frames=4))  # fmt: skip
    ingest_corpus(config)
    videos = Catalog(tmp_path).read_pandas("m.videos").set_index("video_id")
    assert videos["status"].to_dict() == {"clip.mp4": "ok", "clip.ts": "ok",
                                          "passwd": "outside_root"}  # fmt: skip
    assert pd.isna(videos.loc["passwd", "content_sha256"])  # the target was never read
    assert pd.isna(videos.loc["passwd", "size_bytes"])
