"""Flow ``benchmark``: leave-source-out evaluation of the detector on labelled corpora.

Each corpus is ingested once (``ingest-corpus``, reused from the catalog); their videos and
face crops form one combined corpus ``{name}``; the real sources are dealt into folds
(:func:`difffake_core.benchmark.plan_folds`). Per fold, ``retrain``'s stages
(:func:`flows.retrain_detector.fit_on_videos`) learn only from reals of the training
sources, and the fold's held-out reals plus every fake are scored from the catalog. The
pair-only DiffFake setting (``before_signals``) is fitted on the same fold data. Every
stage is a catalog dataset keyed by its inputs, so a rerun only recomputes the report.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pandas as pd
from prefect import flow
from pydantic import Field

from data_catalog import Catalog
from difffake_core.benchmark import corpus_labels, plan_folds
from difffake_core.errors import UsageError
from difffake_core.ingest import IngestParams
from flows.choices import DEFAULT_ADAPTER, AdapterName
from flows.config import JobOptions
from flows.ingest_corpus import IngestConfig, ingest_corpus
from flows.retrain_detector import DetectorSettings, SignalName, default_ingest, fit_on_videos
from tasks.benchmark import combine_corpora, combined_id, report_benchmark, score_catalog_videos
from tasks.data import video_table
from tasks.progress import report

LABEL_COLUMNS = ["video_id", "label", "method", "generator", "source"]


class BenchmarkConfig(JobOptions, DetectorSettings):
    """Settings of a leave-source-out benchmark (the detector settings are ``retrain``'s)."""

    corpora: list[str] = Field(min_length=1, description="Labelled corpus roots")
    adapter: AdapterName = Field(DEFAULT_ADAPTER, description="Corpus adapter of every corpus")
    name: str = Field("benchmark", description="Dataset prefix of the combined corpus")
    ingest: IngestParams = Field(default_factory=default_ingest)
    folds: int = Field(3, ge=2, description="Folds of real sources")
    only_folds: list[int] | None = Field(None, description="Run only these folds (trials)")
    before_signals: list[SignalName] | None = Field(
        default_factory=lambda: ["pairs"],
        description="The 'before' detector fitted on the same folds (None: skip)",
    )
    n_boot: int = Field(1000, ge=0, description="Bootstrap resamples per interval")
    out_dir: str = Field("benchmark", description="Folder for report.md, metrics.json, plots")
    int8_calibration_crops: int = Field(
        0, ge=0, description="The folds score catalog embeddings (fp32): no int8 graph by default"
    )


def corpus_name(root: str) -> str:
    return os.path.basename(os.path.normpath(root)) or "corpus"


def read_manifest(root: str) -> pd.DataFrame | None:
    """The corpus's ``manifest.csv`` (for ``source``/``generator``), or None."""
    path = Path(root) / "manifest.csv" if os.path.isdir(root) else Path(root)
    return pd.read_csv(path, dtype=str, keep_default_na=False) if path.is_file() else None


@flow(name="benchmark", log_prints=True)
def benchmark(config: BenchmarkConfig) -> dict[str, Any]:
    catalog_root = config.catalog_root()
    catalog = Catalog(catalog_root)
    timings: dict[str, float] = {}
    t0 = time.monotonic()
    names = [corpus_name(r) for r in config.corpora]
    if len(set(names)) != len(names):
        raise UsageError(f"corpus folder names must differ, got {names}")
    parts, labels = [], []
    for root, name in zip(config.corpora, names, strict=True):
        ingest = ingest_corpus(IngestConfig(root=root, adapter=config.adapter, corpus=name,
                                            catalog=catalog_root, face_model=config.face_model,
                                            params=config.ingest))  # fmt: skip
        parts.append(
            {"corpus": name, **{k: ingest["versions"][k] for k in ("videos", "face_crops")}}
        )
        lab = corpus_labels(video_table(catalog, name, ingest["versions"]["videos"]),
                            read_manifest(root), name)  # fmt: skip
        labels.append(lab.assign(video_id=[combined_id(name, v) for v in lab["video_id"]]))
    table = pd.concat(labels, ignore_index=True)
    table = table[table["label"].isin(["real", "fake"])]
    reals = table[(table["label"] == "real") & (table["status"] == "ok")]
    sources = dict(zip(reals["video_id"], reals["source"], strict=True))
    combined = combine_corpora(catalog_root, config.name, parts, sources)
    videos = video_table(catalog, config.name, combined["videos"])
    timings["ingest + combine"] = time.monotonic() - t0
    plan = plan_folds(reals[["video_id", "source"]], config.folds, config.seed,
                      config.calibration_fraction)  # fmt: skip
    fakes = sorted(table.loc[table["label"] == "fake", "video_id"])
    settings = DetectorSettings(**config.model_dump(include=set(DetectorSettings.model_fields)))
    fold_rows, fold_info = [], []
    for fold in plan:
        if config.only_folds is not None and fold.index not in config.only_folds:
            continue
        t = time.monotonic()
        report(f"fold {fold.index + 1}/{len(plan)}: training on {len(fold.fit_ids)} reals "
               f"({len(fold.calibrate_ids)} for calibration), testing {len(fold.test_real_ids)} "
               f"reals of {', '.join(fold.test_sources)} and {len(fakes)} fakes")  # fmt: skip
        fused = fit_on_videos(catalog_root, config.name, videos, combined["face_crops"],
                              list(fold.fit_ids), list(fold.calibrate_ids), settings,
                              config.ingest)  # fmt: skip
        tested = [*fold.test_real_ids, *fakes]
        rows = score_catalog_videos(catalog_root, config.name, fused["versions"],
                                    fused["versions"]["detector"], tested)  # fmt: skip
        info = {**fold.as_dict(), "detector": fused["detector"],
                "extractor_val_auc": fused.get("extractor_val_auc"),
                "calibration_fpr_loo": fused.get("calibration_fpr")}  # fmt: skip
        if config.before_signals:
            before = fit_on_videos(catalog_root, config.name, videos, combined["face_crops"],
                                   list(fold.fit_ids), list(fold.calibrate_ids),
                                   settings.model_copy(update={"signals": config.before_signals}),
                                   config.ingest)  # fmt: skip
            b = score_catalog_videos(catalog_root, config.name, before["versions"],
                                     before["versions"]["detector"], tested)  # fmt: skip
            b = b[["video_id", "fake_score", "threshold"]].rename(
                columns={"fake_score": "before_score", "threshold": "before_threshold"}
            )
            rows = rows.merge(b, on="video_id", how="left")
            info["before_detector"] = before["detector"]
        fold_rows.append(rows.assign(fold=fold.index))
        fold_info.append(info)
        timings[f"fold {fold.index}"] = time.monotonic() - t
        report(f"fold {fold.index + 1}/{len(plan)} done in {timings[f'fold {fold.index}']:.0f} s")
    if not fold_rows:
        raise UsageError(f"no fold selected: only_folds={config.only_folds}, folds={config.folds}")
    rows = pd.concat(fold_rows, ignore_index=True).merge(
        table[LABEL_COLUMNS], on="video_id", how="left"
    )
    t = time.monotonic()
    context = {
        "settings": {
            "corpora": ", ".join(config.corpora),
            "folds": config.folds,
            "folds run": ", ".join(str(f["fold"]) for f in fold_info),
            "preset": config.preset,
            "train overrides": config.train_overrides or "(none)",
            "signals (fused)": ", ".join(config.signals),
            "fusion rule": config.fusion_rule.value,
            "before signals": ", ".join(config.before_signals or []) or "(none)",
            "anomaly model": config.anomaly_model,
            "target FPR": config.target_fpr,
            "calibration fraction": config.calibration_fraction,
            "seed": config.seed,
            "catalog": catalog_root,
        },
        "plan": fold_info,
    }
    context["timings"] = timings
    result = report_benchmark(rows, list(config.signals), os.path.abspath(config.out_dir),
                              context, config.n_boot, config.seed)  # fmt: skip
    timings["report"] = time.monotonic() - t
    return {**result, "plan": fold_info, "timings": timings, "rows": len(rows)}
