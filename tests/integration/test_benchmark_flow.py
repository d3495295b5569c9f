"""The benchmark flow end to end on a few real clips of the shared dev set (slow)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from difffake_core.detector import PairSettings
from difffake_core.ingest import IngestParams

TINY_TRAINING = {"epochs": 1, "steps_per_epoch": 2, "batch_size": 8, "input_size": 128,
                 "num_workers": 0}  # fmt: skip


def _corpus(root: Path, reals: list[Path], fakes: list[Path], sources: list[str] | None) -> Path:
    for sub in ("real", "fake"):
        (root / sub).mkdir(parents=True)
    rows = []
    for i, p in enumerate(reals):
        shutil.copy(p, root / "real" / p.name)  # the adapter refuses symlinks out of the root
        rows.append({"path": f"real/{p.name}", "label": "real", "method": "pristine",
                     "generator": "", "source": sources[i] if sources else ""})  # fmt: skip
    for p in fakes:
        shutil.copy(p, root / "fake" / p.name)
        rows.append({"path": f"fake/{p.name}", "label": "fake", "method": "faceswap",
                     "generator": "DeepFaceLive", "source": "generated:dfl"})  # fmt: skip
    frame = pd.DataFrame(rows)
    if sources is None:
        frame = frame.drop(columns=["source", "generator"])
    frame.to_csv(root / "manifest.csv", index=False)
    return root


@pytest.mark.slow
def test_benchmark_leaves_sources_out_and_reuses_on_rerun(
    shared_dev, face_model, prefect_harness, tmp_path
):
    from data_catalog import Catalog
    from flows.benchmark import BenchmarkConfig, benchmark

    reals = sorted((shared_dev / "real").glob("*.mp4"))[:9]
    fakes = sorted((shared_dev / "fake").glob("*.mp4"))[:3]
    # corpus "one": no sources (one source named after it); corpus "two": sources a, b
    one = _corpus(tmp_path / "one", reals[:3], fakes[:2], None)
    two = _corpus(tmp_path / "two", reals[3:], fakes[2:], ["a", "a", "a", "b", "b", "b"])
    config = BenchmarkConfig(
        corpora=[str(one), str(two)], catalog=str(tmp_path / "catalog"), folds=3, n_boot=50,
        out_dir=str(tmp_path / "out"), ingest=IngestParams(n_frames=8, neighbour_offsets=(1,)),
        train_overrides=TINY_TRAINING, pairs=PairSettings(images_to_pair=4, min_pairs=2),
        min_calibration=2, calibration_fraction=0.34,
    )  # fmt: skip
    out = benchmark(config)
    rows = pd.read_csv(tmp_path / "out" / "test_rows.csv")
    plan = {p["fold"]: p for p in out["plan"]}
    assert sorted(s for p in plan.values() for s in p["test_sources"]) == ["a", "b", "one"]
    for fold, g in rows.groupby("fold"):
        real = g[g["label"] == "real"]
        assert set(real["source"]) == set(plan[fold]["test_sources"])
        assert (g["label"] == "fake").sum() == 3  # every fake in every fold
    assert sorted(rows.loc[rows["label"] == "real", "video_id"]) == sorted(
        [f"one/real/{p.stem}" for p in reals[:3]] + [f"two/real/{p.stem}" for p in reals[3:]]
    )  # every real tested exactly once
    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert set(metrics["pooled"]) >= {"fused", "pairs only (before)", "pairs"}
    assert "## By generator" in (tmp_path / "out" / "report.md").read_text()
    cat = Catalog(str(tmp_path / "catalog"))
    n_versions = {n: len(cat.versions(n)) for n in cat.names()}
    again = benchmark(config)  # a rerun builds nothing new
    assert {n: len(cat.versions(n)) for n in cat.names()} == n_versions
    assert again["summary"]["pooled"]["fused"] == out["summary"]["pooled"]["fused"]
