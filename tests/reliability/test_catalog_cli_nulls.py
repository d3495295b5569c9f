"""Issue 9 case 5: `catalog head` / `catalog query` on string columns mixing NULLs and text."""

from __future__ import annotations

from flows.cli import main


def _run(capsys, root, *args: str) -> str:
    code = main(["catalog", "--catalog", str(root), *args])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return captured.out


def test_head_and_query_print_a_column_mixing_nulls_and_errors(ingested, capsys):
    root = ingested["root"]
    out = _run(capsys, root, "head", "t.videos")
    assert "real/head" in out and "(4 rows in t.videos@" in out
    assert "empty_file" in out and "not_a_video" in out  # the error text of bad rows
    out = _run(
        capsys, root, "query",
        'SELECT video_id, status, error FROM "t.videos" ORDER BY video_id',
    )  # fmt: skip
    lines = out.strip().splitlines()
    assert len(lines) == 5  # header + 4 rows
    head_row = next(line for line in lines if "real/head" in line)
    assert " ok " in f" {head_row} " and ("None" in head_row or "NaN" in head_row)
    # face_crops: per-face string columns (status) and NULL crops of faceless rows
    out = _run(capsys, root, "head", "t.face_crops", "-n", "3")
    assert "bytes>" in out
