"""Evidence sheets of scored videos (thin task around :mod:`difffake_core.evidence`).

``score_video`` keeps, in its work area, the face crops of each video's most anomalous pairs
(at most ``2 * N_PER_SIGNAL`` pairs per two-frame signal; flagged videos always, every video
with ``evidence="all"``); :func:`write_evidence` draws a sheet from them, the pair scores
and the detector's calibration reals. ``evidence_path`` in the scores table is the sheet's
absolute path (null where none was written).
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pyarrow as pa
from prefect import task
from prefect.cache_policies import NO_CACHE

from data_catalog import Catalog, fingerprint
from difffake_core.errors import UsageError
from difffake_core.evidence import Evidence, crop_keys, top_pairs, write_evidence_sheet
from difffake_core.faces.crop import decode_crop, encode_crop
from difffake_core.status import Status

EvidenceMode = Literal["flagged", "all", "none"]
EVIDENCE_MODES = ("flagged", "all", "none")
N_PER_SIGNAL = 3
EVIDENCE_CROPS = pa.schema(
    [("track_id", pa.int32()), ("frame_index", pa.int64()), ("crop", pa.binary())]
)
log = logging.getLogger("difffake.evidence")


def keeps_crops(mode: str, verdict: str | None) -> bool:
    """Whether ``score_video`` keeps a video's top-pair crops (flagged ones always)."""
    return mode == "all" or verdict == "fake"


def wants_sheet(row: dict[str, Any], mode: str) -> bool:
    if mode == "none" or row.get("status") != Status.OK:
        return False
    return mode == "all" or row.get("verdict") == "fake"


def evidence_crops_table(pair_table: Any, faces: list[Any]) -> pa.Table:
    """The crops (PNG bytes) of the top pairs of ``pair_table``.

    ``faces``: the video's usable face rows (``track_id``, ``frame_index`` and the crop as
    encoded ``crop`` bytes or ``image`` pixels); only the few crops of the top pairs are
    encoded (at most ``4 * N_PER_SIGNAL``).
    """
    keys = set(crop_keys(top_pairs(pair_table, N_PER_SIGNAL)))
    seen: dict[tuple[int, int], bytes] = {}
    for r in faces:
        key = (int(r.track_id), int(r.frame_index))
        if key not in keys or key in seen:
            continue
        if getattr(r, "crop", b""):
            seen[key] = bytes(r.crop)
        elif getattr(r, "image", None) is not None:
            seen[key] = encode_crop(np.asarray(r.image, np.uint8), "png")
    return pa.table(
        {"track_id": [k[0] for k in seen], "frame_index": [k[1] for k in seen],
         "crop": list(seen.values())}, schema=EVIDENCE_CROPS,
    )  # fmt: skip


