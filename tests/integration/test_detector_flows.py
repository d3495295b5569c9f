"""retrain-detector -> score-media-archive -> evaluate-detector on a tiny synthetic corpus."""

from __future__ import annotations

import json
import shutil
import struct
from pathlib import Path

import numpy as np
import pytest

from data_catalog import Catalog, fingerprint
from difffake_core.signals import SIGNALS


def test_retrain_registers_a_detector_with_full_lineage(trained):
    config, out, catalog_root = trained
    cat = Catalog(catalog_root)
    names = {n.split(".")[1] for n in cat.names()}
    assert {
        "videos",
        "face_crops",
        "extractor",
        "embeddings",
        "embedding_pairs",
        "detector",
    } <= names
    tree = json.dumps(cat.lineage("tiny.detector"))
    for parent in ("tiny.extractor", "tiny.embeddings", "tiny.face_crops", "tiny.videos"):
        assert parent in tree
    assert out["fit_videos"] + out["calibration_videos"] == 8
    assert out["signals"] == list(config.signals) and not out["signals_left_out"]
    assert set(out["signals"]) == set(SIGNALS.names())  # every registered signal fits
    emb = cat.read_pandas("tiny.embeddings", columns=["anchor_frame", "texture"])
    measured = emb["texture"].notna().to_numpy()
    assert (measured == emb["anchor_frame"].isna().to_numpy()).all()  # sampled rows only
    assert all(len(t) == 7 for t in emb["texture"][measured])
    assert np.isfinite(out["threshold"]) and out["calibration_fpr"] <= 0.05 + 1e-9
    pairs = cat.read_pandas("tiny.embedding_pairs")
    crops = cat.read_pandas("tiny.face_crops", columns=["video_id", "frame_index", "track_id"])
    # Every pair joins two frames of one face track of one video.
    tracks = crops.set_index(["video_id", "frame_index"])["track_id"]
    a = tracks.loc[list(zip(pairs.video_id, pairs.frame_a, strict=True))].to_numpy()
    b = tracks.loc[list(zip(pairs.video_id, pairs.frame_b, strict=True))].to_numpy()
    assert (a == b).all() and (a == pairs.track_id.to_numpy()).all()
    norms = np.linalg.norm(np.stack(pairs.vector.to_numpy()), axis=1)
    np.testing.assert_allclose(norms, 1.0, atol=1e-5)


def test_rerun_with_unchanged_inputs_reuses_every_dataset(trained):
    from flows.retrain_detector import retrain_detector

    config, first, catalog_root = trained
    again = retrain_detector(config)
    assert again["versions"] == first["versions"]
    assert len(Catalog(catalog_root).versions("tiny.detector")) == 1


def test_score_archive_statuses_and_resume(trained, demo_corpus, media, tmp_path):
    from flows.score_media_archive import ScoreConfig, score_media_archive

    _, out, catalog_root = trained
    archive = tmp_path / "archive"
    shutil.copytree(demo_corpus["test"] / "fake", archive)
    shutil.copy(media["faceless"], archive / "faceless.mp4")
    shutil.copy(media["corrupt_truncated"], archive / "truncated.mp4")
    shutil.copy(media["not_a_video"], archive / "notes.mp4")
    config = ScoreConfig(source=str(archive), catalog=catalog_root, detector=out["detector"],
                         out_dir=str(tmp_path / "results"))  # fmt: skip
    first = score_media_archive(config)
    status = {r["video_id"]: r["status"] for r in first["results"]}
    assert status["faceless"] == "no_face" and status["truncated"] == "corrupt"
    assert status["notes"] == "not_a_video"
    swaps = [r for r in first["results"] if "_on_" in r["video_id"]]
    assert len(swaps) == 4 and all(r["status"] == "ok" for r in swaps)
    assert all(np.isfinite(r["fake_score"]) and r["verdict"] in ("real", "fake") for r in swaps)
    assert all(r["pairs_used"] > 0 and r["threshold"] == out["threshold"] for r in swaps)
    # the fused score is a percentile combination; each signal reports its own columns
    for r in swaps:
        assert 0.0 <= r["fake_score"] <= 1.0 and r["driving_signal"] in out["signals"]
        pcts = [r[f"pct_{s}"] for s in out["signals"]]
        assert all(p is None or 0.0 < p < 1.0 for p in pcts) and any(p is not None for p in pcts)
        assert r["driving_signal"] == out["signals"][int(np.nanargmax(
            [np.nan if p is None else p for p in pcts]))]  # fmt: skip
    csv = (tmp_path / "results" / "scores.csv").read_text()
    assert "faceless" in csv and "corrupt" in csv and "evidence_path" in csv.splitlines()[0]
    for r in first["results"]:  # sheets for the flagged videos only (the default)
        if r["verdict"] == "fake":
            assert Path(r["evidence_path"]).parent == tmp_path / "results" / "evidence"
            assert Path(r["evidence_path"]).is_file()
        else:
            assert r.get("evidence_path") is None
    second = score_media_archive(config)
    assert all(r["skipped"] for r in second["results"] if r["status"] != "unreadable")
    assert [r["fake_score"] for r in second["results"]] == [
        r["fake_score"] for r in first["results"]
    ]


