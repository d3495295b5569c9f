"""Detector fitting in the core: the split, per-signal settings, fit + calibration + card."""

import json

import numpy as np
import pandas as pd
import pytest

from difffake_core.detector import PairSettings
from difffake_core.detector_fit import (
    FitSettings,
    fit_detector,
    real_video_ids,
    signal_params,
    split_real_videos,
)
from tests.unit.signals.test_signals import SMALL, make_video


def _videos(n_real=10, n_fake=3, split=None):
    rows = [(f"r{i}", "real") for i in range(n_real)]
    rows += [(f"f{i}", "fake") for i in range(n_fake)]
    df = pd.DataFrame(rows, columns=["video_id", "label"])
    df["status"] = "ok"
    df["split"] = split(df) if split else None
    return df


def test_real_video_ids_count_unlabelled_footage_as_real_and_skip_failed_videos():
    df = _videos(3, 2)
    df.loc[0, "status"] = "unreadable"
    df.loc[1, "label"] = None
    assert real_video_ids(df) == ["r1", "r2"]


def test_seeded_split_is_disjoint_complete_and_reproducible():
    df = _videos(10)
    fit, cal = split_real_videos(df, 0.3, seed=4)
    assert len(cal) == 3 and not set(fit) & set(cal)
    assert sorted(fit + cal) == real_video_ids(df)
    assert (fit, cal) == split_real_videos(df, 0.3, seed=4)
    assert (fit, cal) != split_real_videos(df, 0.3, seed=5) or len(cal) == 0


def test_the_corpus_split_wins_when_it_has_one():
    df = _videos(
        6, split=lambda d: ["train", "train", "train", "val", "test", "val"] + ["test"] * 3
    )
    fit, cal = split_real_videos(df, 0.5, seed=0)
    assert fit == ["r0", "r1", "r2"] and cal == ["r3", "r4", "r5"]


def test_signal_params_follow_the_pair_settings_and_take_overrides():
    pairs = PairSettings(strategy="all", op="abs_diff", min_pairs=3)
    sp = signal_params(pairs, "gmm", {"n_components": 2}, None, {"sbi_head": {"top_k": 8}})
    assert sp["pairs"]["strategy"] == "all" and sp["pairs"]["op"] == "abs_diff"
    assert sp["frame"]["anomaly_model"] == "gmm"  # no baseline model: the anomaly model
    assert sp["sbi_head"] == {"min_units": 3, "top_k": 8}
    settings = FitSettings(pairs=pairs, signals=("pairs", "frame"))
    assert set(settings.signal_params()) == {"pairs", "frame"}
    json.dumps(settings.as_params())  # JSON-ready: it is fingerprinted and recorded


@pytest.fixture(scope="module")
def fitted():
    rng = np.random.default_rng(3)
    fit = [make_video(f"r{i}", rng) for i in range(14)]
    cal = [make_video(f"c{i}", rng) for i in range(10)]
    fakes = [make_video(f"f{i}", rng, fake=True) for i in range(6)]
    names = ("pairs", "sbi_head", "landmark_dynamics", "frame")
    settings = FitSettings(
        anomaly_model="diag_gmm", anomaly_params={"n_components": 1}, baseline_model="diag_gmm",
        signals=names, signal_overrides=SMALL, target_fpr=0.1,
    )  # fmt: skip
    return fit_detector(fit, cal, settings, fakes, card={"corpus": "demo"}), names


def test_fit_detector_records_calibration_and_an_in_corpus_figure(fitted):
    result, names = fitted
    meta = result.metadata
    assert meta["signals"] == list(names) and meta["fit_videos"] == 14
    assert meta["calibration_videos"] == 10 and meta["threshold"] == result.detector.threshold
    assert meta["in_corpus_auc"] > 0.5  # the synthetic fakes jitter, the reals move smoothly
    assert set(meta["in_corpus_auc_per_signal"]) <= set(names)
    card = result.detector.card
    assert card["corpus"] == "demo" and card["anomaly_model"] == "diag_gmm"
    assert card["validation"] is meta
    json.dumps(meta, default=float)


def test_without_fakes_there_is_no_in_corpus_figure():
    rng = np.random.default_rng(5)
    fit = [make_video(f"r{i}", rng) for i in range(12)]
    cal = [make_video(f"c{i}", rng) for i in range(9)]
    settings = FitSettings(signals=("pairs",), signal_overrides=SMALL)
    result = fit_detector(fit, cal, settings)
    assert "in_corpus_auc" not in result.metadata and result.detector.is_fused
