"""Sharded bulk scoring through ``task.fn``: listing into shards, finished shards, one table."""

import os

import pyarrow.parquet as pq
import pytest

from data_catalog import Catalog
from data_catalog.adapters import get_adapter, is_pattern
from difffake_core.sharding import shard_bounds, shard_digest
from difffake_core.status import Status
from tasks.score import (
    DetectorRef,
    _result_row,
    finish_shard,
    list_archive,
    publish_scores,
    shard_done,
    shard_rows,
)


def test_shard_bounds_cover_every_item_once_in_order():
    assert shard_bounds(5, 2) == [(0, 2), (2, 4), (4, 5)]
    assert shard_bounds(0, 1000) == []
    bounds = shard_bounds(2501, 1000)
    assert [b - a for a, b in bounds] == [1000, 1000, 501]
    with pytest.raises(ValueError, match="shard_size must be >= 1, got 0"):
        shard_bounds(3, 0)


def test_shard_digest_depends_on_content_and_order():
    rows = [{"video_id": "a", "size_bytes": 1}, {"video_id": "b", "size_bytes": 2}]
    assert shard_digest(rows) == shard_digest([dict(r) for r in rows])
    assert shard_digest(rows) != shard_digest(rows[::-1])
    assert shard_digest(rows) != shard_digest([rows[0], {**rows[1], "size_bytes": 3}])


@pytest.fixture()
def archive(tmp_path):
    folder = tmp_path / "archive"
    folder.mkdir()
    for i in range(5):
        (folder / f"clip{i}.mp4").write_bytes(b"not a video %d" % i)
    return folder


def test_archive_is_listed_once_into_one_part_per_shard_and_reused(tmp_path, archive):
    root = str(tmp_path / "catalog")
    out = list_archive.fn(root, "arch", str(archive), shard_size=2)
    assert out["videos"] == 5 and len(out["shards"]) == 3
    cat = Catalog(root)
    m = cat.manifest("arch.media", out["media"])
    assert len(m.files) == 3 and m.parameters["shard_size"] == 2
    media = cat.read_pandas("arch.media", out["media"])
    assert list(media["shard"]) == [0, 0, 1, 1, 2]
    assert list(media["video_id"]) == [f"clip{i}" for i in range(5)]
    assert (media["size_bytes"] > 0).all() and media["mtime_ns"].notna().all()
    again = list_archive.fn(root, "arch", str(archive), shard_size=2)
    assert again == out and len(cat.versions("arch.media")) == 1
    # a changed file changes its own shard only
    with open(archive / "clip4.mp4", "ab") as f:
        f.write(b"more bytes")
    changed = list_archive.fn(root, "arch", str(archive), shard_size=2)
    assert changed["shards"][:2] == out["shards"][:2] and changed["shards"][2] != out["shards"][2]
    assert changed["media"] != out["media"]
    limited = list_archive.fn(root, "arch", str(archive), limit=3, shard_size=2)
    assert limited["videos"] == 3 and len(limited["shards"]) == 2


def _finish(root, version, digest, ids):
    rows = [
        {**_result_row({"video_id": v, "path": f"/x/{v}"}, None, version,
                       status=Status.UNREADABLE, error="gone"), "skipped": False}
        for v in ids
    ]  # fmt: skip
    return finish_shard.fn(root, version, digest, rows)


def test_finished_shards_publish_as_one_scores_table_one_part_each(tmp_path):
    root = str(tmp_path / "catalog")
    detector = DetectorRef(None, "/det/folder", "/det/folder")
    digests = ["d0", "d1", "d2"]
    assert not shard_done(root, detector.version, "d0")
    for digest, ids in zip(digests, (["a", "b"], ["c", "d"], ["e"]), strict=True):
        assert _finish(root, detector.version, digest, ids) == len(ids)
    assert shard_done(root, detector.version, "d1")
    assert [r["video_id"] for r in shard_rows(root, detector.version, "d1")] == ["c", "d"]
    out = publish_scores.fn("arch", digests, detector, root, str(tmp_path / "out"))
    cat = Catalog(root)
    scores = cat.read_pandas("arch.scores", out["scores"])
    assert list(scores["video_id"]) == ["a", "b", "c", "d", "e"]
    assert set(scores["status"]) == {"unreadable"}
    assert len(cat.manifest("arch.scores", out["scores"]).files) == 3
    assert cat.manifest("arch.scores").parents == {}  # a folder detector is not in the catalog
    assert cat.read_table("arch.pair_scores", out["pair_scores"]).num_rows == 0
    assert pq.read_table(tmp_path / "out" / "scores.parquet").num_rows == 5
    csv = (tmp_path / "out" / "scores.csv").read_text().splitlines()
    assert len(csv) == 6 and csv[0].startswith("video_id,")  # one header, five rows
    again = publish_scores.fn("arch", digests, detector, root, None)
    assert again == {k: out[k] for k in ("scores", "pair_scores")}
    assert len(cat.versions("arch.scores")) == 1


def test_a_catalog_detector_is_the_scores_parent(tmp_path):
    root = str(tmp_path / "catalog")
    detector = DetectorRef("dev.detector", "v1", "/det/folder")
    _finish(root, detector.version, "d0", ["a"])
    out = publish_scores.fn("arch", ["d0"], detector, root, None)
    assert Catalog(root).manifest("arch.scores", out["scores"]).parents == {"dev.detector": "v1"}
    assert str(detector) == "dev.detector@v1"


def test_glob_patterns_list_through_the_glob_adapter(tmp_path, archive):
    (archive / "sub").mkdir()
    (archive / "sub" / "deep.mp4").write_bytes(b"x")
    pattern = str(archive / "**" / "*.mp4")
    assert is_pattern(pattern) and not is_pattern(str(archive))
    frame = get_adapter("glob", pattern).to_frame()
    assert list(frame["video_id"]) == [f"clip{i}" for i in range(5)] + ["sub/deep"]
    assert set(frame["source"]) == {"glob"} and frame["label"].isna().all()
    assert all(os.path.isabs(p) for p in frame["path"])


def test_int8_scores_have_their_own_work_area():
    from tasks.score import work_key

    assert work_key("v1") == work_key("v1", "onnx") == work_key("v1", "tensorrt")
    assert work_key("v1", "int8-onnx") != work_key("v1", "onnx")
    assert work_key("v1", "int8-onnx") != work_key("v2", "int8-onnx")