def sheet_name(video_id: str, sha: str | None) -> str:
    """A file name for a video's sheet: its id made safe, plus the content hash prefix."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", str(video_id)).strip("._") or "video"
    return f"{safe}-{(sha or 'nohash')[:8]}.png"


def _float(value: Any) -> float:
    return np.nan if value is None else float(value)


def build_evidence(row: dict[str, Any], units: Any, crops: dict, detector: Any,
                   detector_label: str) -> Evidence:  # fmt: skip
    """An :class:`Evidence` from a scores row, its pair scores, crops and the detector."""
    fused = detector.is_fused
    names = list(detector.fusion.signals) if fused else []
    return Evidence(
        video_id=str(row["video_id"]),
        fake_score=None if row.get("fake_score") is None else float(row["fake_score"]),
        verdict=row.get("verdict"),
        status=str(row.get("status")),
        units=units,
        crops=crops,
        percentiles={s: _float(row.get(f"pct_{s}")) for s in names},
        raw={s: _float(row.get(f"raw_{s}")) for s in names},
        reference=dict(detector.fusion.reference) if fused else {},
        threshold=row.get("threshold"),
        target_fpr=detector.fusion.target_fpr if fused else None,
        driving_signal=row.get("driving_signal"),
        legacy=not fused,
        fusion_rule=str(detector.fusion.rule) if fused else None,
        detector=detector_label,
        path=str(row.get("path") or ""),
        frames_used=row.get("frames_used"),
        pairs_used=row.get("pairs_used"),
        tracks=row.get("tracks"),
    )


@task(name="write_evidence", cache_policy=NO_CACHE)
def write_evidence(
    row: dict[str, Any],
    detector_folder: str,
    detector_label: str,
    catalog_root: str,
    sheet_dir: str,
    mode: EvidenceMode = "flagged",
) -> str | None:
    """Draw the evidence sheet of one scored video into ``sheet_dir``.

    Returns the sheet's absolute path, or None when the mode wants none for this row or
    the sheet cannot be written (logged: a sheet is never worth failing a run for).
    """
    from tasks.score import STAGE_VERSION, load_detector

    if not wants_sheet(row, mode) or not row.get("content_sha256"):
        return None
    sha = row["content_sha256"]
    version = row.get("detector_version")
    work = Catalog(catalog_root).work_area("score", fingerprint(STAGE_VERSION, version)[:16])
    if not work.has(sha, ("pair_scores",)):
        return None
    try:
        units = work.get(sha, "pair_scores").to_pandas()
        crops = {}
        if work.has(sha, ("evidence_crops",)):
            for r in work.get(sha, "evidence_crops").to_pylist():
                crops[(int(r["track_id"]), int(r["frame_index"]))] = decode_crop(r["crop"])
        ev = build_evidence(row, units, crops, load_detector(detector_folder), detector_label)
        path = Path(sheet_dir) / sheet_name(row["video_id"], sha)
        write_evidence_sheet(path, ev, N_PER_SIGNAL)
    except (OSError, ValueError) as exc:  # disk full, unreadable work file, bad crop bytes
        log.warning("no evidence sheet for %s: %s", row.get("video_id"), exc)
        return None
    return str(path.resolve())


def explain_video(
    video: str,
    detector: str | None,
    catalog_root: str,
    out_dir: str,
    runtime: str = "auto",
    face_model: str | None = None,
) -> dict[str, Any]:
    """Score one file with a detector and write its evidence sheet into ``out_dir``
    (``difffake explain``).

    Returns the scores row with ``evidence_path`` (None when the video could not be scored).

    Raises:
        UsageError: ``video`` is not a file, or no detector is found.
    """
    from tasks.resources import close_all
    from tasks.score import resolve_detector, score_video

    if not os.path.isfile(video):
        raise UsageError(f"no such video file: {video}")
    name, version, folder = resolve_detector(Catalog(catalog_root), detector)
    entry = {"video_id": Path(video).stem, "path": os.path.abspath(video), "label": None,
             "method": None}  # fmt: skip
    try:
        row = score_video.fn(entry, folder, version, catalog_root, runtime, face_model,
                             evidence="all")  # fmt: skip
    finally:
        close_all()
    label = folder if name is None else f"{name}@{version}"
    row["evidence_path"] = write_evidence.fn(row, folder, label, catalog_root, out_dir, "all")
    return row


def verdict_line(row: dict[str, Any]) -> str:
    """One line a person reads: verdict, fused score vs threshold, driving signal."""
    if row.get("status") != Status.OK:
        return f"{row['video_id']}: {row.get('status')} ({row.get('error') or 'not scored'})"
    score, thr = row.get("fake_score"), row.get("threshold")
    text = f"{row['video_id']}: {str(row.get('verdict') or 'no verdict').upper()}"
    if score is not None:
        text += f" (fake_score {score:.3f}"
        if thr is not None:
            text += f" {'>' if score > thr else '<='} threshold {thr:.3f}"
        if row.get("driving_signal"):
            text += f"; driving signal {row['driving_signal']}"
        text += ")"
    return text
