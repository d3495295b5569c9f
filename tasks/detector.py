"""Tasks: fit the anomaly models on real pairs, calibrate the threshold, register a detector."""

from __future__ import annotations

import tempfile
from typing import Any

import numpy as np
import pandas as pd
from prefect import task
from prefect.cache_policies import NO_CACHE

from data_catalog import Catalog, fingerprint
from difffake_core.detector import Detector, PairSettings
from difffake_core.metrics import binary_metrics
from difffake_core.scoring import score_groups, video_verdicts
from difffake_core.signals import (
    DEFAULT_SIGNALS,
    MIN_CALIBRATION,
    FaceSet,
    build_faceset,
    calibrate_signals,
    fit_signals,
    raw_scores,
)
from tasks.embed import vectors_of

STAGE_VERSION = "detector-2"  # 2: fused signals


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


def signal_params(
    pairs: PairSettings,
    anomaly_model: str,
    anomaly_params: dict[str, Any] | None,
    baseline_model: str | None,
    overrides: dict[str, dict[str, Any]] | None,
) -> dict[str, dict[str, Any]]:
    """Per-signal parameters: ``pairs`` from the pair settings and anomaly model (the
    paper's setting stays selectable), ``adjacent_pairs`` and ``frame`` with the same
    anomaly model (``frame`` with ``baseline_model``), then the caller's overrides."""
    am = {"anomaly_model": anomaly_model, "anomaly_params": dict(anomaly_params or {})}
    out: dict[str, dict[str, Any]] = {
        "pairs": {"strategy": pairs.strategy, "op": pairs.op, "seed": pairs.seed,
                  "images_to_pair": pairs.images_to_pair, "min_units": pairs.min_pairs, **am},
        "adjacent_pairs": {"op": pairs.op, "min_units": pairs.min_pairs, **am},
        "frame": {**am, "anomaly_model": baseline_model or anomaly_model,
                  "min_units": pairs.min_pairs},
        "sbi_head": {"min_units": pairs.min_pairs},
        "landmark_dynamics": {},
    }  # fmt: skip
    for name, extra in (overrides or {}).items():
        out.setdefault(name, {}).update(extra)
    return out


