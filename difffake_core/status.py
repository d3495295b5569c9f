"""Every status a stage records, as one ``str`` enum (values are what the tables store).

A row with a status other than ``ok`` is kept, never dropped: the status says why the video,
frame or face could not be used. The README's status table lists these members.
"""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    """Status of a video row (``videos``, ``scores``) or a face row (``face_crops``)."""

    OK = "ok"
    # media (ingest and scoring): the file could not be decoded
    EMPTY_FILE = "empty_file"
    NOT_A_VIDEO = "not_a_video"
    CORRUPT = "corrupt"
    TOO_FEW_FRAMES = "too_few_frames"
    TIMEOUT = "timeout"
    TOO_LARGE = "too_large"
    DECODER_CRASH = "decoder_crash"
    UNREADABLE = "unreadable"
    OUTSIDE_ROOT = "outside_root"
    ERROR = "error"
    # faces: a frame or a whole video without a usable face
    NO_FACE = "no_face"
    FACE_TOO_SMALL = "face_too_small"
    LOW_CONFIDENCE = "low_confidence"
    PARTIAL_FACE = "partial_face"
    EXTREME_POSE = "extreme_pose"
    # scoring: too few frame pairs of one track to score a video
    TOO_FEW_PAIRS = "too_few_pairs"


DESCRIPTIONS: dict[Status, str] = {
    Status.OK: "usable; the row carries its result",
    Status.EMPTY_FILE: "the file has zero bytes",
    Status.NOT_A_VIDEO: "the file is not a video container",
    Status.CORRUPT: "the container opens but its frames cannot be decoded",
    Status.TOO_FEW_FRAMES: "fewer decodable frames than the sampling needs",
    Status.TIMEOUT: "decoding took longer than the allowed time",
    Status.TOO_LARGE: "the file is larger than the configured limit",
    Status.DECODER_CRASH: "native code (decoder or face detector) crashed on this file; the "
    "error names the signal, the run went on",
    Status.UNREADABLE: "the file could not be read (missing, permissions, I/O error)",
    Status.OUTSIDE_ROOT: "a symlink whose target lies outside the corpus root (never read)",
    Status.ERROR: "an unexpected failure; the error column holds the message",
    Status.NO_FACE: "no usable face in enough sampled frames",
    Status.FACE_TOO_SMALL: "the face is below the minimum size",
    Status.LOW_CONFIDENCE: "the face detector's confidence is below the threshold",
    Status.PARTIAL_FACE: "too much of the face lies outside the frame",
    Status.EXTREME_POSE: "the head is turned too far (near profile)",
    Status.TOO_FEW_PAIRS: "too few frame pairs in any track to score the video",
}


def status_table() -> str:
    """The README's Markdown table of statuses (one row per :class:`Status`)."""
    rows = ["| status | meaning |", "|---|---|"]
    rows += [f"| `{s.value}` | {DESCRIPTIONS[s]} |" for s in Status]
    return "\n".join(rows)


def listing_error(entry: dict) -> str:
    """The error text of a row whose listing refused the file (``entry["status"]`` set)."""
    status = Status(entry["status"])
    return f"{entry.get('path')}: {DESCRIPTIONS[status]}"
