"""Flow ``score-media-archive``: media -> per-video fake scores and verdicts (+ pair table).

The archive is listed once into ``{archive}.media`` and split into shards (``shard_size``
videos each). Shards run one after another with at most ``shards_in_flight`` of them submitted
to the task runner at a time; each finished shard is stored as one scores part, and the
published ``{archive}.scores`` holds one part per shard, read as one table. Memory stays
bounded by the shards in flight, whatever the archive's size.

Resumable at two grains: a rerun skips finished shards without opening their videos, and a
video already scored by the same detector version (same content hash) is not scored again.
Media that cannot be scored get a status row and never stop the run.
"""

from __future__ import annotations

import os
from collections import Counter, deque
from typing import Any

from prefect import flow, unmapped
from prefect.futures import wait
from pydantic import Field

from data_catalog import Catalog, fingerprint
from data_catalog.catalog import default_root
from data_catalog.preflight import check_writable
from difffake_core.sharding import DEFAULT_SHARD_SIZE
from flows.choices import DEFAULT_ADAPTER, DEFAULT_RUNTIME, AdapterName, RuntimeName
from flows.config import JobOptions
from flows.runners import fan_out, fan_out_context, report_progress
from tasks.evidence import EvidenceMode, wants_sheet, write_evidence
from tasks.progress import emit
from tasks.resources import close_all
from tasks.score import (
    DetectorRef,
    finish_shard,
    list_archive,
    load_shard,
    publish_scores,
    resolve_detector,
    score_video,
    shard_done,
    shard_rows,
)


class ScoreConfig(JobOptions):
    source: str = Field(description="Folder, glob pattern or CSV manifest of media")
    adapter: AdapterName = Field(
        DEFAULT_ADAPTER, description="Corpus adapter for folders/manifests"
    )
    adapter_options: dict[str, Any] = Field(default_factory=dict)
    detector: str | None = Field(None, description="NAME[@VERSION] or folder; default newest")
    archive: str | None = Field(None, description="Dataset prefix for the results")
    out_dir: str | None = Field(None, description="Also write scores.parquet/.csv here")
    runtime: RuntimeName = Field(DEFAULT_RUNTIME, description="Embedding runtime")
    evidence: EvidenceMode = Field(
        "flagged", description="Evidence sheets into out_dir/evidence: flagged, all or none"
    )
    limit: int | None = None
    shard_size: int = Field(DEFAULT_SHARD_SIZE, ge=1, description="Videos per shard")
    shards_in_flight: int = Field(
        2, ge=1, description="Shards submitted to the task runner at once (bounds memory)"
    )
    result_rows: int = Field(
        10_000, ge=0, description="Rows returned in the flow's result (all rows are published)"
    )

    def archive_name(self) -> str:
        if self.archive:
            return self.archive
        base = self.source.split("*")[0].rstrip("/") or "archive"
        return os.path.basename(os.path.normpath(base)) or "archive"


class _Tally:
    """Counts over every scored row, and the first ``keep`` rows themselves."""

    def __init__(self, keep: int) -> None:
        self.keep, self.rows, self.counts = keep, [], Counter()

    def add(self, rows: list[dict[str, Any]], skipped_shard: bool, progress: bool) -> None:
        for r in rows:
            r = {**r, "skipped": True} if skipped_shard else r
            self.counts.update({"videos": 1, f"status: {r['status']}": 1,
                                "skipped": bool(r.get("skipped"))})  # fmt: skip
            self.counts["evidence_sheets"] += bool(r.get("evidence_path"))
            if r.get("verdict"):
                self.counts[f"verdict: {r['verdict']}"] += 1
            if len(self.rows) < self.keep:
                self.rows.append(r)
            if progress:  # a finished shard read back: no task reported its videos
                emit("video_done", **r)


@flow(name="score-shards", log_prints=True)
def score_shards(
    config: ScoreConfig,
    detector: DetectorRef,
    media: dict[str, Any],
    shard_ids: list[str],
    catalog_root: str,
) -> dict[str, Any]:
    """Score every unfinished shard, at most ``shards_in_flight`` in flight, on the job's
    task runner (:func:`flows.runners.fan_out`)."""
    tally = _Tally(config.result_rows)
    in_flight: deque = deque()

    def finish_oldest() -> None:
        digest, futures = in_flight.popleft()
        report_progress(futures)  # each video as it finishes, from worker processes too
        wait(futures)
        results = [f.result() for f in futures]
        add_evidence(config, detector, catalog_root, results)
        finish_shard(catalog_root, detector.version, digest, results, config.runtime)
        tally.add(results, skipped_shard=False, progress=False)

    archive = config.archive_name()
    try:
        for index, digest in enumerate(shard_ids):
            if shard_done(catalog_root, detector.version, digest, config.runtime):
                rows = shard_rows(catalog_root, detector.version, digest, config.runtime)
                tally.add(rows, True, True)
                continue
            entries = load_shard(catalog_root, archive, media["media"], index)
            futures = score_video.map(
                entries, unmapped(detector.folder), unmapped(detector.version),
                unmapped(catalog_root), unmapped(config.runtime), unmapped(config.face_model),
                unmapped(config.evidence),
            )  # fmt: skip
            in_flight.append((digest, futures))
            if len(in_flight) >= config.shards_in_flight:
                finish_oldest()
        while in_flight:
            finish_oldest()
    finally:
        close_all()  # MediaPipe graphs must close before the interpreter shuts down
    return {"results": tally.rows, "summary": dict(tally.counts)}


def add_evidence(
    config: ScoreConfig, detector: DetectorRef, catalog_root: str, results: list[dict]
) -> None:
    """Evidence sheets of a shard's flagged (or all) videos; sets ``evidence_path``."""
    wanted = [r for r in results if config.out_dir and wants_sheet(r, config.evidence)]
    if not wanted:
        return
    sheet_dir = os.path.join(config.out_dir, "evidence")
    sheets = write_evidence.map(wanted, unmapped(detector.folder), unmapped(str(detector)),
                                unmapped(catalog_root), unmapped(sheet_dir),
                                unmapped(config.evidence))  # fmt: skip
    for row, sheet in zip(wanted, sheets, strict=True):
        row["evidence_path"] = sheet.result()


@flow(name="score-media-archive", log_prints=True)
def score_media_archive(config: ScoreConfig) -> dict[str, Any]:
    catalog_root = config.catalog or default_root()
    check_writable(catalog_root, "catalog")  # before any work, not after it
    if config.out_dir:
        check_writable(config.out_dir, "output folder", create=False)
    detector = resolve_detector(Catalog(catalog_root), config.detector)
    archive = config.archive_name()
    media = list_archive(catalog_root, archive, config.source, config.adapter,
                         config.adapter_options, config.limit, config.shard_size)  # fmt: skip
    # a finished shard holds its evidence paths: the evidence settings are part of its id
    sheets = (config.evidence, config.out_dir and os.path.abspath(config.out_dir))
    shard_ids = [fingerprint(d, *sheets) for d in media["shards"]]
    with fan_out_context(config):
        scored = fan_out(score_shards, config)(config, detector, media, shard_ids, catalog_root)
    versions = publish_scores(archive, shard_ids, detector, catalog_root, config.out_dir,
                              config.runtime)  # fmt: skip
    return {
        "archive": archive,
        "detector": str(detector),
        "results": scored["results"],
        "summary": scored["summary"],
        "shards": len(media["shards"]),
        "versions": {"media": media["media"], **versions},
    }