def test_evaluate_writes_metrics_plots_and_report(trained, demo_corpus, tmp_path):
    from flows.evaluate_detector import EvaluateConfig, evaluate_detector

    _, out, catalog_root = trained
    result = evaluate_detector(
        EvaluateConfig(
            source=str(demo_corpus["test"]),
            catalog=catalog_root,
            detector=out["detector"],
            out_dir=str(tmp_path / "eval"),
            evidence="all",
        )  # fmt: skip
    )
    m = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert m["difffake"]["n_fake"] == 4 and m["difffake"]["n_real"] == 4
    assert 0.0 <= m["difffake"]["roc_auc"] <= 1.0
    assert "single_frame_baseline" in m and "pair_level" in m
    assert m["reals_seen_in_training"] == 0  # test reals are new videos
    for png in ("roc.png", "scores_hist.png"):
        assert (tmp_path / "eval" / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    report = (tmp_path / "eval" / "report.md").read_text()
    assert f"{m['difffake']['roc_auc']:.4f}" in report
    assert result["by_method"][0]["subset"] == "all"
    sheets = sorted((tmp_path / "eval" / "evidence").glob("*.png"))
    assert len(sheets) == 8  # evidence="all": every scored video
    assert "## Evidence sheets" in report and report.count("](evidence/") == 8


def test_explain_writes_the_evidence_sheet_of_a_real_clip(trained, shared_dev, tmp_path,
                                                          capsys, monkeypatch):  # fmt: skip
    from difffake_core.evidence import crop_keys, sheet_layout, top_pairs
    from difffake_core.video import file_sha256
    from flows.cli import main
    from tasks.evidence import N_PER_SIGNAL, build_evidence
    from tasks.score import STAGE_VERSION, load_detector, resolve_detector

    _, out, catalog_root = trained
    monkeypatch.setenv("DIFFFAKE_CATALOG", catalog_root)  # main() sets it; restored after
    clip = sorted((shared_dev / "fake").glob("*.mp4"))[0]
    argv = ["explain", str(clip), "--catalog", catalog_root, "--detector", out["detector"],
            "--out", str(tmp_path / "ev")]  # fmt: skip
    assert main(argv) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith(f"{clip.stem}: ") and "fake_score" in printed[0]
    sheet = Path(printed[-1].removeprefix("evidence: "))
    assert sheet.parent == tmp_path / "ev" and sheet.is_file()
    # the sheet shows the lowest-log-likelihood pairs, with their crops kept
    _, version, folder = resolve_detector(Catalog(catalog_root), out["detector"])
    work = Catalog(catalog_root).work_area("score", fingerprint(STAGE_VERSION, version)[:16])
    sha = file_sha256(str(clip))
    units = work.get(sha, "pair_scores").to_pandas()
    top = top_pairs(units, N_PER_SIGNAL)
    assert len(top) and set(top["signal"]) <= {"pairs", "adjacent_pairs"}
    for name, part in top.groupby("signal"):
        lowest = np.sort(units.loc[units["signal"] == name, "loglik"].to_numpy())
        np.testing.assert_array_equal(part["loglik"].to_numpy(), lowest[: len(part)])
    kept = work.get(sha, "evidence_crops").to_pylist()
    assert {(r["track_id"], r["frame_index"]) for r in kept} == set(crop_keys(top))
    row = work.get(sha, "scores").to_pylist()[0]
    crops = {(0, 0): np.zeros((4, 4, 3), np.uint8)}
    layout = sheet_layout(build_evidence(row, units, crops, load_detector(folder), ""))
    assert layout.panels[0] == "header" and layout.panels[-1] == "signals"
    assert "pairs:pairs" in layout.panels and "timeline:pairs" in layout.panels
    head = sheet.read_bytes()[:24]
    assert struct.unpack(">II", head[16:24]) == layout.size_px


@pytest.mark.slow
def test_killed_scoring_run_resumes(trained, demo_corpus, tmp_path):
    import os
    import signal
    import struct
    import subprocess
    import sys
    import time

    _, out, catalog_root = trained
    archive = tmp_path / "archive"
    shutil.copytree(demo_corpus["test"], archive)
    for i, video in enumerate(sorted(archive.rglob("*.mp4"))):
        # New content (a trailing MP4 'free' box), so nothing is already scored.
        with open(video, "ab") as f:
            f.write(struct.pack(">I4s", 8 + 16, b"free") + bytes([i]) * 16)
    env = dict(os.environ, PREFECT_HOME=str(tmp_path / "prefect"))
    cmd = [sys.executable, "-m", "flows.cli", "score", str(archive), "--catalog", catalog_root,
           "--detector", out["detector"], "--archive", "killed", "--out", str(tmp_path / "res")]  # fmt: skip
    work = Path(catalog_root) / "_work" / "score"

    def done() -> int:
        return sum(1 for _ in work.rglob("*.scores.parquet")) if work.exists() else 0

    before = done()
    log = open(tmp_path / "first_run.log", "w")  # noqa: SIM115 (closed below)
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.time() + 300
    while done() < before + 2 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    log.close()
    finished = done() - before
    assert 2 <= finished < 8, (tmp_path / "first_run.log").read_text()[-3000:]
    assert "killed.scores" not in Catalog(catalog_root).names()
    rerun = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    scores = Catalog(catalog_root).read_pandas("killed.scores")
    assert len(scores) == 8 and scores["video_id"].is_unique
    assert (scores["status"] == "ok").all()


def test_retrain_stores_an_int8_extractor_calibrated_on_the_fitting_reals(
    trained, demo_corpus, tmp_path
):
    from difffake_core.embedding import prepare_crops
    from difffake_core.quantization import calibration_indices, load_int8
    from difffake_core.runtime import calibration_digest
    from flows.score_media_archive import ScoreConfig, score_media_archive
    from tasks.data import usable_crops

    _, out, catalog_root = trained
    cat = Catalog(catalog_root)
    version = out["versions"]["detector"]
    folder = Path(cat.artifact_path("tiny.detector", version))
    card = load_int8(folder / "extractor").card  # verified against bytes and weights
    fit_ids = cat.manifest("tiny.detector", version).parameters["fit_videos"]
    videos = cat.read_pandas("tiny.videos").set_index("video_id")
    assert set(videos.loc[fit_ids, "label"]) == {"real"}
    # the card's calibration digest is that of the seeded draw from the fitting reals' crops
    crops = usable_crops(cat, "tiny", out["versions"]["face_crops"], video_ids=fit_ids)
    idx = calibration_indices(crops["video_id"].to_numpy(),
                              videos["label"].reindex(crops["video_id"]).to_numpy(object),
                              256, 0)  # fmt: skip
    assert card["calibration_crops"] == len(idx) == min(256, len(crops))
    images = prepare_crops(list(crops["crop"].iloc[idx]), card["input_size"])
    assert card["calibration_sha256"] == calibration_digest(images)
    # scoring with --runtime int8-onnx needs no training data, and its scores are kept apart
    # from fp32 ones: neither run serves the other's results
    archive = tmp_path / "archive"
    shutil.copytree(demo_corpus["test"] / "fake", archive)

    def score(runtime: str) -> list[dict]:
        return score_media_archive(ScoreConfig(
            source=str(archive), catalog=catalog_root, detector=out["detector"],
            archive=f"int8-{runtime}", runtime=runtime))["results"]  # fmt: skip

    fp32 = score("onnx")
    int8 = score("int8-onnx")
    assert int8 and not any(r["skipped"] for r in int8)
    assert all(r["status"] == "ok" and np.isfinite(r["fake_score"]) for r in int8)
    # the signals' raw scores move (fused scores are percentiles: coarse on a tiny corpus)
    raw = [k for k in int8[0] if k.startswith("raw_")]
    assert [[r[k] for k in raw] for r in int8] != [[r[k] for k in raw] for r in fp32]
    again = score("onnx")
    assert all(r["skipped"] for r in again)
    assert [r["fake_score"] for r in again] == [r["fake_score"] for r in fp32]
