"""Tasks of bulk scoring: list an archive into shards, score each video, finish each shard,
publish the shards as one scores table.

Two work areas make a run resumable at two grains: ``_work/score/{key}`` holds each scored
video (by content hash), ``_work/score-shards/{key}`` each finished shard (by a hash of its
listing rows). A rerun skips finished shards without opening their videos, and inside an
unfinished shard skips videos already scored.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any, NamedTuple

import pyarrow as pa
import pyarrow.parquet as pq
from prefect import task
from prefect.cache_policies import NO_CACHE

from data_catalog import Catalog, fingerprint
from data_catalog.adapters import get_adapter, is_pattern
from data_catalog.schemas import MEDIA, PAIR_SCORES, SCORES
from difffake_core.detector import Detector
from difffake_core.errors import ModelAssetError, UsageError
from difffake_core.ingest import IngestParams
from difffake_core.sharding import shard_bounds, shard_digest
from difffake_core.status import Status, listing_error
from difffake_core.video import file_sha256
from difffake_core.video_scoring import pair_rows, score_faces, score_values
from tasks.embed import extractor_head
from tasks.evidence import EVIDENCE_CROPS, evidence_crops_table, keeps_crops
from tasks.progress import emit
from tasks.resources import face_stage
from tasks.runtime import shared_embedder

STAGE_VERSION = "score-3"  # 2: fused signals, per-signal columns; 3: texture columns
MEDIA_VERSION = "media-1"
ENTRY_COLUMNS = ("video_id", "path", "label", "split", "method", "source", "status")
_detectors: dict[str, Detector] = {}
_lock = threading.Lock()


class DetectorRef(NamedTuple):
    """A detector to score with: a catalog dataset (``name``) or a folder (``name`` None)."""

    name: str | None
    version: str
    folder: str

    def __str__(self) -> str:
        return self.folder if self.name is None else f"{self.name}@{self.version}"


def resolve_detector(catalog: Catalog, ref: str | None) -> DetectorRef:
    """The detector given as ``NAME[@VERSION]``, a folder, or None (the newest ``*.detector``
    in the catalog), after verifying its files. A folder's version is its content version; a
    catalog version must hold the content it was published with."""
    if ref and os.path.isdir(ref):
        folder = os.path.abspath(ref)
        return DetectorRef(None, load_detector(folder).version, folder)
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
    return DetectorRef(name, version, folder)


def load_detector(folder: str) -> Detector:
    """This process's copy of the detector in ``folder`` (loaded once per worker process)."""
    with _lock:
        if folder not in _detectors:
            _detectors[folder] = Detector.load(folder)
        return _detectors[folder]


# Runtimes whose embeddings differ from fp32 beyond rounding: their scores are kept apart
NUMERICS = {"int8-onnx": "int8"}


def work_key(detector_version: str, runtime: str = "auto") -> str:
    """Work area of one detector's scores; a runtime of other numerics (int8) has its own,
    so a rerun with ``--runtime int8-onnx`` never serves fp32 results, nor the reverse."""
    numerics = NUMERICS.get(runtime)
    return fingerprint(STAGE_VERSION, detector_version, *([numerics] if numerics else []))[:16]


def list_media(source: str, adapter: str = "folder", options: dict | None = None) -> list:
    """Media rows (video_id, path, label, split, method, source) of a folder, CSV manifest
    (through ``adapter``) or glob pattern (the ``glob`` adapter)."""
    name = "glob" if is_pattern(source) else adapter
    return get_adapter(name, source, **(options or {})).to_frame().to_dict("records")


def _stat(path: str) -> tuple[int | None, int | None]:
    try:
        st = os.stat(path)
    except OSError:
        return None, None
    return st.st_size, st.st_mtime_ns


