"""Evaluation metrics in the core, on a hand-made scores table (no catalog, no Prefect)."""

import json

import numpy as np
import pandas as pd

from difffake_core.evaluation import clean_json, evaluate


def _tables(seed=0, n=12):
    rng = np.random.default_rng(seed)
    labels = ["real"] * n + ["fake"] * n
    fake_score = np.r_[rng.uniform(0.0, 0.6, n), rng.uniform(0.4, 1.0, n)]
    scores = pd.DataFrame(
        {
            "video_id": [f"v{i}" for i in range(2 * n)] + ["bad"],
            "label": labels + ["fake"],
            "status": ["ok"] * (2 * n) + ["unreadable"],
            "fake_score": list(fake_score) + [np.nan],
            "threshold": 0.5,
            "baseline_score": list(rng.uniform(size=2 * n)) + [np.nan],
            "method": [None] * n + ["swap"] * n + ["swap"],
            "content_sha256": [f"h{i}" for i in range(2 * n)] + ["hx"],
            "detector_version": "d1",
        }
    )
    pairs = pd.DataFrame({"video_id": np.repeat(scores["video_id"][: 2 * n], 3)})
    pairs["loglik"] = -np.repeat(fake_score, 3) + rng.normal(scale=0.01, size=len(pairs))
    return scores, pairs


def test_evaluate_counts_statuses_and_separates_scored_from_failed_videos():
    scores, pairs = _tables()
    ev = evaluate(scores, pairs, "arch", "s1")
    r = ev.result
    assert r["videos_total"] == 25 and r["videos_scored"] == 24
    assert r["statuses"] == {"ok": 24, "unreadable": 1}
    assert 0.5 < r["difffake"]["roc_auc"] <= 1.0 and ev.threshold == 0.5
    assert r["pair_level"]["roc_auc"] > 0.5  # pair loglik follows the video scores
    assert set(ev.curves) == {"DiffFake", "single-frame baseline"}
    assert "difffake_unseen_only" not in r and r["reals_seen_in_training"] == 0
    assert set(ev.breakdown["subset"]) == {"all", "swap"}
    json.dumps(clean_json(r), default=str)


def test_unseen_only_metrics_appear_when_some_reals_were_seen_in_training():
    scores, pairs = _tables(1)
    ev = evaluate(scores, pairs, "arch", "s1", seen_sha256=["h0", "h1", "h2"])
    assert ev.result["reals_seen_in_training"] == 3
    unseen = ev.result["difffake_unseen_only"]
    assert unseen["n"] == 21 and unseen["n_real"] == 9
    assert "video ROC-AUC, unseen videos only" in ev.result["summary"]


def test_clean_json_turns_nan_into_none_and_numpy_into_python():
    out = clean_json({"a": np.float32(np.nan), "b": [np.int64(3), np.float64(0.5)]})
    assert out == {"a": None, "b": [3, 0.5]} and type(out["b"][0]) is int
