"""Issue 9 case 9: the datasets of one stage become visible together or not at all, and the
staging folders of dead writers are cleaned (or reported by `catalog verify`)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from data_catalog import Catalog, groups
from data_catalog.catalog import DatasetWriter
from flows.cli import main
from tasks.score import DetectorRef, finish_shard, publish_scores
from tests.reliability.catalog_corpus import ingest
from tests.reliability.catalog_corpus import pair_scores_table as _table

ROOT = Path(__file__).resolve().parents[2]


def _fail_on(monkeypatch, suffix: str, exc: BaseException) -> None:
    """Make the catalog writer of datasets named ``*suffix`` fail on its first part."""
    real = DatasetWriter.write

    def write(self, table):
        if self.name.endswith(suffix):
            raise exc
        return real(self, table)

    monkeypatch.setattr(DatasetWriter, "write", write)


def _python(code: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], cwd=cwd, env=env, capture_output=True,
        text=True, timeout=120,
    )  # fmt: skip


def _on_disk(root: Path, name: str) -> list[str]:
    folder = root / name
    return sorted(os.listdir(folder)) if folder.is_dir() else []


def test_members_are_invisible_until_the_group_record_exists(tmp_path):
    cat = Catalog(tmp_path)
    group = cat.publish_together()
    with group.writer("a.pair_scores") as wa:
        wa.write(_table(2))
    with group.writer("b.pair_scores", parents={"a.pair_scores": wa.manifest.version}) as wb:
        wb.write(_table(3))
    for w in group.members:  # both version folders in place, the record not yet written
        w.publish()
    assert (tmp_path / "a.pair_scores" / wa.manifest.version / "manifest.json").is_file()
    assert cat.versions("a.pair_scores") == [] and cat.names() == []
    assert [x.kind for x in cat.leftovers()] == ["unfinished group member"] * 2
    assert all(x.stale is None for x in cat.leftovers())  # our own pid: still in progress
    group2 = cat.publish_together()
    group2.id, group2.members = group.id, []
    group2.commit()  # writes the record for the same id: both appear at once
    assert Catalog(tmp_path).names() == ["a.pair_scores", "b.pair_scores"]
    assert Catalog(tmp_path).read_table("b.pair_scores").num_rows == 3


def test_ingest_publishes_videos_and_face_crops_together_or_not_at_all(
    ingested, catalog_copy, monkeypatch
):
    _fail_on(monkeypatch, ".face_crops", OSError(28, "No space left on device"))
    with pytest.raises(OSError):
        ingest(ingested["corpus"], str(catalog_copy), ingested["face_model"], name="u")
    cat = Catalog(catalog_copy)
    assert cat.versions("u.videos") == [] and cat.versions("u.face_crops") == []
    assert _on_disk(catalog_copy, "u.videos") == [] and _on_disk(catalog_copy, "u.face_crops") == []
    monkeypatch.undo()  # the disk has room again: the rerun publishes both
    versions = ingest(ingested["corpus"], str(catalog_copy), ingested["face_model"], name="u")
    assert Catalog(catalog_copy).versions("u.videos") == [versions["videos"]]
    assert Catalog(catalog_copy).versions("u.face_crops") == [versions["face_crops"]]


def test_scores_are_published_with_their_pair_scores_or_not_at_all(tmp_path, monkeypatch):
    results = [{"video_id": "clip", "content_sha256": None, "status": "unreadable"}]
    finish_shard.fn(str(tmp_path), "d1", "shard0", results)  # one finished shard
    detector = DetectorRef(None, "d1", "/detector/folder")
    _fail_on(monkeypatch, ".pair_scores", RuntimeError("killed"))
    with pytest.raises(RuntimeError):
        publish_scores.fn("arc", ["shard0"], detector, str(tmp_path), None)
    assert Catalog(tmp_path).versions("arc.scores") == []
    monkeypatch.undo()
    out = publish_scores.fn("arc", ["shard0"], detector, str(tmp_path), None)
    assert Catalog(tmp_path).versions("arc.scores") == [out["scores"]]
    assert Catalog(tmp_path).manifest("arc.pair_scores").group == (
        Catalog(tmp_path).manifest("arc.scores").group
    )


def test_a_writer_killed_before_the_group_record_leaves_nothing_visible(tmp_path):
    run = _python(
        f"""
        import os
        from data_catalog import Catalog
        from tests.reliability.test_catalog_groups import _table
        cat = Catalog({str(tmp_path)!r})
        cat.write_atomic = lambda path, text: os._exit(9)  # dies at the commit point
        group = cat.publish_together()
        with group.writer("k.pair_scores") as w:
            w.write(_table(4))
        with group.writer("k.embedding_pairs") as w:
            w.write_bytes("x.bin", b"x")
        group.commit()
        """,
        tmp_path,
    )
    assert run.returncode == 9, run.stderr
    assert len(_on_disk(tmp_path, "k.pair_scores")) == 1  # the member folder is on disk...
    cat = Catalog(tmp_path)  # ...invisible, and removed when the catalog is next opened
    assert cat.names() == [] and cat.versions("k.pair_scores") == []
    assert sorted(x.kind for x in cat.cleaned) == ["unfinished group member"] * 2
    assert "has exited" in cat.cleaned[0].stale
    assert _on_disk(tmp_path, "k.pair_scores") == []


def test_stale_staging_is_removed_on_open_and_live_staging_is_reported(tmp_path, capsys):
    run = _python(
        f"""
        import os
        from data_catalog import Catalog
        from tests.reliability.test_catalog_groups import _table
        ctx = Catalog({str(tmp_path)!r}).writer("s.pair_scores")
        ctx.__enter__().write(_table(4))
        os._exit(9)  # killed mid-write: no commit, no cleanup
        """,
        tmp_path,
    )
    assert run.returncode == 9, run.stderr
    (staged,) = _on_disk(tmp_path, "s.pair_scores")
    assert staged.startswith(".staging-")
    old = tmp_path / "s.pair_scores" / ".staging-old"  # left by a writer without an owner
    old.mkdir()
    hours_ago = time.time() - groups.STALE_AFTER_S - 60
    os.utime(old, (hours_ago, hours_ago))
    cat = Catalog(tmp_path)
    assert sorted(Path(x.path).name for x in cat.cleaned) == sorted([staged, ".staging-old"])
    assert _on_disk(tmp_path, "s.pair_scores") == []
    ctx = cat.writer("s.pair_scores")  # a writer at work (this process)
    live = ctx.__enter__()
    live.write(_table(1))
    assert groups.leftovers(cat, remove=True)[0].stale is None  # never removed
    assert main(["catalog", "--catalog", str(tmp_path), "verify"]) == 0
    assert "in progress" in capsys.readouterr().out
    assert Path(live.staging).is_dir()
