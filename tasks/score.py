"""Tasks of bulk scoring: list media, score each video (resumable), publish the results."""

from __future__ import annotations

import glob
import os
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
from prefect import task
from prefect.cache_policies import NO_CACHE

from data_catalog import Catalog, fingerprint
from data_catalog.adapters import get_adapter, unique_video_ids
from data_catalog.schemas import PAIR_SCORES, SCORES
from difffake_core.detector import Detector
from difffake_core.embedding import embed_crops
from difffake_core.errors import ModelAssetError, UsageError
from difffake_core.ingest import IngestParams
from difffake_core.signals import build_faceset, head_logits
from difffake_core.status import Status, listing_error
from difffake_core.video import file_sha256
from tasks.embed import extractor_head
from tasks.evidence import EVIDENCE_CROPS, evidence_crops_table, keeps_crops
from tasks.progress import emit
from tasks.resources import face_stage
from tasks.runtime import embedder

STAGE_VERSION = "score-2"  # 2: fused signals, per-signal columns
_detectors: dict[str, Detector] = {}
_lock = threading.Lock()


def resolve_detector(catalog: Catalog, ref: str | None) -> tuple[str, str, str]:
    """``(name, version, folder)`` of a detector given ``NAME[@VERSION]``, a folder, or None
    (the newest ``*.detector`` in the catalog), after verifying its files. A folder's version
    is its content version; a catalog version must hold the content it was published with."""
    if ref and os.path.isdir(ref):
        folder = os.path.abspath(ref)
        return "file", load_detector(folder).version, folder
    if not ref:
        names = [n for n in catalog.names() if n.endswith(".detector")]
        if not names:
            raise UsageError("no detector in the catalog: run `difffake retrain` first")
        ref = max(names, key=lambda n: catalog.resolve(n))
    name, _, version = ref.partition("@")
    version = catalog.resolve(name, version or "latest")
    folder = catalog.artifact_path(name, version)
    published = catalog.manifest(name, version).metadata.get("content_version")
    loaded = load_detector(folder).version
    if published is not None and loaded != published:
        raise ModelAssetError(
            f"{name}@{version}: its files (content {loaded}) are not the ones published "
            f"(content {published}); the detector is refused"
        )
    return name, version, folder


def load_detector(folder: str) -> Detector:
    with _lock:
        if folder not in _detectors:
            _detectors[folder] = Detector.load(folder)
        return _detectors[folder]


def list_media(source: str, adapter: str = "folder", options: dict | None = None) -> list[dict]:
    """Media rows (video_id, path, label, split, method, source) from a folder, a glob
    pattern or a CSV manifest."""
    if any(c in source for c in "*?[") and not os.path.exists(source):
        paths = sorted(p for p in glob.glob(source, recursive=True) if os.path.isfile(p))
        base = (
            os.path.commonpath(paths)
            if len(paths) > 1
            else os.path.dirname(paths[0])
            if paths
            else ""
        )
        ids = unique_video_ids([os.path.splitext(os.path.relpath(p, base))[0] for p in paths],
                               [os.path.abspath(p) for p in paths])  # fmt: skip
        return [
            {"video_id": vid, "path": os.path.abspath(p), "label": None, "split": None,
             "method": None, "source": "glob"}
            for vid, p in zip(ids, paths, strict=True)
        ]  # fmt: skip
    return get_adapter(adapter, source, **(options or {})).to_frame().to_dict("records")


def _num(value: float | None) -> float | None:
    return None if value is None or not np.isfinite(value) else float(value)


def _result_row(entry: dict, sha: str | None, detector_version: str, **values: Any) -> dict:
    row = {f.name: None for f in SCORES}
    row.update({k: entry.get(k) for k in ("video_id", "path", "label", "method")})
    row.update(content_sha256=sha, detector_version=detector_version, frames_used=0,
               pairs_used=0, tracks=0)  # fmt: skip
    row.update(values)
    return row