def media_table(entries: list[dict[str, Any]], shard_size: int) -> pa.Table:
    """``{archive}.media`` rows of a listing: entry columns, size, mtime and shard index."""
    stats = [_stat(e["path"]) for e in entries]
    columns = {c: [e.get(c) for e in entries] for c in ENTRY_COLUMNS}
    shard = [i // shard_size for i in range(len(entries))]
    return pa.table({**columns, "size_bytes": [s[0] for s in stats],
                     "mtime_ns": [s[1] for s in stats], "shard": shard}, schema=MEDIA)  # fmt: skip


@task(name="list_archive", cache_policy=NO_CACHE)
def list_archive(
    catalog_root: str, archive: str, source: str, adapter: str = "folder",
    options: dict | None = None, limit: int | None = None, shard_size: int = 1000,
) -> dict[str, Any]:  # fmt: skip
    """List the archive once into ``{archive}.media`` (one part per shard; reused when the
    listing is unchanged). Returns ``{"media": version, "videos": n, "shards": [digest...]}``."""
    entries = list_media(source, adapter, options)
    entries = entries[:limit] if limit else entries
    table = media_table(entries, shard_size)
    parts = [table.slice(a, b - a) for a, b in shard_bounds(len(entries), shard_size)]
    digests = [shard_digest(p.drop(["shard"]).to_pylist()) for p in parts]
    catalog, name = Catalog(catalog_root), f"{archive}.media"
    fp = fingerprint(MEDIA_VERSION, shard_size, digests)
    found = catalog.find(name, fp)
    if found is None:
        with catalog.writer(name, parameters={"source": source, "adapter": adapter,
                            "shard_size": shard_size}, fingerprint_=fp) as w:  # fmt: skip
            for part in parts:
                w.write(part)
        found = w.manifest
    emit("total", total=len(entries))
    return {"media": found.version, "videos": len(entries), "shards": digests}


@task(name="load_shard", cache_policy=NO_CACHE)
def load_shard(catalog_root: str, archive: str, media_version: str, index: int) -> list[dict]:
    """The entries of shard ``index`` (one part of ``{archive}.media``)."""
    catalog = Catalog(catalog_root)
    path = catalog.files(f"{archive}.media", media_version)[index]
    table = pq.read_table(path, filesystem=catalog.fs, columns=list(ENTRY_COLUMNS))
    return table.to_pylist()


def _result_row(entry: dict, sha: str | None, detector_version: str, **values: Any) -> dict:
    row = {f.name: None for f in SCORES}
    row.update({k: entry.get(k) for k in ("video_id", "path", "label", "method")})
    row.update(content_sha256=sha, detector_version=detector_version, frames_used=0,
               pairs_used=0, tracks=0)  # fmt: skip
    row.update({k: v for k, v in values.items() if k in SCORES.names})
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
    work = Catalog(catalog_root).work_area("score", work_key(detector_version, runtime))
    if entry.get("status"):  # refused by the listing (a link leaving the root): never read
        row = _result_row(entry, None, detector_version, status=entry["status"],
                          error=listing_error(entry))  # fmt: skip
        return _done(row, skipped=False)
    try:
        sha = file_sha256(entry["path"])
    except OSError as exc:
        row = _result_row(entry, None, detector_version, status=Status.UNREADABLE, error=str(exc))
        return _done(row, skipped=False)
    done = ("pair_scores", "scores") + (("evidence_crops",) if evidence == "all" else ())
    if work.has(sha, done):
        row = work.get(sha, "scores").to_pylist()[0]
        row.update({k: entry.get(k) for k in ("video_id", "path", "label", "method")})
        return _done(row, skipped=True)
    detector = load_detector(detector_folder)
    params = IngestParams(**detector.card.get("ingest", {}))
    vf = face_stage(entry["path"], params, face_model, encode=False)  # worker; crops as pixels
    row, tables = _scored(vf, entry, sha, detector_version, detector_folder, params, runtime)
    if keeps_crops(evidence, row["verdict"]) and "faces" in tables:
        tables["evidence_crops"] = evidence_crops_table(tables.pop("pair_table"), tables["faces"])
    if evidence == "all":  # unscored videos too, so a rerun knows there is nothing to keep
        tables.setdefault("evidence_crops", EVIDENCE_CROPS.empty_table())
    tables = {k: v for k, v in tables.items() if k not in ("faces", "pair_table")}
    tables.update(scores=pa.Table.from_pylist([row], schema=SCORES))
    work.put(sha, tables)  # "scores" last: it marks the item done
    return _done(row, skipped=False)


def _scored(vf, entry, sha, detector_version, detector_folder, params, runtime):
    """``(scores row, tables)`` of one decoded video: ``pair_scores``, and for a scored video
    its ``faces`` and raw ``pair_table`` (for the evidence crops)."""
    if vf.status != Status.OK:
        row = _result_row(entry, sha, detector_version, status=vf.status, error=vf.error)
        return row, {"pair_scores": PAIR_SCORES.empty_table()}
    detector = load_detector(detector_folder)
    faces = [r for r in vf.rows if r.status == Status.OK]
    ckpt = os.path.join(detector_folder, "extractor")
    result = score_faces(detector, sha, faces, shared_embedder(ckpt, runtime),
                         extractor_head(ckpt), params.crop_size, vf.info and vf.info.fps)  # fmt: skip
    row = _result_row(entry, sha, detector_version,
                      **score_values(result, detector.threshold, len(faces)))  # fmt: skip
    pairs = pa.Table.from_pandas(pair_rows(result, entry["video_id"]), schema=PAIR_SCORES,
                                 preserve_index=False)  # fmt: skip
    return row, {"pair_scores": pairs, "faces": faces, "pair_table": result.pair_table}


def _done(row: dict[str, Any], skipped: bool) -> dict[str, Any]:
    emit("video_done", **row, skipped=skipped)
    return {**row, "skipped": skipped}


def shard_key(detector_version: str, digest: str) -> str:
    """Work-area item of a finished shard: the shard's rows scored by this detector."""
    return fingerprint(STAGE_VERSION, detector_version, digest)[:32]


def shard_done(
    catalog_root: str, detector_version: str, digest: str, runtime: str = "auto"
) -> bool:
    work = Catalog(catalog_root).work_area("score-shards", work_key(detector_version, runtime))
    return work.has(shard_key(detector_version, digest), ("pair_scores", "scores"))


def shard_rows(
    catalog_root: str, detector_version: str, digest: str, runtime: str = "auto"
) -> list[dict[str, Any]]:
    """The scores rows of a finished shard."""
    work = Catalog(catalog_root).work_area("score-shards", work_key(detector_version, runtime))
    return work.get(shard_key(detector_version, digest), "scores").to_pylist()


def _relabel(pairs: pa.Table, video_id: str) -> pa.Table:
    """Per-content pair rows carry the listing's id (two paths may share content)."""
    return pairs.set_column(0, "video_id", pa.array([video_id] * len(pairs), pa.string()))


@task(name="finish_shard", cache_policy=NO_CACHE)
def finish_shard(
    catalog_root: str, detector_version: str, digest: str, results: list[dict[str, Any]],
    runtime: str = "auto",
) -> int:  # fmt: skip
    """Store a scored shard as one scores part and one pair-scores part (``scores`` last:
    the done marker). Returns the shard's row count."""
    catalog = Catalog(catalog_root)
    videos = catalog.work_area("score", work_key(detector_version, runtime))
    pairs = [
        _relabel(videos.get(r["content_sha256"], "pair_scores"), r["video_id"])
        for r in results
        if r.get("content_sha256") and videos.has(r["content_sha256"], ("pair_scores",))
    ]
    scores = pa.Table.from_pylist([{k: r.get(k) for k in SCORES.names} for r in results], SCORES)
    catalog.work_area("score-shards", work_key(detector_version, runtime)).put(
        shard_key(detector_version, digest),
        {"pair_scores": pa.concat_tables(pairs) if pairs else PAIR_SCORES.empty_table(),
         "scores": scores},
    )  # fmt: skip
    return scores.num_rows


@task(name="publish_scores", cache_policy=NO_CACHE)
def publish_scores(
    archive: str,
    digests: list[str],
    detector: DetectorRef,
    catalog_root: str,
    out_dir: str | None,
    runtime: str = "auto",
) -> dict[str, str]:
    """Publish ``{archive}.scores`` / ``{archive}.pair_scores``, one part per finished shard
    (read one at a time: memory stays bounded by the shard size); write Parquet + CSV copies."""
    catalog = Catalog(catalog_root)
    work = catalog.work_area("score-shards", work_key(detector.version, runtime))
    keys = [shard_key(detector.version, d) for d in digests]
    numerics = NUMERICS.get(runtime)
    fp = fingerprint(STAGE_VERSION, detector.version, keys, *([numerics] if numerics else []))
    parents = {} if detector.name is None else {detector.name: detector.version}
    found = catalog.find(f"{archive}.scores", fp)
    found_pairs = catalog.find(f"{archive}.pair_scores", fp)
    if found is not None and found_pairs is not None:
        out = {"scores": found.version, "pair_scores": found_pairs.version}
    else:  # scores and pair_scores become visible together or not at all
        group = catalog.publish_together()
        with group.writer(f"{archive}.scores", parents=parents, fingerprint_=fp,
                          parameters={"detector": detector.version}) as w:  # fmt: skip
            for key in keys:
                w.write(work.get(key, "scores"))
        with group.writer(f"{archive}.pair_scores", fingerprint_=fp,
                          parents={f"{archive}.scores": w.manifest.version}) as w2:  # fmt: skip
            for key in keys:
                w2.write(work.get(key, "pair_scores"))
        group.commit()
        out = {"scores": w.manifest.version, "pair_scores": w2.manifest.version}
    if out_dir:
        out["out_dir"] = write_copies(work, keys, Path(out_dir))
    return out


def write_copies(work, keys: list[str], folder: Path) -> str:
    """``scores.parquet``, ``scores.csv`` and ``pair_scores.parquet`` in ``folder``, written
    shard by shard."""
    folder.mkdir(parents=True, exist_ok=True)
    with pq.ParquetWriter(folder / "scores.parquet", SCORES) as sw, \
            pq.ParquetWriter(folder / "pair_scores.parquet", PAIR_SCORES) as pw:  # fmt: skip
        for i, key in enumerate(keys):
            scores = work.get(key, "scores")
            sw.write_table(scores)
            pw.write_table(work.get(key, "pair_scores"))
            scores.to_pandas().to_csv(folder / "scores.csv", index=False, header=i == 0,
                                      mode="w" if i == 0 else "a")  # fmt: skip
    if not keys:
        SCORES.empty_table().to_pandas().to_csv(folder / "scores.csv", index=False)
    return str(folder)
