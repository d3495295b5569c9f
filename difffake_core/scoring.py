"""From pair log-likelihoods to per-track and per-video fake scores.

Convention: ``fake_score`` is higher for more likely fake, and equals the **negative mean
pair log-likelihood** of a track (group) under the anomaly model fitted on real pairs. A
video's score is its most suspicious track: the maximum ``fake_score`` over tracks that
have at least ``min_pairs`` pairs (a face swap usually touches one person; averaging over
tracks would dilute it).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from difffake_core.pairs import PairSet
from difffake_core.status import Status

STATUS_OK = Status.OK
STATUS_TOO_FEW_PAIRS = Status.TOO_FEW_PAIRS
GROUP_COLUMNS = ("video_id", "group_id", "n_pairs", "mean_loglik", "fake_score")
VIDEO_COLUMNS = (
    "video_id",
    "fake_score",
    "worst_group_id",
    "n_groups",
    "n_groups_scored",
    "n_pairs",
    "verdict",
    "status",
)


def score_groups(
    video_ids: Sequence[Any] | np.ndarray,
    group_ids: Sequence[Any] | np.ndarray | None,
    loglik: np.ndarray,
) -> pd.DataFrame:
    """Aggregate pair log-likelihoods per (video, group).

    Args:
        video_ids: shape ``(P,)``.
        group_ids: shape ``(P,)`` (e.g. face-track ids), or ``None`` for one group ``0``.
        loglik: pair log-likelihoods (``model.score_samples``), shape ``(P,)``.

    Returns:
        One row per (video, group), sorted, with columns ``video_id, group_id, n_pairs,
        mean_loglik, fake_score`` (``fake_score = -mean_loglik``).

    Raises:
        ValueError: mismatched lengths or NaN log-likelihoods.
    """
    loglik = np.asarray(loglik, dtype=np.float64)
    if loglik.ndim != 1:
        raise ValueError(f"loglik must have shape (P,), got {loglik.shape}")
    n = loglik.size
    vids = np.asarray(video_ids)
    gids = np.zeros(n, dtype=np.int64) if group_ids is None else np.asarray(group_ids)
    if vids.shape != (n,) or gids.shape != (n,):
        raise ValueError(
            f"video_ids {vids.shape} and group_ids {gids.shape} must match loglik ({n},)"
        )
    n_nan = int(np.count_nonzero(np.isnan(loglik)))
    if n_nan:
        raise ValueError(f"loglik contains {n_nan} NaN values")
    frame = pd.DataFrame({"video_id": vids, "group_id": gids, "loglik": loglik})
    out = (
        frame.groupby(["video_id", "group_id"], sort=True)["loglik"]
        .agg(n_pairs="size", mean_loglik="mean")
        .reset_index()
    )
    out["n_pairs"] = out["n_pairs"].astype(np.int64)
    out["fake_score"] = -out["mean_loglik"]
    return out[list(GROUP_COLUMNS)]


def score_pair_set(model: Any, pairs: PairSet) -> pd.DataFrame:
    """``score_groups`` of a :class:`PairSet` under a fitted anomaly model."""
    if len(pairs) == 0:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in GROUP_COLUMNS})
    return score_groups(pairs.video_id, pairs.group_id, model.score_samples(pairs.vectors))


def video_verdicts(
    group_scores: pd.DataFrame,
    min_pairs: int = 1,
    threshold: float | None = None,
    video_ids: Sequence[Any] | None = None,
) -> pd.DataFrame:
    """One row per video from :func:`score_groups` output.

    Args:
        group_scores: columns ``video_id, group_id, n_pairs, fake_score``.
        min_pairs: a group is scored only with at least this many pairs.
        threshold: when given, ``verdict`` is "fake" if ``fake_score > threshold`` else
            "real" (see ``calibrate_threshold``); ``None`` leaves verdicts empty.
        video_ids: every video expected in the output; those with no group rows at all
            (no faces, no pairs) get status ``too_few_pairs``.

    Returns:
        Sorted by ``video_id``, columns ``video_id, fake_score`` (max over scored groups;
        NaN when none), ``worst_group_id`` (the group giving the max), ``n_groups`` and
        ``n_pairs`` (all groups), ``n_groups_scored``, ``verdict`` ("fake", "real" or None)
        and ``status`` ("ok", or "too_few_pairs" when no group has ``min_pairs`` pairs).
    """
    missing = {"video_id", "group_id", "n_pairs", "fake_score"} - set(group_scores.columns)
    if missing:
        raise ValueError(f"group_scores lacks columns {sorted(missing)}")
    if min_pairs < 1:
        raise ValueError(f"min_pairs must be >= 1, got {min_pairs}")
    gs = group_scores[["video_id", "group_id", "n_pairs", "fake_score"]]
    totals = gs.groupby("video_id", sort=True).agg(
        n_groups=("group_id", "size"), n_pairs=("n_pairs", "sum")
    )
    scored = gs[gs["n_pairs"] >= min_pairs]
    counts = scored.groupby("video_id").size().rename("n_groups_scored")
    worst = (
        scored.sort_values(["video_id", "fake_score"], ascending=[True, False], kind="stable")
        .drop_duplicates("video_id")
        .set_index("video_id")[["fake_score", "group_id"]]
        .rename(columns={"group_id": "worst_group_id"})
    )
    worst["worst_group_id"] = worst["worst_group_id"].astype(object)  # keep int ids int
    out = totals.join(worst).join(counts)
    if video_ids is not None:
        extra = pd.Index(pd.unique(np.asarray(video_ids, dtype=object))).difference(out.index)
        out = pd.concat([out, pd.DataFrame(index=extra)]).sort_index()
    out.index.name = "video_id"
    out = out.reset_index()
    for col in ("n_groups", "n_groups_scored", "n_pairs"):
        out[col] = out[col].fillna(0).astype(np.int64)
    out["fake_score"] = out["fake_score"].astype(np.float64)
    out["worst_group_id"] = out["worst_group_id"].astype(object)
    ok = out["n_groups_scored"] > 0
    out.loc[~ok, "worst_group_id"] = None
    out["status"] = np.where(ok, STATUS_OK, STATUS_TOO_FEW_PAIRS)
    verdict = pd.Series([None] * len(out), index=out.index, dtype=object)
    if threshold is not None:
        verdict[ok] = np.where(out.loc[ok, "fake_score"] > threshold, "fake", "real")
    out["verdict"] = verdict
    return out[list(VIDEO_COLUMNS)]
