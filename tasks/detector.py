"""Tasks: fit the anomaly models on real pairs, calibrate the threshold, register a detector."""

from __future__ import annotations

import os
import tempfile
from typing import Any

import numpy as np
from prefect import task
from prefect.cache_policies import NO_CACHE

from data_catalog import Catalog, DatasetRef, dataset_name, run_stage
from difffake_core.detector import PairSettings
from difffake_core.detector_fit import (
    FitSettings,
    split_real_videos,  # noqa: F401  (re-exported for flows)
)
from difffake_core.detector_fit import fit_detector as fit_core
from difffake_core.embedding import prepare_crops
from difffake_core.quantization import (
    DEFAULT_CALIBRATION_CROPS,
    Int8Model,
    Int8Settings,
    calibration_indices,
    quantize_extractor,
    weights_sha256,
)
from difffake_core.signals import MIN_CALIBRATION, FaceSet, build_faceset
from difffake_core.status import Status
from difffake_core.training.checkpoint import load_extractor
from tasks.data import usable_crops
from tasks.embed import vectors_of
from tasks.progress import report

STAGE_VERSION = "detector-3"  # 2: fused signals; 3: calibrated int8 extractor inside
INPUT_KINDS = ("extractor", "embeddings", "embedding_pairs", "face_crops")


def video_facesets(
    catalog: Catalog,
    corpus: str,
    embeddings_version: str,
    crops_version: str | None,
    video_ids: list[str] | None = None,
) -> dict[str, FaceSet]:
    """``{video_id: FaceSet}`` from ``{corpus}.embeddings`` joined with the landmarks,
    boxes and timestamps of ``{corpus}.face_crops`` (usable rows only)."""
    emb = catalog.read_pandas(dataset_name(corpus, "embeddings"), embeddings_version)
    if video_ids is not None:
        emb = emb[emb["video_id"].isin(set(video_ids))]
    key = ["video_id", "frame_index", "track_id"]
    if crops_version is not None:
        cols = [*key, "status", "timestamp_s", "landmarks", "bbox", "crop_size"]
        crops = catalog.read_pandas(dataset_name(corpus, "face_crops"), crops_version, columns=cols)
        crops = crops[crops["status"] == Status.OK].drop(columns="status")
        emb = emb.merge(crops, on=key, how="left")
    fps = catalog.read_pandas(dataset_name(corpus, "videos")).set_index("video_id")["fps"]
    out: dict[str, FaceSet] = {}
    for vid, g in emb.groupby("video_id", sort=True):
        g = g.sort_values(["track_id", "frame_index"])
        has_lm = "landmarks" in g and g["landmarks"].notna().all() and g["bbox"].notna().all()
        logit = g["logit"].to_numpy(np.float64) if "logit" in g else None
        anchor = g["anchor_frame"].fillna(g["frame_index"]).to_numpy(np.int64)
        out[vid] = build_faceset(
            str(vid), g["frame_index"].to_numpy(), g["track_id"].to_numpy(), anchor_frame=anchor,
            timestamp_s=g["timestamp_s"].to_numpy(np.float64) if has_lm else None,
            vectors=vectors_of(g), logits=logit,
            crop_landmarks=np.stack(g["landmarks"].to_numpy()) if has_lm else None,
            crop_boxes=np.stack(g["bbox"].to_numpy()) if has_lm else None,
            crop_size=g["crop_size"].to_numpy(np.float64) if has_lm else None,
            fps=float(fps.get(vid, np.nan)) if vid in fps.index else None,
            texture=texture_of(g),
        )  # fmt: skip
    return out


def texture_of(table) -> np.ndarray | None:
    """The ``texture`` column as ``(N, F)`` float32 with NaN rows for nulls; None when the
    embeddings predate it or no row was measured."""
    if "texture" not in table or table["texture"].isna().all():
        return None
    values = table["texture"].to_numpy(object)
    width = len(next(v for v in values if v is not None))
    nan = np.full(width, np.nan, np.float32)
    return np.stack([nan if v is None else np.asarray(v, np.float32) for v in values])


