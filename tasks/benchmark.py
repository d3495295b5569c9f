"""Tasks of the leave-source-out benchmark: one corpus from several ingested ones, scoring
catalog videos with a fold's detector, and the report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from prefect import task
from prefect.cache_policies import NO_CACHE

from data_catalog import Catalog, DatasetRef, dataset_name, run_stage
from difffake_core.benchmark_report import summarise, write_benchmark_report
from difffake_core.detector import Detector
from difffake_core.evaluation import clean_json
from tasks.detector import video_facesets

STAGE_VERSION = "combine-1"
SCORE_COLUMNS = ("fake_score", "threshold", "verdict", "driving_signal", "status")


def combined_id(corpus: str, video_id: str) -> str:
    """The id of a corpus's video in a combined corpus: ``{corpus}/{video_id}``."""
    return f"{corpus}/{video_id}"


def _prefixed(table: pa.Table, corpus: str) -> pa.Table:
    ids = pc.binary_join_element_wise(pa.scalar(f"{corpus}/"), table["video_id"], "")
    return table.set_column(table.schema.get_field_index("video_id"), "video_id", ids)


@task(name="combine_corpora", cache_policy=NO_CACHE)
def combine_corpora(
    catalog_root: str, name: str, parts: list[dict[str, str]], sources: dict[str, str]
) -> dict[str, str]:
    """``{name}.videos`` and ``{name}.face_crops``: the rows of every ingested corpus in
    ``parts`` (``{"corpus", "videos", "face_crops"}`` versions), ids prefixed with the
    corpus (:func:`combined_id`) and ``source`` set from ``sources`` (combined id -> real
    source). Reused when the inputs and sources are unchanged. Returns both versions."""
    catalog = Catalog(catalog_root)
    vid_refs = [DatasetRef.of(p["corpus"], "videos", p["videos"]) for p in parts]
    crop_refs = [DatasetRef.of(p["corpus"], "face_crops", p["face_crops"]) for p in parts]
    params = {"corpora": [p["corpus"] for p in parts], "sources": dict(sorted(sources.items()))}

    def build_videos(w) -> None:
        for p, ref in zip(parts, vid_refs, strict=True):
            t = _prefixed(catalog.read_table(ref.name, ref.version), p["corpus"])
            src = [sources.get(v, s) for v, s in zip(t["video_id"].to_pylist(),
                                                      t["source"].to_pylist(), strict=True)]  # fmt: skip
            w.write(t.set_column(t.schema.get_field_index("source"), "source",
                                 pa.array(src, pa.string())))  # fmt: skip

    videos = run_stage(catalog, dataset_name(name, "videos"), STAGE_VERSION, vid_refs, params,
                       build_videos)  # fmt: skip

    def build_crops(w) -> None:
        for p, ref in zip(parts, crop_refs, strict=True):
            w.write(_prefixed(catalog.read_table(ref.name, ref.version), p["corpus"]))

    crops = run_stage(catalog, dataset_name(name, "face_crops"), STAGE_VERSION,
                      [*crop_refs, videos.ref], params, build_crops)  # fmt: skip
    return {"videos": videos.ref.version, "face_crops": crops.ref.version}


@task(name="score_catalog_videos", cache_policy=NO_CACHE)
def score_catalog_videos(
    catalog_root: str,
    corpus: str,
    versions: dict[str, str],
    detector_version: str,
    video_ids: list[str],
) -> pd.DataFrame:
    """Score videos of ``corpus`` from their catalog embeddings (``versions``: the
    ``embeddings`` and ``face_crops`` the detector was fitted with) with the detector
    ``{corpus}.detector@detector_version``: the same faces and signals ``difffake score``
    would compute from the files, without decoding them again.

    Returns one row per video id: ``video_id``, the fused score columns
    (:data:`SCORE_COLUMNS`), ``pct_<signal>`` and ``raw_<signal>``; videos without usable
    faces get status ``no_faces`` and NaN scores.
    """
    catalog = Catalog(catalog_root)
    folder = catalog.artifact_path(dataset_name(corpus, "detector"), detector_version)
    detector = Detector.load(folder)
    faces = video_facesets(catalog, corpus, versions["embeddings"], versions.get("face_crops"),
                           video_ids)  # fmt: skip
    rows = []
    for vid in video_ids:
        row: dict[str, Any] = {"video_id": vid, "threshold": detector.threshold}
        if vid not in faces:
            rows.append({**row, "fake_score": np.nan, "status": "no_faces"})
            continue
        r = detector.score_faces(faces[vid])
        row.update(fake_score=r.fake_score, verdict=r.verdict, driving_signal=r.driving_signal,
                   status=str(r.status))  # fmt: skip
        row.update({f"pct_{k}": v for k, v in r.percentiles.items()})
        row.update({f"raw_{k}": v for k, v in r.raw.items()})
        rows.append(row)
    return pd.DataFrame(rows)


@task(name="report_benchmark", cache_policy=NO_CACHE)
def report_benchmark(
    rows: pd.DataFrame,
    signals: list[str],
    out_dir: str,
    context: dict[str, Any],
    n_boot: int = 1000,
    seed: int = 0,
) -> dict[str, Any]:
    """Tables, ``metrics.json``, ``test_rows.csv``, ROC PNGs and ``report.md`` in ``out_dir``."""
    summary = summarise(rows, signals, n_boot, seed)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = write_benchmark_report(out, rows, summary, context)
    rows.to_csv(out / "test_rows.csv", index=False)
    metrics = clean_json({**summary, **{k: v for k, v in context.items() if k != "timings"},
                          "timings_s": context.get("timings", {})})  # fmt: skip
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2, default=str))
    return {"summary": summary, **{k: str(v) for k, v in paths.items()}}
