"""Leave-source-out fold planning, bootstrap intervals, corpus labels and the report."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from difffake_core.benchmark import (
    assign_sources,
    bootstrap_ci,
    corpus_labels,
    plan_folds,
    rank_auc,
    rates_at,
)
from difffake_core.benchmark_report import (
    BEFORE,
    FUSED,
    group_frame,
    summarise,
    write_benchmark_report,
)
from difffake_core.errors import UsageError
from difffake_core.metrics import binary_metrics


def reals_table() -> pd.DataFrame:
    sizes = {"dev": 20, "news": 7, "voxceleb": 6, "interview": 5, "phone": 5, "webcam": 5,
             "film_tv": 3, "grid": 2, "vlog": 1, "vfhq": 1}  # fmt: skip
    rows = [(f"{s}/real_{i}", s) for s, n in sizes.items() for i in range(n)]
    return pd.DataFrame(rows, columns=["video_id", "source"])


@pytest.mark.parametrize("k", [2, 3, 5])
def test_folds_never_train_or_calibrate_on_a_test_source(k):
    reals = reals_table()
    source = reals.set_index("video_id")["source"]
    folds = plan_folds(reals, k=k, seed=3)
    assert len(folds) == k
    for f in folds:
        learned = set(f.fit_ids) | set(f.calibrate_ids)
        assert not set(f.fit_ids) & set(f.calibrate_ids)
        assert {source[v] for v in learned}.isdisjoint(f.test_sources)
        assert {source[v] for v in f.test_real_ids} == set(f.test_sources)
        assert set(f.train_sources) == set(source) - set(f.test_sources)
        # every real of a training source is used for fitting or calibration
        assert learned == set(source[source.isin(f.train_sources)].index)
        assert len(f.calibrate_ids) >= 1
    tested = [v for f in folds for v in f.test_real_ids]
    assert sorted(tested) == sorted(reals["video_id"])  # every real tested exactly once


def test_fold_plan_is_seeded_and_balanced():
    reals = reals_table()
    assert plan_folds(reals, 3, seed=1) == plan_folds(reals, 3, seed=1)
    loads = [len(f.test_real_ids) for f in plan_folds(reals, 3, seed=1)]
    assert max(loads) - min(loads) <= 20  # the 20-real source sits alone in its fold
    groups = assign_sources({"a": 4, "b": 4, "c": 4, "d": 4}, 2, seed=0)
    assert sorted(len(g) for g in groups) == [2, 2]


def test_fold_plan_rejects_too_few_sources_and_missing_sources():
    reals = pd.DataFrame({"video_id": ["a", "b", "c"], "source": ["x", "x", "y"]})
    with pytest.raises(UsageError, match="3 folds need at least 3 real sources"):
        plan_folds(reals, 3)
    with pytest.raises(UsageError, match="at least 2 folds"):
        plan_folds(reals, 1)
    with pytest.raises(ValueError, match="needs a source"):
        plan_folds(reals.assign(source=["x", None, "y"]), 2)
    with pytest.raises(ValueError, match="unique"):
        plan_folds(pd.DataFrame({"video_id": ["a", "a"], "source": ["x", "y"]}), 2)


def test_rank_auc_matches_sklearn_with_ties():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200)
    s = np.round(rng.normal(size=200) + y, 1)  # many ties
    assert rank_auc(y, s) == pytest.approx(binary_metrics(y, s)["roc_auc"])
    assert np.isnan(rank_auc(np.ones(3), np.arange(3.0)))


def test_bootstrap_of_separable_scores_is_one_one():
    y = np.r_[np.zeros(10), np.ones(12)]
    s = np.r_[np.linspace(0, 1, 10), np.linspace(2, 3, 12)]
    ci = bootstrap_ci(y, s, n_boot=200, seed=0)
    assert (ci.value, ci.low, ci.high) == (1.0, 1.0, 1.0)


def test_bootstrap_interval_contains_estimate_and_is_seeded():
    rng = np.random.default_rng(1)
    y = np.r_[np.zeros(40), np.ones(40)]
    s = rng.normal(size=80) + 0.8 * y
    a = bootstrap_ci(y, s, n_boot=300, seed=7)
    assert a.low <= a.value <= a.high
    assert 0.0 < a.high - a.low < 0.5
    assert a == bootstrap_ci(y, s, n_boot=300, seed=7)
    assert a != bootstrap_ci(y, s, n_boot=300, seed=8)


def test_bootstrap_groups_resample_whole_videos():
    # two rows per video: grouped resampling keeps each video's rows together, so a
    # metric that counts distinct-row parity always sees even counts per video
    y = np.repeat(np.r_[np.zeros(5), np.ones(5)], 2)
    vid = np.repeat(np.arange(10), 2)

    def pairs_intact(yy, ss):
        counts = pd.Series(ss).value_counts()
        return float((counts % 2 == 0).all())

    ci = bootstrap_ci(y, vid.astype(float), pairs_intact, groups=vid, n_boot=50, seed=0)
    assert ci.low == 1.0
    ungrouped = bootstrap_ci(y, vid.astype(float), pairs_intact, n_boot=50, seed=0)
    assert ungrouped.low == 0.0


def test_rates_at_use_each_rows_threshold():
    y = np.array([0, 0, 1, 1])
    s = np.array([0.5, 0.5, 0.5, 0.9])
    thr = np.array([0.4, 0.6, 0.6, 0.6])
    assert rates_at(y, s, thr) == (0.5, 0.5)


def test_corpus_labels_split_method_and_default_source():
    videos = pd.DataFrame({
        "video_id": ["real/a", "fake/b", "real/c", "fake/d"],
        "label": ["real", "fake", "real", "fake"], "status": ["ok"] * 4,
        "method": ["pristine:X", "faceswap:DeepFaceLive_DFM", "pristine", "lipsync"],
    })  # fmt: skip
    out = corpus_labels(videos, None, "dev").set_index("video_id")
    assert out.loc["real/a", "source"] == "dev" and out.loc["real/a", "method"] == "real"
    assert out.loc["fake/b", "method"] == "faceswap"
    assert out.loc["fake/b", "generator"] == "DeepFaceLive_DFM"
    manifest = pd.DataFrame({"path": ["real/c.mp4", "fake/d.mp4"], "source": ["news", "gen:x"],
                             "generator": ["", "LatentSync"]})  # fmt: skip
    out = corpus_labels(videos, manifest, "dev2").set_index("video_id")
    assert out.loc["real/c", "source"] == "news"
    assert out.loc["real/a", "source"] == "dev2"  # not in the manifest: the corpus
    assert out.loc["fake/d", "generator"] == "LatentSync"
    assert pd.isna(out.loc["real/c", "generator"])


def synthetic_rows(seed: int = 0) -> pd.DataFrame:
    """Two folds; each tests 6 unseen reals and the same 8 fakes (two methods)."""
    rng = np.random.default_rng(seed)
    rows = []
    for fold in (0, 1):
        for i in range(6):
            rows.append({"fold": fold, "video_id": f"r{fold}{i}", "label": "real",
                         "method": "real", "generator": None, "source": f"s{fold}"})  # fmt: skip
        for i in range(8):
            method = "faceswap" if i < 4 else "talking_head"
            rows.append({"fold": fold, "video_id": f"f{i}", "label": "fake", "method": method,
                         "generator": f"g{i % 2}", "source": "generated"})  # fmt: skip
    df = pd.DataFrame(rows)
    fake = (df["label"] == "fake").to_numpy()
    swap = (df["method"] == "faceswap").to_numpy()
    df["fake_score"] = np.where(swap, 0.95, np.where(fake, 0.5, 0.1)) + rng.uniform(
        0, 0.04, len(df)
    )
    df["threshold"] = 0.9
    df["before_score"] = rng.uniform(size=len(df))
    df["before_threshold"] = 0.95
    df["pct_pairs"] = df["before_score"]
    df["pct_frame"] = df["fake_score"]
    df.loc[0, "fake_score"] = np.nan  # one unscored video
    return df


def test_summarise_pools_folds_and_breaks_down_by_method():
    df = synthetic_rows()
    s = summarise(df, ["pairs", "frame", "sbi_head"], n_boot=100, seed=0)
    assert s["detectors"] == [FUSED, BEFORE, "pairs", "frame"]  # sbi_head has no column
    fused = s["pooled"][FUSED]
    assert fused["n_real"] == 11 and fused["n_fake"] == 16  # the NaN row is left out
    assert fused["roc_auc"]["value"] == 1.0 and fused["roc_auc"]["low"] == 1.0
    assert fused["fpr_unseen_reals"]["value"] == 0.0
    assert fused["tpr"]["value"] == pytest.approx(0.5)  # only the swaps pass 0.9
    by_method = {e["method"]: e for e in s["by_method"]}
    assert by_method["faceswap"]["fused_tpr"] == 1.0
    assert by_method["talking_head"]["fused_tpr"] == 0.0
    assert {e["generator"] for e in s["by_generator"]} == {"g0", "g1"}
    assert [f["fold"] for f in s["folds"]] == [0, 1]
    assert s["unscored"][0]["video_id"] == "r00"


def test_report_writes_tables_and_plots(tmp_path):
    df = synthetic_rows()
    s = summarise(df, ["pairs", "frame"], n_boot=50, seed=0)
    plan = [{"fold": 0, "test_sources": ["s0"], "fit_videos": 4, "calibration_videos": 2,
             "test_reals": 6}, {"fold": 1, "test_sources": ["s1"], "fit_videos": 4,
             "calibration_videos": 2, "test_reals": 6}]  # fmt: skip
    paths = write_benchmark_report(tmp_path, df, s, {"settings": {"preset": "cpu-small"},
                                                     "plan": plan, "timings": {"fold 0": 3.0}})  # fmt: skip
    text = paths["report"].read_text()
    assert "## By method" in text and "faceswap" in text and "1.000 [1.00, 1.00]" in text
    assert "FPR <= 0.1" in text or "FPR unseen-source reals <= 0.1" in text
    for name in ("roc_pooled", "roc_fused_by_method", "roc_fused_by_fold"):
        assert paths[name].stat().st_size > 1000
    compact = group_frame(s["by_method"], "method", s["detectors"], ci=False)
    assert compact.set_index("method").loc["faceswap", FUSED] == "1.000"
    json.dumps(s, default=str)  # JSON-ready apart from numpy scalars handled by default=str
