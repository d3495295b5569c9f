"""Evidence sheets: which pairs are shown, the layout, the PNG, the report links, the CLI."""

from __future__ import annotations

import struct
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd

from difffake_core.evidence import (
    Evidence,
    crop_keys,
    reference_lines,
    sheet_layout,
    top_pairs,
    write_evidence_sheet,
)
from difffake_core.faces.crop import decode_crop, encode_crop


def png_size(path: Path) -> tuple[int, int]:
    head = Path(path).read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", head[16:24])


def units_table(rng: np.random.Generator, n_tracks: int = 2) -> pd.DataFrame:
    rows = []
    for t in range(n_tracks):
        frames = np.sort(rng.choice(200, 12, replace=False))
        for a, b in zip(frames[:-1], frames[1:], strict=True):
            rows.append(("pairs", t, int(a), int(b), float(rng.normal(-40, 4))))
        for f in frames:
            rows.append(("adjacent_pairs", t, int(f), int(f) + 1, float(rng.normal(-20, 2))))
            rows.append(("sbi_head", t, int(f), -1, float(rng.normal(-90, 1))))  # single frames
        rows.append(("landmark_dynamics", t, int(frames[0]), int(frames[-1]), -500.0))
    return pd.DataFrame(rows, columns=["signal", "track_id", "frame_a", "frame_b", "loglik"])


def evidence(units: pd.DataFrame, **kw) -> Evidence:
    rng = np.random.default_rng(1)
    crops = {(t, f): rng.integers(0, 255, (64, 64, 3), np.uint8) for t, f in
             zip(units.track_id, units.frame_a, strict=True)}  # fmt: skip
    base = dict(
        video_id="real/clip", fake_score=0.97, verdict="fake", status="ok", units=units,
        crops=crops, percentiles={"pairs": 0.99, "adjacent_pairs": 0.5, "sbi_head": np.nan},
        raw={"pairs": 45.0, "adjacent_pairs": 20.0, "sbi_head": np.nan},
        reference={"pairs": np.arange(30.0, 50.0), "adjacent_pairs": np.arange(10.0, 30.0)},
        threshold=0.9, target_fpr=0.05, driving_signal="pairs",
    )  # fmt: skip
    base.update(kw)
    return Evidence(**base)


def test_top_pairs_are_the_lowest_loglik_pairs_of_each_two_frame_signal():
    units = pd.DataFrame(
        [("pairs", 0, 1, 9, -5.0), ("pairs", 0, 2, 9, -50.0), ("pairs", 1, 3, 8, -30.0),
         ("pairs", 1, 4, 8, -2.0), ("adjacent_pairs", 0, 1, 2, -7.0),
         ("adjacent_pairs", 0, 9, 10, -1.0), ("sbi_head", 0, 1, -1, -999.0),
         ("landmark_dynamics", 0, 1, 9, -999.0), ("pairs", 0, 5, 9, np.nan)],
        columns=["signal", "track_id", "frame_a", "frame_b", "loglik"],
    )  # fmt: skip
    top = top_pairs(units, n_per_signal=2)
    assert top[["signal", "track_id", "frame_a", "frame_b"]].values.tolist() == [
        ["pairs", 0, 2, 9], ["pairs", 1, 3, 8], ["adjacent_pairs", 0, 1, 2],
        ["adjacent_pairs", 0, 9, 10]]  # fmt: skip
    assert top["rank"].tolist() == [1, 2, 1, 2]
    assert crop_keys(top) == [(0, 2), (0, 9), (1, 3), (1, 8), (0, 1), (0, 10)]


def test_top_pairs_of_a_legacy_pair_table_without_signal_column():
    rng = np.random.default_rng(0)
    loglik = rng.normal(size=20)
    units = pd.DataFrame({"track_id": np.zeros(20, int), "frame_a": np.arange(20),
                          "frame_b": np.arange(20) + 30, "loglik": loglik})  # fmt: skip
    top = top_pairs(units, n_per_signal=4)
    assert set(top["signal"]) == {"pairs"}
    np.testing.assert_array_equal(top["loglik"], np.sort(loglik)[:4])
    assert top_pairs(units.iloc[:0], 3).empty


def test_layout_lists_the_panels_and_the_png_has_that_size(tmp_path):
    units = units_table(np.random.default_rng(0))
    ev = evidence(units)
    layout = sheet_layout(ev)
    assert layout.panels == ["header", "pairs:pairs", "pairs:adjacent_pairs", "timeline:pairs",
                             "timeline:adjacent_pairs", "signals"]  # fmt: skip
    assert layout.tracks == [0, 1] and layout.bar_signals == ["pairs", "adjacent_pairs", "sbi_head"]
    assert len(layout.top_pairs) == 6
    drawn = write_evidence_sheet(tmp_path / "sheets" / "clip.png", ev)
    assert drawn.path.is_file() and png_size(drawn.path) == layout.size_px
    # only the DiffFake pairs (no neighbour frames): no adjacent panels, a shorter sheet
    only = evidence(units[units["signal"] == "pairs"])
    small = write_evidence_sheet(tmp_path / "only.png", only)
    assert small.panels == ["header", "pairs:pairs", "timeline:pairs", "signals"]
    assert png_size(small.path)[1] < layout.size_px[1]


