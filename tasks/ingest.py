"""Tasks of the ingest stage: list a corpus, ingest each video, publish the datasets."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
from prefect import task
from prefect.cache_policies import NO_CACHE

from data_catalog import Catalog, fingerprint
from data_catalog.adapters import get_adapter
from data_catalog.schemas import FACE_CROPS, VIDEOS
from data_catalog.stage import dataset_name
from difffake_core.faces.assets import resolve_face_model, sha256_of
from difffake_core.ingest import IngestParams, VideoFaces
from difffake_core.status import Status, listing_error
from difffake_core.video import file_sha256
from tasks.progress import emit
from tasks.resources import face_stage

# Bump when the rows this stage writes change for the same inputs and parameters.
STAGE_VERSION = "ingest-3"  # 2: tiled detection, identity tracks, face statuses;
# 3: a neighbour decoded before its sampled frame gets its rows
PART_ROWS = 4096  # face-crop rows per Parquet part (~100 KB each as PNG)
ENTRY_COLUMNS = ("video_id", "path", "label", "split", "method", "source")


@task(name="list_corpus", cache_policy=NO_CACHE)
def list_corpus(
    adapter: str, root: str, options: dict[str, Any] | None = None, limit: int | None = None
) -> list[dict[str, Any]]:
    """Rows (video_id, path, label, split, method, source) of a corpus via its adapter."""
    frame = get_adapter(adapter, root, **(options or {})).to_frame()
    rows = frame.to_dict("records")
    return rows[:limit] if limit else rows


def work_key(params: IngestParams, model_path: str | None) -> str:
    model_sha = sha256_of(resolve_face_model(model_path))
    return fingerprint(STAGE_VERSION, params.as_dict(), model_sha)[:16]


def _tables(vf: VideoFaces, sha: str, entry: dict[str, Any], params: IngestParams):
    info = vf.info
    video = {
        "video_id": entry["video_id"],
        "path": entry["path"],
        "content_sha256": sha,
        "size_bytes": info.size_bytes if info else os.path.getsize(entry["path"]),
        "duration_s": info.duration_s if info else None,
        "fps": info.fps if info else None,
        "frame_count": info.frame_count if info else None,
        "width": info.width if info else None,
        "height": info.height if info else None,
        "codec": info.codec if info else None,
        "label": entry.get("label"),
        "split": entry.get("split"),
        "method": entry.get("method"),
        "source": entry.get("source"),
        "backend": vf.backend,
        "frames_sampled": vf.frames_sampled,
        "frames_with_face": vf.frames_with_face,
        "status": vf.status,
        "error": vf.error,
    }
    crops = [
        {
            "video_id": entry["video_id"],
            "content_sha256": sha,
            "frame_index": r.frame_index,
            "timestamp_s": r.timestamp_s,
            "face_index": r.face_index,
            "track_id": r.track_id,
            "status": r.status,
            "crop": r.crop,
            "crop_size": params.crop_size if r.status == Status.OK else None,
            "bbox": r.bbox,
            "face_box": r.face_box,
            "landmarks": r.landmarks,
            "confidence": r.confidence,
            "faces_seen": r.faces_seen,
            "face_height_frac": r.face_height_frac,
            "yaw": r.yaw,
            "pitch": r.pitch,
            "roll": r.roll,
            "anchor_frame": r.anchor_frame,
        }
        for r in vf.rows
    ]
    return (
        pa.Table.from_pylist([video], schema=VIDEOS),
        pa.Table.from_pylist(crops, schema=FACE_CROPS),
    )


def _done(summary: dict[str, Any], **values: Any) -> dict[str, Any]:
    summary.update(values)
    emit("video_done", **summary)
    return summary


@task(name="ingest_video", cache_policy=NO_CACHE)
def ingest_video(
    entry: dict[str, Any],
    params: IngestParams,
    catalog_root: str,
    key: str,
    face_model: str | None = None,
) -> dict[str, Any]:
    """Decode, find faces and crop one video; store its rows in the stage's work area.

    Skips the work when the same content was already processed with the same settings.
    Returns a small summary (never the crops): video_id, sha, status, counts, skipped.
    """
    path = entry["path"]
    summary: dict[str, Any] = {"video_id": entry["video_id"], "path": path, "skipped": False}
    nothing = {"sha": None, "frames": 0, "faces": 0}
    if entry.get("status"):  # refused by the listing (a link leaving the root): never read
        return _done(summary, **nothing, status=entry["status"], error=listing_error(entry))
    try:
        sha = file_sha256(path)
    except OSError as exc:
        return _done(summary, **nothing, status=Status.UNREADABLE, error=str(exc))
    work = Catalog(catalog_root).work_area("ingest", key)
    if work.has(sha, ("face_crops", "videos")):
        row = work.get(sha, "videos").to_pylist()[0]
        return _done(summary, sha=sha, status=row["status"], error=row["error"],
                     frames=row["frames_sampled"], faces=row["frames_with_face"], skipped=True)  # fmt: skip
    vf = face_stage(path, params, face_model)  # in a worker process: a crash is a status
    videos, crops = _tables(vf, sha, entry, params)
    work.put(sha, {"face_crops": crops, "videos": videos})  # "videos" last: the done marker
    return _done(summary, sha=sha, status=vf.status, error=vf.error, frames=vf.frames_sampled,
                 faces=vf.frames_with_face, seconds=vf.seconds)  # fmt: skip


def _relabel(table: pa.Table, entry: dict[str, Any]) -> pa.Table:
    """Per-content rows carry the listing's identity (two paths may share content)."""
    for col in ENTRY_COLUMNS:
        if col in table.column_names:
            idx = table.column_names.index(col)
            value = entry.get(col)
            field = table.schema.field(col)
            table = table.set_column(idx, field, pa.array([value] * table.num_rows, field.type))
    return table


