"""Flow ``retrain-detector``: ingest -> extractor -> embeddings -> pairs -> anomaly model ->
calibrated threshold -> a registered ``{corpus}.detector`` version.

Every stage reuses its catalog dataset when its inputs and settings are unchanged, so a
scheduled rerun on an unchanged corpus costs little more than hashing the files.
"""

from __future__ import annotations

from typing import Any, Literal

import pandas as pd
from prefect import flow
from pydantic import BaseModel, Field

from data_catalog import Catalog
from data_catalog.catalog import default_root
from difffake_core.detector import PairSettings
from difffake_core.detector_fit import check_training_data, split_real_videos
from difffake_core.ingest import IngestParams
from difffake_core.quantization import DEFAULT_CALIBRATION_CROPS
from difffake_core.signals import DEFAULT_SIGNALS, MIN_CALIBRATION, FusionRule
from flows.choices import (
    DEFAULT_ANOMALY_MODEL,
    DEFAULT_PRESET,
    DEFAULT_RUNTIME,
    AnomalyModelName,
    PresetName,
    RuntimeName,
)
from flows.config import CorpusSource
from flows.ingest_corpus import IngestConfig, ingest_corpus
from tasks.data import track_frames, video_table
from tasks.detector import fit_detector
from tasks.embed import embed_faces, make_embedding_pairs
from tasks.progress import report
from tasks.train import train_extractor_task

# every registered signal (tests/unit/signals/test_signals.py checks the two agree)
SignalName = Literal["pairs", "adjacent_pairs", "sbi_head", "landmark_dynamics", "frame", "texture"]
RETRAIN_SIGNALS = DEFAULT_SIGNALS


class DetectorSettings(BaseModel):
    """How a detector is made from ingested real videos (extractor, signals, calibration)."""

    preset: PresetName = Field(DEFAULT_PRESET, description="Extractor training preset")
    train_overrides: dict[str, Any] = Field(default_factory=dict)
    pairs: PairSettings = Field(default_factory=PairSettings)
    anomaly_model: AnomalyModelName = Field(
        DEFAULT_ANOMALY_MODEL,
        description="pca_gmm (default: fast and well-posed at any scale), gmm (the paper's "
        "full-covariance mixture), diag_gmm, ocsvm",
    )
    anomaly_params: dict[str, Any] = Field(default_factory=dict)
    baseline_model: AnomalyModelName | None = Field(
        DEFAULT_ANOMALY_MODEL, description="Single-frame baseline model"
    )
    signals: list[SignalName] = Field(
        default_factory=lambda: list(RETRAIN_SIGNALS),
        description="Signals of the fused detector (each fitted on reals only); ['pairs'] "
        "alone is the DiffFake pair-only setting",
    )
    signal_overrides: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="Per-signal parameters, e.g. {'sbi_head': {'top_k': 8}}"
    )
    fusion_rule: FusionRule = Field(FusionRule.SIDAK_MAX, description="How percentiles combine")
    min_calibration: int = Field(
        MIN_CALIBRATION, ge=2, description="Fewest held-out reals accepted for calibration"
    )
    target_fpr: float = Field(0.05, ge=0.0, lt=1.0)
    calibration_fraction: float = Field(
        0.3, gt=0.0, lt=1.0, description="Share of real videos held out (all of them calibrate)"
    )
    runtime: RuntimeName = DEFAULT_RUNTIME
    int8_calibration_crops: int = Field(
        DEFAULT_CALIBRATION_CROPS, ge=0,
        description="Crops of the fitting reals that calibrate the extractor's int8 graph "
        "stored in the detector (for scoring with --runtime int8-onnx); 0: none stored",
    )  # fmt: skip
    seed: int = 0


def default_ingest() -> IngestParams:
    """Face stage settings of a detector: neighbour frames feed adjacent_pairs."""
    return IngestParams(neighbour_offsets=(1,))