def test_unscored_video_and_legacy_detector_still_draw(tmp_path):
    empty = pd.DataFrame(columns=["track_id", "frame_a", "frame_b", "loglik", "signal"])
    out = write_evidence_sheet(tmp_path / "e.png", evidence(empty, fake_score=None, verdict=None,
                                                            status="too_few_pairs"))  # fmt: skip
    assert out.panels == ["header", "signals"] and png_size(out.path) == out.size_px
    units = units_table(np.random.default_rng(3)).drop(columns="signal")
    legacy = evidence(units, legacy=True, percentiles={}, raw={}, reference={}, threshold=40.0,
                      fake_score=44.0, crops={})  # fmt: skip
    out = write_evidence_sheet(tmp_path / "legacy.png", legacy)
    assert "pairs:pairs" in out.panels and out.path.is_file()
    assert reference_lines(legacy, "pairs") == {"threshold (track mean)": -40.0}


def test_reference_lines_are_calibration_track_means_on_the_bars_scale():
    from difffake_core.signals.fusion import percentile

    ev = evidence(units_table(np.random.default_rng(0)))
    lines = reference_lines(ev, "pairs")
    ref = np.arange(30.0, 50.0)
    median, borderline = sorted(lines.values(), reverse=True)
    np.testing.assert_allclose(percentile(-median, ref), 0.5, atol=1e-9)
    np.testing.assert_allclose(percentile(-borderline, ref), 0.95, atol=1e-9)
    assert 48.0 < -borderline < 49.0  # positions 19/21 and 20/21 bracket 0.95
    assert reference_lines(ev, "frame") == {}


def test_kept_crops_are_those_of_the_top_pairs_only():
    from tasks.evidence import N_PER_SIGNAL, evidence_crops_table

    units = units_table(np.random.default_rng(5))
    img = encode_crop(np.zeros((8, 8, 3), np.uint8), "png")
    pixels = np.full((8, 8, 3), 7, np.uint8)
    every = sorted(set(zip(units.track_id, units.frame_a, strict=True))
                   | set(zip(units.track_id, units.frame_b, strict=True)))  # fmt: skip
    # ingested rows carry encoded bytes; scoring's rows carry pixels (crop=b"")
    faces = [SimpleNamespace(track_id=t, frame_index=f, crop=img if i % 2 else b"", image=pixels)
             for i, (t, f) in enumerate(every) if f >= 0]  # fmt: skip
    table = evidence_crops_table(units, faces)
    keys = set(zip(table["track_id"].to_pylist(), table["frame_index"].to_pylist(), strict=True))
    assert keys == set(crop_keys(top_pairs(units, N_PER_SIGNAL)))
    assert len(keys) <= 2 * 2 * N_PER_SIGNAL < len(faces)
    for data in table["crop"].to_pylist():
        assert decode_crop(data).shape == (8, 8, 3)


def test_sheet_names_modes_and_verdict_line():
    from tasks.evidence import keeps_crops, sheet_name, verdict_line, wants_sheet

    assert sheet_name("real/a b?.mp4", "abcdef0123") == "real_a_b_.mp4-abcdef01.png"
    assert wants_sheet({"status": "ok", "verdict": "fake"}, "flagged")
    assert not wants_sheet({"status": "ok", "verdict": "real"}, "flagged")
    assert wants_sheet({"status": "ok", "verdict": "real"}, "all")
    assert not wants_sheet({"status": "no_face", "verdict": None}, "all")
    assert not wants_sheet({"status": "ok", "verdict": "fake"}, "none")
    assert keeps_crops("none", "fake") and not keeps_crops("flagged", "real")
    line = verdict_line({"video_id": "v", "status": "ok", "verdict": "fake", "fake_score": 0.99,
                         "threshold": 0.95, "driving_signal": "pairs"})  # fmt: skip
    assert line == "v: FAKE (fake_score 0.990 > threshold 0.950; driving signal pairs)"
    assert "no_face" in verdict_line({"video_id": "v", "status": "no_face", "error": "x"})


def test_report_links_the_evidence_sheets(tmp_path):
    from difffake_core.report import write_markdown_report
    from tasks.evaluate import evidence_rows

    sheet = tmp_path / "out" / "evidence" / "v1-abc.png"
    scores = pd.DataFrame({"video_id": ["v0", "v1", "v2"], "label": ["real", "fake", "real"],
                           "fake_score": [0.2, 0.99, 0.97], "verdict": ["real", "fake", "fake"],
                           "evidence_path": [None, str(sheet), str(sheet)]})  # fmt: skip
    rows = evidence_rows(scores)
    assert rows["video_id"].tolist() == ["v1", "v2"]
    report = write_markdown_report(tmp_path / "out" / "report.md", {"auc": 0.5}, evidence=rows)
    text = report.read_text()
    assert "## Evidence sheets" in text and "[sheet](evidence/v1-abc.png)" in text
    assert "v0" not in text


def test_explain_errors_exit_2(tmp_path, capsys):
    from flows.cli import main

    catalog = str(tmp_path / "catalog")
    assert main(["explain", str(tmp_path / "missing.mp4"), "--catalog", catalog]) == 2
    assert "error: no such video file" in capsys.readouterr().err
    video = tmp_path / "clip.mp4"
    video.write_bytes(b"\x00" * 64)
    assert main(["explain", str(video), "--catalog", catalog]) == 2
    assert "error: no detector in the catalog" in capsys.readouterr().err
    assert main(["explain", str(video), "--catalog", catalog, "--detector", "nope.detector"]) == 2
    assert "error:" in capsys.readouterr().err
