"""Issue 9 case 3: the catalog verifies its own data (sha256 + size per file in the manifest).

Reads check sizes, reuse and `catalog verify` check hashes; a bad part is a clear error naming
the file, never breaks the other datasets, and a reuse of a corrupt version rebuilds it.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from data_catalog import Catalog, DatasetError, run_stage
from data_catalog.errors import CorruptDatasetError
from data_catalog.integrity import MARKER
from flows.cli import main
from tests.reliability.catalog_corpus import ingest
from tests.reliability.catalog_corpus import pair_scores_table as _table


def _part(root: Path, name: str, index: int = 0) -> Path:
    cat = Catalog(root)
    m = cat.manifest(name)
    return root / name / m.version / m.files[index]


def flip_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _cli(capsys, root: Path, *args: str) -> tuple[int, str, str]:
    code = main(["catalog", "--catalog", str(root), *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_manifest_records_sha256_and_size_of_every_file(tmp_path):
    cat = Catalog(tmp_path)
    with cat.writer("x.pair_scores") as w:
        w.write(_table(3))
        w.write(_table(2))
    m = cat.manifest("x.pair_scores")
    assert sorted(m.checksums) == m.files == ["part-00000.parquet", "part-00001.parquet"]
    for rel, rec in m.checksums.items():
        data = (tmp_path / "x.pair_scores" / m.version / rel).read_bytes()
        assert rec == {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
    assert m.bytes == sum(r["size"] for r in m.checksums.values())


def test_truncated_part_is_a_clear_error_naming_the_file(tmp_path):
    cat = Catalog(tmp_path)
    cat.write_table("x.pair_scores", _table(50))
    part = _part(tmp_path, "x.pair_scores")
    truncate(part)
    with pytest.raises(CorruptDatasetError, match=str(part)) as exc:
        cat.read_table("x.pair_scores")
    assert "truncated" in str(exc.value) and "catalog verify" in str(exc.value)
    with pytest.raises(CorruptDatasetError, match=str(part)):
        cat.files("x.pair_scores")


def test_reuse_of_a_corrupt_version_rebuilds_it_and_marks_the_bad_one(tmp_path):
    cat = Catalog(tmp_path)
    calls = []

    def build(w):
        calls.append(1)
        w.write(_table(20))

    first = run_stage(cat, "x.pair_scores", "s-1", [], {"k": 1}, build)
    assert run_stage(cat, "x.pair_scores", "s-1", [], {"k": 1}, build).reused
    flip_byte(_part(tmp_path, "x.pair_scores"))  # same size: only the hash can tell
    again = run_stage(cat, "x.pair_scores", "s-1", [], {"k": 1}, build)
    assert not again.reused and again.ref.version != first.ref.version and len(calls) == 2
    assert (tmp_path / "x.pair_scores" / first.ref.version / MARKER).is_file()
    with pytest.raises(CorruptDatasetError, match="sha256"):
        cat.read_table("x.pair_scores", first.ref.version)  # the marked version is refused
    assert cat.read_table("x.pair_scores").num_rows == 20  # the rebuilt one is served
    assert run_stage(cat, "x.pair_scores", "s-1", [], {"k": 1}, build).reused  # and reused


def test_verify_flags_a_flipped_byte_and_reads_then_refuse_it(ingested, catalog_copy, capsys):
    root = catalog_copy
    part = _part(root, "t.face_crops")
    flip_byte(part)
    code, out, _ = _cli(capsys, root, "verify", "t.face_crops")
    assert code == 1 and "CORRUPT" in out and str(part) in out and "sha256" in out
    code, out, _ = _cli(capsys, root, "verify", "t.videos")
    assert code == 0 and out.startswith("ok ") and "1 ok, 0 unverified, 0 corrupt" in out
    code, _, err = _cli(capsys, root, "head", "t.face_crops")
    assert code == 2 and str(part) in err and "Traceback" not in err
    code, out, _ = _cli(capsys, root, "verify")  # the whole catalog
    assert code == 1 and "1 ok, 0 unverified, 1 corrupt (2 versions)" in out


def test_ingest_rerun_rebuilds_a_corrupt_face_crops_version(ingested, catalog_copy):
    old = Catalog(catalog_copy).manifest("t.face_crops")
    flip_byte(_part(catalog_copy, "t.face_crops"))
    versions = ingest(ingested["corpus"], str(catalog_copy), ingested["face_model"])
    assert versions["face_crops"] != old.version
    cat = Catalog(catalog_copy)
    assert cat.verify("t.face_crops").state == "ok"
    assert cat.read_table("t.face_crops").num_rows == old.row_count
    assert (catalog_copy / "t.face_crops" / old.version / MARKER).is_file()


def test_a_truncated_part_never_breaks_queries_over_other_datasets(ingested, catalog_copy, capsys):
    root = catalog_copy
    part = _part(root, "t.videos")
    truncate(part)
    crops = Catalog(ingested["root"]).manifest("t.face_crops").row_count
    code, out, err = _cli(capsys, root, "query", 'SELECT count(*) AS n FROM "t.face_crops"')
    assert code == 0 and str(crops) in out.splitlines()[1]
    assert "t.videos" in err and str(part) in err  # reported, not a traceback
    code, _, err = _cli(capsys, root, "query", 'SELECT count(*) FROM "t.videos"')
    assert code == 2 and err.startswith("warning: skipped t.videos") and "error: query" in err
    code, out, _ = _cli(capsys, root, "ls")
    assert code == 0 and "t.face_crops" in out


def test_old_manifests_without_checksums_still_read(ingested, catalog_copy, capsys):
    root = catalog_copy
    m = Catalog(root).manifest("t.videos")
    path = root / "t.videos" / m.version / "manifest.json"
    data = json.loads(path.read_text())
    del data["checksums"]
    path.write_text(json.dumps(data))
    cat = Catalog(root)
    assert cat.read_table("t.videos").num_rows == m.row_count
    code, out, _ = _cli(capsys, root, "verify", f"t.videos@{m.version}")
    assert code == 0 and "no checksums recorded" in out


def test_a_damaged_manifest_is_reported_not_a_traceback(ingested, catalog_copy, capsys):
    root = catalog_copy
    m = Catalog(root).manifest("t.videos")
    manifest = root / "t.videos" / m.version / "manifest.json"
    manifest.write_text(manifest.read_text()[:40])
    with pytest.raises(DatasetError, match=str(manifest)):
        Catalog(root).read_table("t.videos")
    code, out, err = _cli(capsys, root, "ls")
    assert code == 0 and "t.face_crops" in out and str(manifest) in err
    code, out, _ = _cli(capsys, root, "query", 'SELECT count(*) AS n FROM "t.face_crops"')
    assert code == 0
