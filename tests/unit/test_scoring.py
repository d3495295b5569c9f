"""Per-track and per-video aggregation of pair log-likelihoods."""

from __future__ import annotations

import numpy as np
import pytest

from difffake_core.anomaly import create_anomaly_model
from difffake_core.pairs import build_pairs
from difffake_core.scoring import score_groups, score_pair_set, video_verdicts

VIDS = ["a", "a", "a", "b", "c", "c", "c"]
GIDS = [0, 0, 1, 0, 0, 1, 1]
LL = np.array([-1.0, -3.0, -10.0, -2.0, -5.0, -6.0, -8.0])


def test_score_groups_by_hand() -> None:
    g = score_groups(VIDS, GIDS, LL)
    assert list(g.columns) == ["video_id", "group_id", "n_pairs", "mean_loglik", "fake_score"]
    assert g[["video_id", "group_id"]].values.tolist() == [
        ["a", 0], ["a", 1], ["b", 0], ["c", 0], ["c", 1]
    ]  # fmt: skip
    assert g["n_pairs"].tolist() == [2, 1, 1, 1, 2]
    assert np.allclose(g["mean_loglik"], [-2.0, -10.0, -2.0, -5.0, -7.0])
    assert np.allclose(g["fake_score"], -g["mean_loglik"])


def test_score_groups_without_groups_and_bad_input() -> None:
    g = score_groups(VIDS, None, LL)
    assert g["n_pairs"].tolist() == [3, 1, 3]
    assert np.allclose(g["fake_score"], [14.0 / 3.0, 2.0, 19.0 / 3.0])
    with pytest.raises(ValueError, match="1 NaN"):
        score_groups(VIDS, GIDS, np.r_[LL[:-1], np.nan])
    with pytest.raises(ValueError, match=r"must match loglik \(6,\)"):
        score_groups(VIDS, GIDS, LL[:6])


def test_video_verdicts_takes_most_suspicious_track() -> None:
    v = video_verdicts(score_groups(VIDS, GIDS, LL), threshold=6.5)
    assert v["video_id"].tolist() == ["a", "b", "c"]
    assert np.allclose(v["fake_score"], [10.0, 2.0, 7.0])
    assert v["worst_group_id"].tolist() == [1, 0, 1]
    assert v["n_groups"].tolist() == [2, 1, 2]
    assert v["n_pairs"].tolist() == [3, 1, 3]
    assert v["verdict"].tolist() == ["fake", "real", "fake"]
    assert v["status"].tolist() == ["ok", "ok", "ok"]


def test_min_pairs_threshold_equality_and_missing_videos() -> None:
    v = video_verdicts(
        score_groups(VIDS, GIDS, LL), min_pairs=2, threshold=7.0, video_ids=list("abcd")
    )
    assert v["video_id"].tolist() == ["a", "b", "c", "d"]
    assert v["status"].tolist() == ["ok", "too_few_pairs", "ok", "too_few_pairs"]
    assert v["fake_score"].iloc[0] == 2.0  # the 1-pair track no longer counts
    assert np.isnan(v["fake_score"].iloc[1]) and np.isnan(v["fake_score"].iloc[3])
    assert v["n_groups_scored"].tolist() == [1, 0, 1, 0]
    # 7.0 is not > 7.0: real; unscored videos get no verdict
    assert v["verdict"].tolist() == ["real", None, "real", None]
    assert v["worst_group_id"].tolist() == [0, None, 1, None]


def test_no_threshold_no_verdict_and_bad_args() -> None:
    g = score_groups(VIDS, GIDS, LL)
    assert video_verdicts(g)["verdict"].isna().all()
    with pytest.raises(ValueError, match="min_pairs must be >= 1, got 0"):
        video_verdicts(g, min_pairs=0)
    with pytest.raises(ValueError, match="fake_score"):
        video_verdicts(g.drop(columns="fake_score"))


def test_score_pair_set_end_to_end() -> None:
    rng = np.random.default_rng(0)
    n = 30
    vids = np.array(["real"] * n + ["odd"] * n)
    frames = np.r_[np.arange(n), np.arange(n)]
    emb = rng.normal(size=(2 * n, 6))
    emb[n:] += rng.normal(0.0, 3.0, size=(n, 6))  # the "odd" video jitters between frames
    pairs = build_pairs(vids, frames, emb, "all", "sq_diff", rng)
    model = create_anomaly_model("gmm", n_components=1).fit(pairs.vectors[pairs.video_id == "real"])
    g = score_pair_set(model, pairs)
    assert g["n_pairs"].tolist() == [n * (n - 1) // 2] * 2
    v = video_verdicts(g).set_index("video_id")
    assert v.loc["odd", "fake_score"] > v.loc["real", "fake_score"]


def test_video_without_pairs_is_reported_not_dropped() -> None:
    one_frame = build_pairs(
        np.array(["v"]), [0], np.ones((1, 4)), "consecutive", "diff", np.random.default_rng(0)
    )
    g = score_pair_set(create_anomaly_model("gmm"), one_frame)  # never scores: no pairs
    assert len(g) == 0
    v = video_verdicts(g, threshold=1.0, video_ids=["v", "w"])
    assert v["video_id"].tolist() == ["v", "w"]
    assert v["status"].tolist() == ["too_few_pairs"] * 2
    assert v["verdict"].tolist() == [None, None]
