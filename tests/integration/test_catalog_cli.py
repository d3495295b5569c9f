"""`difffake catalog` on a real ingested dataset: ls, show, head, query, preview, lineage."""

from __future__ import annotations

import cv2
import pyarrow as pa
import pytest

from data_catalog import Catalog
from data_catalog.schemas import FACE_CROPS, VIDEOS
from difffake_core.faces.analyzer import FaceAnalyzer
from difffake_core.ingest import IngestParams, process_video
from flows.cli import main


@pytest.fixture(scope="module")
def catalog_root(media, face_model, tmp_path_factory) -> str:
    root = str(tmp_path_factory.mktemp("cat"))
    cat = Catalog(root)
    with FaceAnalyzer(face_model) as analyzer:
        vf = process_video(str(media["talking_head"]), IngestParams(n_frames=5), analyzer)
    video = {f.name: None for f in VIDEOS}
    video.update(video_id="real/head", path=str(media["talking_head"]), status=vf.status,
                 label="real", frames_sampled=5, frames_with_face=vf.frames_with_face)  # fmt: skip
    v = cat.write_table("t.videos", pa.Table.from_pylist([video], schema=VIDEOS))
    rows = []
    for r in vf.rows:
        row = {f.name: getattr(r, f.name, None) for f in FACE_CROPS}
        row.update(video_id="real/head", content_sha256="x", crop_size=224)
        rows.append(row)
    cat.write_table("t.face_crops", pa.Table.from_pylist(rows, schema=FACE_CROPS),
                    parents={"t.videos": v.version})  # fmt: skip
    return root


def run(capsys, *args: str) -> str:
    assert main(["catalog", "--catalog", *args]) == 0
    return capsys.readouterr().out


def test_ls_show_head_query(catalog_root, capsys):
    out = run(capsys, catalog_root, "ls")
    assert "t.face_crops" in out and "t.videos" in out and "intermediate" in out
    out = run(capsys, catalog_root, "show", "t.face_crops")
    assert "landmarks" in out and "fixed_size_list<item: float>[136]" in out
    assert "<- t.videos@" in out  # lineage
    out = run(capsys, catalog_root, "head", "t.face_crops", "-n", "2")
    assert "bytes>" in out and "(5 rows in t.face_crops@" in out
    out = run(capsys, catalog_root, "query",
              'SELECT count(*) AS n, min(status) AS s FROM "t.face_crops"')  # fmt: skip
    assert "5" in out.split("\n")[1] and "ok" in out


def test_preview_writes_a_contact_sheet(catalog_root, capsys, tmp_path):
    png = tmp_path / "sheet.png"
    run(capsys, catalog_root, "preview", "t.face_crops", "--out", str(png), "--columns", "4")
    sheet = cv2.imread(str(png))
    assert sheet is not None and sheet.shape[1] == 4 * 160
    assert sheet.std() > 20  # real picture content with landmarks, not a blank canvas


def test_unknown_dataset_is_a_clear_error(catalog_root, capsys):
    assert main(["catalog", "--catalog", catalog_root, "show", "nope.videos"]) == 2
    assert "nope.videos" in capsys.readouterr().err


def test_bad_corpus_path_is_a_message_not_a_traceback(capsys, tmp_path):
    missing = tmp_path / "nowhere"
    assert main(["ingest", str(missing), "--catalog", str(tmp_path / "cat")]) == 2
    err = capsys.readouterr().err
    assert str(missing) in err and "Traceback" not in err