def video_facesets(
    catalog: Catalog,
    corpus: str,
    embeddings_version: str,
    crops_version: str | None,
    video_ids: list[str] | None = None,
) -> dict[str, FaceSet]:
    """``{video_id: FaceSet}`` from ``{corpus}.embeddings`` joined with the landmarks,
    boxes and timestamps of ``{corpus}.face_crops`` (usable rows only)."""
    emb = catalog.read_pandas(f"{corpus}.embeddings", embeddings_version)
    if video_ids is not None:
        emb = emb[emb["video_id"].isin(set(video_ids))]
    key = ["video_id", "frame_index", "track_id"]
    if crops_version is not None:
        cols = [*key, "status", "timestamp_s", "landmarks", "bbox", "crop_size"]
        crops = catalog.read_pandas(f"{corpus}.face_crops", crops_version, columns=cols)
        crops = crops[crops["status"] == "ok"].drop(columns="status")
        emb = emb.merge(crops, on=key, how="left")
    fps = catalog.read_pandas(f"{corpus}.videos").set_index("video_id")["fps"]
    out: dict[str, FaceSet] = {}
    for vid, g in emb.groupby("video_id", sort=True):
        g = g.sort_values(["track_id", "frame_index"])
        has_lm = "landmarks" in g and g["landmarks"].notna().all() and g["bbox"].notna().all()
        logit = g["logit"].to_numpy(np.float64) if "logit" in g else None
        out[vid] = build_faceset(
            str(vid), g["frame_index"].to_numpy(), g["track_id"].to_numpy(),
            timestamp_s=g["timestamp_s"].to_numpy(np.float64) if has_lm else None,
            vectors=vectors_of(g), logits=logit,
            crop_landmarks=np.stack(g["landmarks"].to_numpy()) if has_lm else None,
            crop_boxes=np.stack(g["bbox"].to_numpy()) if has_lm else None,
            crop_size=g["crop_size"].to_numpy(np.float64) if has_lm else None,
            fps=float(fps.get(vid, np.nan)) if vid in fps.index else None,
        )  # fmt: skip
    return out


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
    signals: list[str] | None = None,
    signal_overrides: dict[str, dict[str, Any]] | None = None,
    fusion_rule: str = "sidak_max",
    min_calibration: int = MIN_CALIBRATION,
) -> dict[str, Any]:
    """Fit every signal on the reals of ``fit_ids``, calibrate the fusion on the reals of
    ``calibrate_ids``; register ``{corpus}.detector``. ``versions`` holds the extractor,
    embeddings, pairs and (for landmarks) face-crops versions."""
    catalog = Catalog(catalog_root)
    name = f"{corpus}.detector"
    names = {k: f"{corpus}.{k}" for k in ("extractor", "embeddings", "embedding_pairs",
                                          "face_crops")}  # fmt: skip
    chosen = list(signals or DEFAULT_SIGNALS)
    sp = signal_params(pairs, anomaly_model, anomaly_params, baseline_model, signal_overrides)
    params = {
        "signals": chosen,
        "signal_params": {k: sp[k] for k in chosen if k in sp},
        "fusion_rule": fusion_rule,
        "min_calibration": min_calibration,
        "target_fpr": target_fpr,
        "pairs": pairs.__dict__,
        "fit_videos": sorted(fit_ids),
        "calibrate_videos": sorted(calibrate_ids),
    }
    fp = fingerprint(STAGE_VERSION, versions, params)
    found = catalog.find(name, fp)
    if found is not None:
        return {"version": found.version, "reused": True, **found.metadata}
    faces = video_facesets(catalog, corpus, versions["embeddings"], versions.get("face_crops"))
    fit_faces = [faces[v] for v in sorted(fit_ids) if v in faces]
    cal_faces = [faces[v] for v in sorted(calibrate_ids) if v in faces]
    fitted, skipped = fit_signals(fit_faces, chosen, sp)
    fusion = calibrate_signals(fitted, cal_faces, fusion_rule, target_fpr, min_calibration)
    metadata: dict[str, Any] = {
        "threshold": fusion.threshold,
        "target_fpr": target_fpr,
        "calibration_videos": fusion.info["calibration_videos"],
        "calibration_fpr": fusion.info["calibration_fpr_loo"],
        "fit_videos": len(fit_faces),
        "signals": list(fitted),
        "signals_left_out": skipped,
        "fusion_rule": fusion.rule.value,
    }
    videos = catalog.read_pandas(names.get("videos", f"{corpus}.videos"))
    fake_ids = sorted(videos.loc[videos["label"] == "fake", "video_id"])
    fake_faces = [faces[v] for v in fake_ids if v in faces]
    if fake_faces:  # an in-corpus sanity figure: calibration reals vs the corpus's fakes
        real_raw = raw_scores(fitted, cal_faces)
        fake_raw = raw_scores(fitted, fake_faces)
        fr, ff = fusion.score(real_raw)["fake_score"], fusion.score(fake_raw)["fake_score"]
        ok_r, ok_f = fr[np.isfinite(fr)], ff[np.isfinite(ff)]
        labels = np.r_[np.zeros(ok_r.size), np.ones(ok_f.size)]
        metadata["in_corpus_auc"] = binary_metrics(labels, np.r_[ok_r, ok_f])["roc_auc"]
        per_signal = {}
        for s in fitted:
            r, f = real_raw[s][np.isfinite(real_raw[s])], fake_raw[s][np.isfinite(fake_raw[s])]
            if r.size and f.size:
                y = np.r_[np.zeros(r.size), np.ones(f.size)]
                per_signal[s] = binary_metrics(y, np.r_[r, f])["roc_auc"]
        metadata["in_corpus_auc_per_signal"] = per_signal
    det_card = dict(card or {})
    det_card.update(
        corpus=corpus,
        data_versions={names[k]: v for k, v in versions.items() if k in names},
        anomaly_model=anomaly_model,
        baseline_model=baseline_model,
        validation=metadata,
    )
    detector = Detector(anomaly=None, threshold=fusion.threshold, pairs=pairs, card=det_card,
                        signals=fitted, fusion=fusion)  # fmt: skip
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
