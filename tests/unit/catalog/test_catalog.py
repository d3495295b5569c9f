import json
import os

import pyarrow as pa
import pytest

from data_catalog import (
    Catalog,
    DatasetNotFoundError,
    SchemaMismatchError,
    VersionNotFoundError,
)


def pair_scores(n: int, offset: int = 0) -> pa.Table:
    return pa.table(
        {
            "video_id": [f"v{i}" for i in range(offset, offset + n)],
            "track_id": [0] * n,
            "frame_a": list(range(n)),
            "frame_b": list(range(1, n + 1)),
            "loglik": [float(i) for i in range(n)],
            "signal": ["pairs"] * n,
        }
    )


def test_write_read_roundtrip_with_manifest(tmp_path):
    cat = Catalog(tmp_path)
    with cat.writer("x.pair_scores", parents={"x.embeddings": "v1"}, parameters={"k": 3}) as w:
        w.write(pair_scores(3))
        w.write(pair_scores(2, offset=3))
    m = cat.manifest("x.pair_scores")
    assert m.row_count == 5 and len(m.files) == 2 and m.bytes > 0
    assert m.parents == {"x.embeddings": "v1"} and m.parameters == {"k": 3}
    assert m.layer == "model_output" and "difffake" in m.code_version
    assert [f["name"] for f in m.schema][:2] == ["video_id", "track_id"]
    table = cat.read_table("x.pair_scores")
    assert table.num_rows == 5 and table.column("video_id").to_pylist()[-1] == "v4"
    on_disk = json.loads((tmp_path / "x.pair_scores" / m.version / "manifest.json").read_text())
    assert on_disk["row_count"] == 5


def test_versions_are_immutable_and_latest_resolves_to_newest(tmp_path):
    cat = Catalog(tmp_path)
    v1 = cat.write_table("x.pair_scores", pair_scores(1), parameters={"run": 1}).version
    v2 = cat.write_table("x.pair_scores", pair_scores(2), parameters={"run": 2}).version
    assert cat.versions("x.pair_scores") == [v1, v2]
    assert cat.resolve("x.pair_scores") == v2
    assert cat.read_table("x.pair_scores", v1).num_rows == 1
    assert cat.resolve("x.pair_scores", v1.split("-")[0]) == v1  # unique prefix
    with pytest.raises(VersionNotFoundError, match="x.pair_scores"):
        cat.resolve("x.pair_scores", "1999")
    with pytest.raises(DatasetNotFoundError, match="x.pair_scores"):
        cat.resolve("nope.videos")


def test_failed_write_leaves_no_visible_version_and_no_staging(tmp_path):
    cat = Catalog(tmp_path)
    with pytest.raises(RuntimeError), cat.writer("x.pair_scores") as w:
        w.write(pair_scores(3))
        raise RuntimeError("crash mid-write")
    assert cat.versions("x.pair_scores") == []
    assert cat.names() == []
    assert os.listdir(tmp_path / "x.pair_scores") == []


def test_crash_before_commit_is_invisible(tmp_path):
    """A killed process leaves only a staging folder, which readers never list."""
    cat = Catalog(tmp_path)
    ctx = cat.writer("x.pair_scores")
    w = ctx.__enter__()
    w.write(pair_scores(2))  # ... and the process dies here: no commit, no cleanup
    assert cat.versions("x.pair_scores") == []
    assert any(p.startswith(".staging-") for p in os.listdir(tmp_path / "x.pair_scores"))


def test_schema_is_checked_on_write(tmp_path):
    cat = Catalog(tmp_path)
    bad = pair_scores(2).drop_columns(["loglik"])
    with pytest.raises(SchemaMismatchError, match="loglik"):
        cat.write_table("x.pair_scores", bad)
    wrong_type = pair_scores(2).set_column(4, "loglik", pa.array(["a", "b"]))
    with pytest.raises(SchemaMismatchError, match="x.pair_scores"):
        cat.write_table("x.pair_scores", wrong_type)
    assert cat.versions("x.pair_scores") == []


def test_find_by_fingerprint_and_lineage(tmp_path):
    cat = Catalog(tmp_path)
    a = cat.write_table("c.pair_scores", pair_scores(1), fingerprint_="fp-a")
    with cat.writer("c.notes", parents={"c.pair_scores": a.version}) as w:
        w.write_bytes("notes.txt", b"hello")
    assert cat.find("c.pair_scores", "fp-a").version == a.version
    assert cat.find("c.pair_scores", "fp-b") is None
    tree = cat.lineage("c.notes")
    assert tree["parents"][0] == {"name": "c.pair_scores", "version": a.version, "parents": []}
    assert cat.manifest("c.notes").kind == "artifact"
    path = cat.artifact_path("c.notes")
    with open(os.path.join(path, "notes.txt")) as f:
        assert f.read() == "hello"


def test_fsspec_memory_url_is_accepted():
    cat = Catalog("memory://difffake-test-catalog")
    cat.write_table("m.pair_scores", pair_scores(4))
    assert cat.read_table("m.pair_scores").num_rows == 4
    assert cat.names() == ["m.pair_scores"]


def test_work_area_items_are_all_or_nothing(tmp_path):
    cat = Catalog(tmp_path)
    work = cat.work_area("stage", "key1")
    assert not work.has("abc", ["a", "b"])
    work.put("abc", {"a": pair_scores(1), "b": pair_scores(2)})
    assert work.has("abc", ["a", "b"]) and work.get("abc", "b").num_rows == 2
    assert not cat.work_area("stage", "key2").has("abc", ["a"])  # new settings, new area
    assert not any(".tmp-" in p for p in os.listdir(work.path))