@task(name="fit_detector", cache_policy=NO_CACHE)
def fit_detector(
    catalog_root: str,
    corpus: str,
    versions: dict[str, str],
    fit_ids: list[str],
    calibrate_ids: list[str],
    pairs: PairSettings,
    anomaly_model: str = FitSettings.anomaly_model,
    anomaly_params: dict[str, Any] | None = None,
    baseline_model: str | None = FitSettings.baseline_model,
    target_fpr: float = FitSettings.target_fpr,
    card: dict[str, Any] | None = None,
    signals: list[str] | None = None,
    signal_overrides: dict[str, dict[str, Any]] | None = None,
    fusion_rule: str = FitSettings.fusion_rule,
    min_calibration: int = MIN_CALIBRATION,
    int8_crops: int = DEFAULT_CALIBRATION_CROPS,
    seed: int = 0,
) -> dict[str, Any]:
    """Fit every signal on the reals of ``fit_ids``, calibrate the fusion on the reals of
    ``calibrate_ids``; register ``{corpus}.detector``. ``versions`` holds the extractor,
    embeddings, pairs and (for landmarks) face-crops versions. With ``int8_crops`` > 0 the
    extractor's int8 graph is calibrated on that many crops of the ``fit_ids`` reals (drawn
    with ``seed``) and stored in the detector, for the ``int8-onnx`` runtime."""
    catalog = Catalog(catalog_root)
    settings = FitSettings(
        pairs, anomaly_model, anomaly_params or {}, baseline_model, target_fpr,
        tuple(signals or FitSettings.signals), signal_overrides or {}, fusion_rule,
        min_calibration,
    )  # fmt: skip
    inputs = [DatasetRef.of(corpus, k, v) for k, v in versions.items() if k in INPUT_KINDS]
    params = {**settings.as_params(), "fit_videos": sorted(fit_ids),
              "calibrate_videos": sorted(calibrate_ids)}  # fmt: skip
    if int8_crops > 0:
        params["int8"] = Int8Settings(crops=int8_crops, seed=seed).as_dict()

    def build(w) -> None:
        faces = video_facesets(catalog, corpus, versions["embeddings"], versions.get("face_crops"))
        videos = catalog.read_pandas(dataset_name(corpus, "videos"))
        fakes = sorted(videos.loc[videos["label"] == "fake", "video_id"])

        def pick(ids: list[str]) -> list[FaceSet]:
            return [faces[v] for v in sorted(ids) if v in faces]

        data_versions = {r.name: r.version for r in inputs}
        report(f"{dataset_name(corpus, 'detector')}: fitting {', '.join(settings.signals)} on "
               f"{len(pick(fit_ids))} reals, calibrating on {len(pick(calibrate_ids))}")  # fmt: skip
        fitted = fit_core(pick(fit_ids), pick(calibrate_ids), settings, pick(fakes),
                          {**(card or {}), "corpus": corpus, "data_versions": data_versions})  # fmt: skip
        w.metadata.update(fitted.metadata)
        int8 = None
        if int8_crops > 0 and versions.get("face_crops"):
            int8 = calibrated_int8(catalog, corpus, versions, fit_ids,
                                   Int8Settings(crops=int8_crops, seed=seed))  # fmt: skip
            w.metadata["int8_calibration_crops"] = int8.card["calibration_crops"]
        save_detector(fitted.detector, catalog, versions, corpus, w, int8)

    out = run_stage(catalog, dataset_name(corpus, "detector"), STAGE_VERSION, inputs, params, build)
    return {"version": out.ref.version, "reused": out.reused, **out.metadata}


def calibrated_int8(
    catalog: Catalog, corpus: str, versions: dict[str, str], fit_ids: list[str],
    settings: Int8Settings,
) -> Int8Model:  # fmt: skip
    """The extractor's int8 graph, calibrated on ``settings.crops`` usable crops of the real
    videos among ``fit_ids`` (sampled frames; drawn by :func:`calibration_indices`)."""
    crops = usable_crops(catalog, corpus, versions["face_crops"], video_ids=list(fit_ids))
    labels = catalog.read_pandas(dataset_name(corpus, "videos")).set_index("video_id")["label"]
    idx = calibration_indices(crops["video_id"].to_numpy(),
                              labels.reindex(crops["video_id"]).to_numpy(object),
                              settings.crops, settings.seed)  # fmt: skip
    ext = catalog.artifact_path(dataset_name(corpus, "extractor"), versions["extractor"])
    model, card = load_extractor(ext)
    images = prepare_crops(list(crops["crop"].iloc[idx]), int(card["input_size"]))
    return quantize_extractor(model, images, weights_sha256(ext), settings)


def save_detector(
    detector, catalog: Catalog, versions: dict[str, str], corpus: str, w,
    int8: Int8Model | None = None,
) -> None:  # fmt: skip
    """Write ``detector`` (with its extractor's files and ``int8`` model) into the writer ``w``."""
    with tempfile.TemporaryDirectory() as tmp:
        ext = catalog.artifact_path(dataset_name(corpus, "extractor"), versions["extractor"])
        detector.save(tmp, extractor_dir=ext, int8=int8)
        w.metadata["content_version"] = detector.version  # binds this version to its bytes
        for root, _, files in os.walk(tmp):
            for f in files:
                full = os.path.join(root, f)
                w.add_file(full, os.path.relpath(full, tmp))
