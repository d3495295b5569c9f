"""Tasks: fit the anomaly models on real pairs, calibrate the threshold, register a detector."""

from __future__ import annotations

import tempfile
from typing import Any

import numpy as np
import pandas as pd
from prefect import task
from prefect.cache_policies import NO_CACHE

from data_catalog import Catalog, fingerprint
from difffake_core.anomaly import calibrate_threshold, create_anomaly_model
from difffake_core.detector import Detector, PairSettings, l2_normalise
from difffake_core.metrics import binary_metrics
from difffake_core.scoring import score_groups, video_verdicts
from tasks.embed import vectors_of

STAGE_VERSION = "detector-1"


def split_real_videos(
    videos: pd.DataFrame, val_fraction: float, seed: int
) -> tuple[list[str], list[str]]:
    """(fit, calibrate) real video ids. The corpus's own split wins when it has one
    (train -> fit; val/test -> calibrate); otherwise a seeded split by whole video."""
    from tasks.data import real_video_ids

    real = real_video_ids(videos)
    by_split = videos.set_index("video_id").loc[real, "split"] if real else pd.Series(dtype=object)
    if (
        real
        and by_split.notna().all()
        and by_split.isin(["train"]).any()
        and (by_split != "train").any()
    ):
        fit = sorted(by_split[by_split == "train"].index)
        return fit, sorted(set(real) - set(fit))
    rng = np.random.default_rng(seed)
    order = list(rng.permutation(real))
    n_cal = max(1, int(round(val_fraction * len(order)))) if len(order) > 1 else 0
    return sorted(order[n_cal:]), sorted(order[:n_cal])


def model_params(name: str, params: dict[str, Any] | None, n_rows: int) -> dict[str, Any]:
    """Hyper-parameters for ``name``; for ``pca_gmm`` without an explicit
    ``pca_components`` the axes are capped at ``n_rows // 10`` (at least 8, at most 64) so
    three full-covariance components stay well-posed on small real corpora."""
    out = dict(params or {})
    if name == "pca_gmm" and "pca_components" not in out:
        out["pca_components"] = int(min(64, max(8, n_rows // 10), n_rows - 1))
    return out


def video_scores(
    model, pairs_df: pd.DataFrame, min_pairs: int, threshold: float | None = None
) -> pd.DataFrame:
    """Per-video fake scores (most suspicious track) of the pairs in ``pairs_df``."""
    if pairs_df.empty:
        return pd.DataFrame(columns=["video_id", "fake_score", "verdict", "status"])
    loglik = model.score_samples(vectors_of(pairs_df))
    groups = score_groups(pairs_df["video_id"].to_numpy(), pairs_df["track_id"].to_numpy(), loglik)
    return video_verdicts(groups, min_pairs, threshold)


@task(name="fit_detector", cache_policy=NO_CACHE)
def fit_detector(
    catalog_root: str,
    corpus: str,
    versions: dict[str, str],
    fit_ids: list[str],
    calibrate_ids: list[str],
    pairs: PairSettings,
    anomaly_model: str = "pca_gmm",
    anomaly_params: dict[str, Any] | None = None,
    baseline_model: str | None = "pca_gmm",
    target_fpr: float = 0.05,
    card: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Fit on real pairs of ``fit_ids``, calibrate on ``calibrate_ids``; register
    ``{corpus}.detector``. ``versions`` holds the extractor, embeddings and pairs versions."""
    catalog = Catalog(catalog_root)
    name = f"{corpus}.detector"
    names = {k: f"{corpus}.{k}" for k in ("extractor", "embeddings", "embedding_pairs")}
    params = {
        "anomaly_model": anomaly_model,
        "anomaly_params": anomaly_params or {},
        "baseline_model": baseline_model,
        "target_fpr": target_fpr,
        "pairs": pairs.__dict__,
        "fit_videos": sorted(fit_ids),
        "calibrate_videos": sorted(calibrate_ids),
    }
    fp = fingerprint(STAGE_VERSION, versions, params)
    found = catalog.find(name, fp)
    if found is not None:
        return {"version": found.version, "reused": True, **found.metadata}
    pairs_df = catalog.read_pandas(names["embedding_pairs"], versions["embedding_pairs"])
    fit_pairs = pairs_df[pairs_df["video_id"].isin(set(fit_ids))]
    if len(fit_pairs) < 10:
        raise ValueError(f"only {len(fit_pairs)} real pairs to fit the anomaly model on")
    hp = model_params(anomaly_model, anomaly_params, len(fit_pairs))
    model = create_anomaly_model(anomaly_model, **hp).fit(vectors_of(fit_pairs))
    baseline = None
    if baseline_model:
        emb = catalog.read_pandas(names["embeddings"], versions["embeddings"])
        fit_emb = emb[emb["video_id"].isin(set(fit_ids))]
        bp = model_params(baseline_model, anomaly_params, len(fit_emb))
        baseline = create_anomaly_model(baseline_model, **bp)
        baseline.fit(l2_normalise(vectors_of(fit_emb)))
    cal = video_scores(
        model, pairs_df[pairs_df["video_id"].isin(set(calibrate_ids))], pairs.min_pairs
    )
    cal_scores = cal.loc[cal["status"] == "ok", "fake_score"].to_numpy(float)
    if cal_scores.size == 0:
        raise ValueError("no calibration video has enough pairs to set a threshold")
    threshold = calibrate_threshold(cal_scores, target_fpr)
    metadata: dict[str, Any] = {
        "threshold": threshold,
        "target_fpr": target_fpr,
        "calibration_videos": int(cal_scores.size),
        "calibration_fpr": float(np.mean(cal_scores > threshold)),
        "fit_pairs": len(fit_pairs),
        "fit_videos": len(set(fit_pairs["video_id"])),
    }
    fakes = pairs_df[pairs_df["label"] == "fake"]
    if not fakes.empty:  # an in-corpus sanity figure: calibration reals vs the corpus's fakes
        fs = video_scores(model, fakes, pairs.min_pairs)
        fs = fs[fs["status"] == "ok"]
        labels = np.r_[np.zeros(cal_scores.size), np.ones(len(fs))]
        scores = np.r_[cal_scores, fs["fake_score"].to_numpy(float)]
        metadata["in_corpus_auc"] = binary_metrics(labels, scores)["roc_auc"]
    det_card = dict(card or {})
    det_card.update(
        corpus=corpus,
        data_versions={names[k]: v for k, v in versions.items() if k in names},
        anomaly_model=anomaly_model,
        baseline_model=baseline_model,
        validation=metadata,
    )
    detector = Detector(anomaly=model, threshold=threshold, pairs=pairs, baseline=baseline,
                        card=det_card)  # fmt: skip
    parents = {names[k]: v for k, v in versions.items() if k in names}
    with tempfile.TemporaryDirectory() as tmp:
        ext_dir = catalog.artifact_path(names["extractor"], versions["extractor"])
        detector.save(tmp, extractor_dir=ext_dir)
        with catalog.writer(name, parents=parents, parameters=params, fingerprint_=fp,
                            metadata=metadata) as w:  # fmt: skip
            import os

            for root, _, files in os.walk(tmp):
                for f in files:
                    full = os.path.join(root, f)
                    w.add_file(full, os.path.relpath(full, tmp))
    return {"version": w.manifest.version, "reused": False, **metadata}
