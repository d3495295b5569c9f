"""Issue 9, "done when": the whole bad-input corpus ingests and scores through the CLI with one
row per file and exit 0 (every hostile file a status row, the good clips scored)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from data_catalog import Catalog
from tests.reliability.hostile import claim_frames, make_test_detector, write_avi
from tests.support.media import astronaut, faceless, make_bad_files, moving_frames, write_video

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def _corpus(folder: Path) -> list[Path]:
    """Two good clips and one of every hostile kind; returns every listed file."""
    folder.mkdir(parents=True)
    good = write_video(folder / "good_a.mp4", moving_frames(astronaut(), 12, seed=1))
    write_video(folder / "good_b.mp4", moving_frames(astronaut(), 12, seed=2))
    make_bad_files(folder, good)  # empty, truncated, garbage, text, audio-only, one frame
    write_video(folder / "no_face.mp4", [faceless()] * 12)
    claim_frames(write_avi(folder / "crafted.avi", moving_frames(astronaut(), 8, seed=3)))
    shutil.copy(good, folder / "good_a.mkv")  # same stem, other extension
    write_video(folder / "ünïcødé clip.mp4", moving_frames(astronaut(), 12, seed=4))
    (folder / "passwd_link.mp4").symlink_to("/etc/passwd")  # leaves the corpus root
    return sorted(p for p in folder.iterdir())


def _run(args: list[str], prefect_home: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PREFECT_HOME=str(prefect_home), PYTHONPATH=str(ROOT))
    env.pop("PREFECT_API_URL", None)
    cmd = [sys.executable, "-m", "flows.cli", *args]
    return subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, timeout=900)


def test_hostile_corpus_ingests_and_scores_one_row_per_file(face_model, tmp_path):
    files = _corpus(tmp_path / "corpus")
    catalog = tmp_path / "catalog"
    common = ["--catalog", str(catalog), "--face-model", str(face_model)]

    ingest = _run(["ingest", str(tmp_path / "corpus"), *common, "--frames", "6"], tmp_path / "p")
    assert ingest.returncode == 0, ingest.stdout[-3000:] + ingest.stderr[-3000:]
    videos = Catalog(str(catalog)).read_pandas("corpus.videos")
    assert len(videos) == len(files) and videos["video_id"].is_unique
    status = dict(zip(videos["path"].map(lambda p: Path(p).name), videos["status"], strict=True))
    assert status["good_a.mp4"] == status["good_b.mp4"] == status["good_a.mkv"] == "ok"
    assert status["passwd_link.mp4"] == "outside_root"
    assert status["empty.mp4"] != "ok" and status["notes.mp4"] != "ok"
    assert status["no_face.mp4"] == "no_face"

    detector = make_test_detector(tmp_path / "detector")
    score = _run(["score", str(tmp_path / "corpus"), *common, "--detector", str(detector),
                  "--runtime", "torch", "--out", str(tmp_path / "out")], tmp_path / "p")  # fmt: skip
    assert score.returncode == 0, score.stdout[-3000:] + score.stderr[-3000:]
    assert "Traceback" not in score.stderr
    scores = Catalog(str(catalog)).read_pandas("corpus.scores")
    assert len(scores) == len(files) and scores["video_id"].is_unique
    by_name = dict(zip(scores["path"].map(lambda p: Path(p).name), scores["status"], strict=True))
    assert by_name["passwd_link.mp4"] == "outside_root"
    assert by_name["good_a.mp4"] == "ok" and by_name["ünïcødé clip.mp4"] == "ok"
    assert scores.loc[scores["status"] == "ok", "fake_score"].notna().all()