@task(name="score_video", cache_policy=NO_CACHE)
def score_video(
    entry: dict[str, Any],
    detector_folder: str,
    detector_version: str,
    catalog_root: str,
    runtime: str = "auto",
    face_model: str | None = None,
    evidence: str = "flagged",
) -> dict[str, Any]:
    """Score one video; results go to the work area keyed by detector version and content.

    Never raises for bad media: the result row carries the status and error. The crops of
    the top pairs are kept for evidence sheets (flagged videos, or all with ``"all"``).
    """
    work = Catalog(catalog_root).work_area(
        "score", fingerprint(STAGE_VERSION, detector_version)[:16]
    )
    if entry.get("status"):  # refused by the listing (a link leaving the root): never read
        row = _result_row(entry, None, detector_version, status=entry["status"],
                          error=listing_error(entry))  # fmt: skip
        emit("video_done", **row, skipped=False)
        return {**row, "skipped": False}
    try:
        sha = file_sha256(entry["path"])
    except OSError as exc:
        row = _result_row(entry, None, detector_version, status=Status.UNREADABLE, error=str(exc))
        emit("video_done", **row, skipped=False)
        return {**row, "skipped": False}
    done = ("pair_scores", "scores") + (("evidence_crops",) if evidence == "all" else ())
    if work.has(sha, done):
        row = work.get(sha, "scores").to_pylist()[0]
        row.update({k: entry.get(k) for k in ("video_id", "path", "label", "method")})
        emit("video_done", **row, skipped=True)
        return {**row, "skipped": True}
    detector = load_detector(detector_folder)
    params = IngestParams(**detector.card.get("ingest", {}))
    vf = face_stage(entry["path"], params, face_model, encode=False)  # worker; crops as pixels
    pair_rows = pa.Table.from_pylist([], schema=PAIR_SCORES)
    tables: dict[str, pa.Table] = {}
    if vf.status != Status.OK:
        row = _result_row(entry, sha, detector_version, status=vf.status, error=vf.error)
    else:
        faces = [r for r in vf.rows if r.status == Status.OK]
        ckpt = os.path.join(detector_folder, "extractor")
        model, size = embedder(ckpt, runtime)
        vectors = embed_crops(model, [r.image for r in faces], size)
        frames = np.array([r.frame_index for r in faces], np.int64)
        tracks = np.array([r.track_id for r in faces], np.int64)
        if detector.is_fused:
            head = extractor_head(ckpt)
            anchors = [r.frame_index if r.anchor_frame is None else r.anchor_frame for r in faces]
            fs = build_faceset(
                sha, frames, tracks, anchor_frame=np.array(anchors, np.int64),
                timestamp_s=np.array([r.timestamp_s for r in faces], np.float64),
                vectors=vectors,
                logits=head_logits(vectors, *head) if head and len(vectors) else None,
                crop_landmarks=np.array([r.landmarks for r in faces], np.float64).reshape(-1, 136),
                crop_boxes=np.array([r.bbox for r in faces], np.float64).reshape(-1, 4),
                crop_size=params.crop_size, fps=vf.info.fps if vf.info else None,
            )  # fmt: skip
            result = detector.score_faces(fs)
        else:  # legacy pair-only detectors: sampled frames only
            keep = np.array([r.anchor_frame is None for r in faces], bool)
            result = detector.score_embeddings(sha, frames[keep], tracks[keep], vectors[keep])
        signal_cols = {f"pct_{k}": _num(v) for k, v in result.percentiles.items()}
        signal_cols.update({f"raw_{k}": _num(v) for k, v in result.raw.items()})
        signal_cols = {k: v for k, v in signal_cols.items() if k in SCORES.names}
        row = _result_row(
            entry, sha, detector_version,
            fake_score=_num(result.fake_score), baseline_score=_num(result.baseline_score),
            verdict=result.verdict, threshold=detector.threshold, frames_used=result.frames_used,
            pairs_used=result.pairs_used, tracks=result.tracks, status=result.status,
            driving_signal=result.driving_signal, **signal_cols,
            error=None if result.status == Status.OK else f"{result.status}: {len(faces)} usable face frames",
        )  # fmt: skip
        pt = result.pair_table.assign(video_id=entry["video_id"])
        if "signal" not in pt:
            pt = pt.assign(signal="pairs")
        pair_rows = pa.Table.from_pandas(pt[PAIR_SCORES.names], schema=PAIR_SCORES,
                                         preserve_index=False)  # fmt: skip
        if keeps_crops(evidence, row["verdict"]):
            tables["evidence_crops"] = evidence_crops_table(result.pair_table, faces)
    if evidence == "all":  # unscored videos too, so a rerun knows there is nothing to keep
        tables.setdefault("evidence_crops", EVIDENCE_CROPS.empty_table())
    tables.update(pair_scores=pair_rows, scores=pa.Table.from_pylist([row], schema=SCORES))
    work.put(sha, tables)  # "scores" last: it marks the item done
    emit("video_done", **row, skipped=False)
    return {**row, "skipped": False}