def _content_fingerprint(key: str, entries: list[dict[str, Any]], by_id: dict) -> str:
    """The published datasets' identity: the work key and every listed video's content."""
    content = sorted(
        (e["video_id"], by_id[e["video_id"]].get("sha"), e.get("label"), e.get("split"),
         e.get("method"))
        for e in entries
    )  # fmt: skip
    return fingerprint(STAGE_VERSION, key, content)


def _video_rows(work, entries: list[dict[str, Any]], by_id: dict) -> Iterator[pa.Table]:
    """One ``videos`` row per listed entry: its work-area row, or a status-only row."""
    for e in entries:
        s = by_id[e["video_id"]]
        if s.get("sha") and work.has(s["sha"], ("videos",)):
            yield _relabel(work.get(s["sha"], "videos"), e)
        else:
            yield _unreadable_row(e, s)


def _crop_parts(work, entries: list[dict[str, Any]], by_id: dict) -> Iterator[pa.Table]:
    """The ``face_crops`` rows of every entry, in parts of about ``PART_ROWS`` rows."""
    pending: list[pa.Table] = []
    for e in entries:
        s = by_id[e["video_id"]]
        if s.get("sha") and work.has(s["sha"], ("face_crops",)):
            pending.append(_relabel(work.get(s["sha"], "face_crops"), e))
        if sum(t.num_rows for t in pending) >= PART_ROWS:
            yield pa.concat_tables(pending)
            pending = []
    if pending:
        yield pa.concat_tables(pending)


@task(name="publish_ingest", cache_policy=NO_CACHE)
def publish_ingest(
    corpus: str,
    entries: list[dict[str, Any]],
    summaries: list[dict[str, Any]],
    params: IngestParams,
    catalog_root: str,
    key: str,
    adapter: str,
    root: str,
) -> dict[str, str]:
    """Publish ``{corpus}.videos`` and ``{corpus}.face_crops`` (or reuse identical versions)."""
    catalog = Catalog(catalog_root)
    work = catalog.work_area("ingest", key)
    by_id = {s["video_id"]: s for s in summaries}
    fp = _content_fingerprint(key, entries, by_id)
    names = {kind: dataset_name(corpus, kind) for kind in ("videos", "face_crops")}
    existing = {k: catalog.find(n, fp) for k, n in names.items()}
    if all(existing.values()):
        return {k: m.version for k, m in existing.items()}
    parameters = {"adapter": adapter, "root": root, "ingest": params.as_dict(), "work_key": key}
    group = catalog.publish_together()  # videos and face_crops: visible together or not at all
    with group.writer(names["videos"], parameters=parameters, fingerprint_=fp) as vw:
        rows = list(_video_rows(work, entries, by_id))
        if rows:
            vw.write(pa.concat_tables(rows))  # one part: a row per video
    parents = {names["videos"]: vw.manifest.version}
    with group.writer(names["face_crops"], parents=parents, parameters=parameters,
                      fingerprint_=fp) as cw:  # fmt: skip
        for table in _crop_parts(work, entries, by_id):
            cw.write(table)
    group.commit()
    return {"videos": vw.manifest.version, "face_crops": cw.manifest.version}


def _unreadable_row(entry: dict[str, Any], summary: dict[str, Any]) -> pa.Table:
    row = {f.name: None for f in VIDEOS}
    row.update({c: entry.get(c) for c in ENTRY_COLUMNS})
    row.update(status=summary.get("status", Status.UNREADABLE), error=summary.get("error"))
    row.update(frames_sampled=0, frames_with_face=0)
    return pa.Table.from_pylist([row], schema=VIDEOS)