class RetrainConfig(CorpusSource, DetectorSettings):
    """One config for the whole re-training job."""

    root: str = Field(description="Real-footage corpus (fakes in it are used only for figures)")
    ingest: IngestParams = Field(
        default_factory=default_ingest,
        description="Face stage settings; neighbour frames feed adjacent_pairs",
    )


@flow(name="retrain-detector", log_prints=True)
def retrain_detector(config: RetrainConfig) -> dict[str, Any]:
    catalog_root = config.catalog or default_root()
    ingest = ingest_corpus(
        IngestConfig(**{**config.source_fields(), "catalog": catalog_root}, params=config.ingest)
    )
    corpus = ingest["corpus"]
    catalog = Catalog(catalog_root)
    videos = video_table(catalog, corpus, ingest["versions"]["videos"])
    fit_ids, calibrate_ids = split_real_videos(videos, config.calibration_fraction, config.seed)
    out = fit_on_videos(catalog_root, corpus, videos, ingest["versions"]["face_crops"], fit_ids,
                        calibrate_ids, config, config.ingest)  # fmt: skip
    return {**out, "versions": {**ingest["versions"], **out["versions"]}}


def fit_on_videos(
    catalog_root: str,
    corpus: str,
    videos: pd.DataFrame,
    crops_version: str,
    fit_ids: list[str],
    calibrate_ids: list[str],
    settings: DetectorSettings,
    ingest: IngestParams,
) -> dict[str, Any]:
    """Extractor -> embeddings -> pairs -> detector of an ingested corpus, learning only from
    the real videos ``fit_ids`` (extractor and signals) and ``calibrate_ids`` (fusion).

    Every stage is a catalog dataset keyed by its inputs and settings, so a repeat call (or
    one that differs only in the detector's settings) reuses what is already built.
    ``ingest``: the face settings the corpus was ingested with (recorded for scoring).
    A corpus too small to fit and calibrate fails here, before any training.
    """
    check_training_data(
        videos, track_frames(Catalog(catalog_root), corpus, crops_version), fit_ids,
        calibrate_ids, settings.pairs, settings.min_calibration, settings.calibration_fraction,
    )  # fmt: skip
    extractor = train_extractor_task(
        catalog_root, corpus, crops_version, fit_ids, settings.preset, settings.train_overrides
    )
    if extractor.get("reused"):
        report(f"{corpus}.extractor@{extractor['version']}: reused (same crops and settings)")
    emb_version = embed_faces(catalog_root, corpus, crops_version, extractor["version"],
                              settings.runtime)  # fmt: skip
    pairs_version = make_embedding_pairs(catalog_root, corpus, emb_version, settings.pairs)
    versions = {
        "extractor": extractor["version"],
        "embeddings": emb_version,
        "embedding_pairs": pairs_version,
        "face_crops": crops_version,
    }
    sha = videos.set_index("video_id")["content_sha256"]
    card = {
        # Content hashes of every real video the detector learned from (extractor, anomaly
        # model, threshold), so an evaluation can tell seen from unseen footage.
        "seen_content_sha256": sorted(sha.loc[list(fit_ids) + list(calibrate_ids)].dropna()),
        "ingest": ingest.as_dict(),
        "preset": settings.preset,
        "extractor_val_auc": extractor.get("val_auc"),
        "seed": settings.seed,
    }
    detector = fit_detector(
        catalog_root, corpus, versions, fit_ids, calibrate_ids, settings.pairs,
        settings.anomaly_model, settings.anomaly_params, settings.baseline_model,
        settings.target_fpr, card, list(settings.signals), settings.signal_overrides,
        settings.fusion_rule.value, settings.min_calibration,
        int8_crops=settings.int8_calibration_crops, seed=settings.seed,
    )  # fmt: skip
    return {
        "corpus": corpus,
        "detector": f"{corpus}.detector@{detector['version']}",
        "extractor_val_auc": extractor.get("val_auc"),
        "fit_videos": len(fit_ids),
        "calibration_videos": len(calibrate_ids),
        **{k: v for k, v in detector.items() if k != "version"},
        "versions": {**versions, "detector": detector["version"]},
    }