@task(name="publish_scores", cache_policy=NO_CACHE)
def publish_scores(
    archive: str,
    results: list[dict[str, Any]],
    detector_name: str,
    detector_version: str,
    catalog_root: str,
    out_dir: str | None,
) -> dict[str, str]:
    """Publish ``{archive}.scores`` / ``{archive}.pair_scores``; write Parquet + CSV copies."""
    catalog = Catalog(catalog_root)
    work = catalog.work_area("score", fingerprint(STAGE_VERSION, detector_version)[:16])
    rows = [{k: r.get(k) for k in SCORES.names} for r in results]
    scores = pa.Table.from_pylist(rows, schema=SCORES)
    pair_tables = []
    for r in results:
        sha = r.get("content_sha256")
        if sha and work.has(sha, ("pair_scores",)):
            t = work.get(sha, "pair_scores")
            vid = pa.array([r["video_id"]] * t.num_rows, pa.string())
            pair_tables.append(t.set_column(0, "video_id", vid))
    pairs = pa.concat_tables(pair_tables) if pair_tables else PAIR_SCORES.empty_table()
    content = sorted((r["video_id"], r.get("content_sha256")) for r in results)
    sheets = sorted((r["video_id"], r["evidence_path"]) for r in results if r.get("evidence_path"))
    fp = fingerprint(STAGE_VERSION, detector_version, content, *([sheets] if sheets else []))
    parents = {} if detector_name == "file" else {detector_name: detector_version}
    found = catalog.find(f"{archive}.scores", fp)
    found_pairs = catalog.find(f"{archive}.pair_scores", fp)
    if found is not None and found_pairs is not None:
        scores_version, pairs_version = found.version, found_pairs.version
    else:  # scores and pair_scores become visible together or not at all
        group = catalog.publish_together()
        with group.writer(f"{archive}.scores", parents=parents, fingerprint_=fp,
                            parameters={"detector": detector_version}) as w:  # fmt: skip
            w.write(scores)
        scores_version = w.manifest.version
        with group.writer(f"{archive}.pair_scores", parents={f"{archive}.scores": scores_version},
                            fingerprint_=fp) as w2:  # fmt: skip
            w2.write(pairs)
        pairs_version = w2.manifest.version
        group.commit()
    out = {"scores": scores_version, "pair_scores": pairs_version}
    if out_dir:
        import pyarrow.parquet as pq

        d = Path(out_dir)
        d.mkdir(parents=True, exist_ok=True)
        pq.write_table(scores, d / "scores.parquet")
        scores.to_pandas().to_csv(d / "scores.csv", index=False)
        pq.write_table(pairs, d / "pair_scores.parquet")
        out["out_dir"] = str(d)
    return out
