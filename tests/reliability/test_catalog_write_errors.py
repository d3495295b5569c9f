"""Issue 9 case 8: read-only catalogs and full disks give an `error:` line naming the path.

Pre-flight: the catalog root (and --out) is checked before any work (exit 2). Mid-publish:
errno 28 gives an error naming the path, the catalog stays consistent (no half-visible
version, no staging left) and the work area is kept, so the same command resumes.
"""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path

import pyarrow as pa
import pytest

import data_catalog.catalog as catalog_module
from data_catalog import Catalog, CatalogWriteError
from flows.cli import main
from tests.reliability.catalog_corpus import ingest


def _no_work(monkeypatch) -> None:
    """Any ingest/score work after the pre-flight fails the test."""

    def boom(*args, **kwargs):
        raise AssertionError("the job started although its catalog is not writable")

    monkeypatch.setattr("flows.ingest_corpus.ingest_corpus", boom)
    monkeypatch.setattr("flows.score_media_archive.score_media_archive", boom)


def _disk_full_on(monkeypatch, fragment: str) -> None:
    """Parquet writes to paths containing ``fragment`` fail with errno 28 (disk full)."""
    real = catalog_module.pq.write_table

    def write_table(table, where, *args, **kwargs):
        if fragment in str(where):
            raise OSError(errno.ENOSPC, "Error writing bytes to file. No space left on device")
        return real(table, where, *args, **kwargs)

    monkeypatch.setattr(catalog_module.pq, "write_table", write_table)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes to read-only (chmod) folders")
def test_read_only_catalog_folder_is_refused_before_any_work(tmp_path, monkeypatch, capsys):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    _no_work(monkeypatch)
    try:
        assert main(["ingest", str(tmp_path), "--catalog", str(ro / "cat")]) == 2
    finally:
        ro.chmod(0o755)
    err = capsys.readouterr().err
    assert err.startswith("error: catalog is not writable") and str(ro / "cat") in err


def test_read_only_file_system_is_refused_before_any_work(tmp_path, monkeypatch, capsys):
    def read_only(folder):
        raise OSError(errno.EROFS, "Read-only file system", folder)

    monkeypatch.setattr("data_catalog.preflight._probe", read_only)
    _no_work(monkeypatch)
    assert main(["ingest", str(tmp_path), "--catalog", str(tmp_path / "cat")]) == 2
    err = capsys.readouterr().err
    assert err == f"error: catalog is not writable (read-only file system): {tmp_path / 'cat'}\n"


def test_a_full_disk_is_refused_before_any_work(tmp_path, monkeypatch, capsys):
    usage = shutil.disk_usage(tmp_path)
    monkeypatch.setattr(
        "data_catalog.preflight.shutil.disk_usage", lambda p: usage._replace(free=2**20)
    )
    _no_work(monkeypatch)
    assert main(["score", str(tmp_path), "--catalog", str(tmp_path / "cat")]) == 2
    err = capsys.readouterr().err
    assert "error: catalog has 1 MiB free" in err and "no space left" in err
    assert str(tmp_path / "cat") in err


def test_an_unwritable_out_folder_is_refused_before_any_work(tmp_path, monkeypatch, capsys):
    out = tmp_path / "results"
    out.mkdir()

    def probe(folder):
        if Path(folder) == out:
            raise OSError(errno.EACCES, "Permission denied", folder)

    monkeypatch.setattr("data_catalog.preflight._probe", probe)
    _no_work(monkeypatch)
    code = main(["score", str(tmp_path), "--catalog", str(tmp_path / "c"), "--out", str(out)])
    assert code == 2
    err = capsys.readouterr().err
    assert err == f"error: output folder is not writable (permission denied): {out}\n"


def test_disk_full_mid_publish_names_the_path_and_leaves_the_catalog_consistent(
    ingested, catalog_copy, monkeypatch
):
    before = {n: Catalog(catalog_copy).versions(n) for n in ("t.videos", "t.face_crops")}
    _disk_full_on(monkeypatch, "face_crops/.staging-")
    with pytest.raises(CatalogWriteError) as exc:
        ingest(ingested["corpus"], str(catalog_copy), ingested["face_model"], name="u")
    message = str(exc.value)
    assert message.startswith("no space left on device while writing dataset u.face_crops: ")
    assert str(catalog_copy / "u.face_crops") in message and exc.value.errno == errno.ENOSPC
    assert "resumes" in message and str(catalog_copy / "_work") in message
    cat = Catalog(catalog_copy)
    assert cat.names() == ["t.face_crops", "t.videos"]  # u.videos did not appear alone
    assert {n: cat.versions(n) for n in before} == before
    assert os.listdir(catalog_copy / "u.videos") == os.listdir(catalog_copy / "u.face_crops") == []
    monkeypatch.undo()
    versions = ingest(ingested["corpus"], str(catalog_copy), ingested["face_model"], name="u")
    assert Catalog(catalog_copy).versions("u.face_crops") == [versions["face_crops"]]


def test_disk_full_in_the_work_area_keeps_earlier_items(tmp_path, monkeypatch):
    work = Catalog(tmp_path).work_area("ingest", "k")
    work.put("a", {"videos": pa.table({"x": [1]})})
    _disk_full_on(monkeypatch, "b.videos")
    with pytest.raises(CatalogWriteError, match="storing per-video results") as exc:
        work.put("b", {"videos": pa.table({"x": [2]})})
    assert work.path in str(exc.value) and "resumes" in str(exc.value)
    assert work.has("a", ["videos"]) and not work.has("b", ["videos"])
    assert sorted(os.listdir(work.path)) == ["a.videos.parquet"]  # no half-written temp file


def test_disk_full_mid_ingest_is_one_error_line_and_the_rerun_resumes(
    ingested, catalog_copy, monkeypatch, capsys, prefect_harness
):
    corpus, root = str(ingested["corpus"]), str(catalog_copy)
    args = ["ingest", corpus, "--catalog", root, "--corpus", "u", "--frames", "4"]
    _disk_full_on(monkeypatch, "face_crops/.staging-")
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: no space left on device while writing dataset u.face_crops")
    assert "resumes" in err[-1] and root in err[-1]
    assert Catalog(root).versions("u.videos") == []
    monkeypatch.undo()
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "videos skipped (already ingested) │ 4" in out  # the work area was kept
    assert len(Catalog(root).versions("u.face_crops")) == 1


def test_flows_run_without_the_cli_check_their_catalog_first(tmp_path, monkeypatch):
    """Deployments call the flows directly: the same check comes before any task."""
    from flows.ingest_corpus import IngestConfig, ingest_corpus
    from flows.score_media_archive import ScoreConfig, score_media_archive

    def read_only(folder):
        raise OSError(errno.EROFS, "Read-only file system", folder)

    def boom(*args, **kwargs):
        raise AssertionError("work started before the write check")

    monkeypatch.setattr("data_catalog.preflight._probe", read_only)
    monkeypatch.setattr("flows.ingest_corpus.list_corpus", boom)
    monkeypatch.setattr("flows.score_media_archive.resolve_detector", boom)
    root = str(tmp_path / "cat")
    with pytest.raises(CatalogWriteError, match="read-only file system"):
        ingest_corpus.fn(IngestConfig(root=str(tmp_path), catalog=root))
    with pytest.raises(CatalogWriteError, match="read-only file system"):
        score_media_archive.fn(ScoreConfig(source=str(tmp_path), catalog=root))
