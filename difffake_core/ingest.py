"""One video in, sampled frames' face crops out: decode -> detect -> landmarks -> crop.

:func:`process_video` never raises for bad media: the failure becomes the video's ``status``
and ``error``, so a corrupt, empty, faceless or huge file is one row in the results.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np

from difffake_core.errors import MediaError
from difffake_core.faces.analyzer import FaceAnalyzer, FaceObservation
from difffake_core.faces.crop import crop_face, encode_crop
from difffake_core.video import VideoInfo, read_frames

GiB = 1 << 30


@dataclass(frozen=True)
class IngestParams:
    """Settings of the decode + face stage. All of them enter the dataset's fingerprint.

    ``keep="largest"`` keeps one face per frame (the paper's talking-head setting);
    ``"all"`` keeps every face of at least ``min_face_frac`` of the frame height.
    """

    n_frames: int = 32
    min_frames: int = 2
    crop_size: int = 224
    crop_scale: float = 1.3
    crop_format: str = "png"
    max_faces: int = 5
    min_detection_confidence: float = 0.5
    keep: Literal["largest", "all"] = "largest"
    min_face_frac: float = 0.0
    time_limit_s: float | None = 300.0
    max_bytes: int | None = 8 * GiB
    backend: str = "auto"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class FrameFace:
    """One row of the face-crops table (a sampled frame, with or without a face)."""

    frame_index: int
    timestamp_s: float
    face_index: int
    status: str
    crop: bytes = b""
    bbox: list[float] | None = None
    face_box: list[float] | None = None
    landmarks: list[float] | None = None
    confidence: float | None = None
    faces_seen: int = 0
    face_height_frac: float | None = None
    yaw: float | None = None
    pitch: float | None = None
    roll: float | None = None
    track_id: int = 0


@dataclass
class VideoFaces:
    """Everything the face stage learned about one video."""

    status: str
    error: str | None
    info: VideoInfo | None
    backend: str | None
    rows: list[FrameFace] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def frames_sampled(self) -> int:
        return len({r.frame_index for r in self.rows})

    @property
    def frames_with_face(self) -> int:
        return len({r.frame_index for r in self.rows if r.status == "ok"})


def select_faces(
    faces: list[FaceObservation], frame_h: int, params: IngestParams
) -> list[FaceObservation]:
    """Faces kept for one frame, largest first."""
    big = [f for f in faces if f.height >= params.min_face_frac * frame_h]
    return big[:1] if params.keep == "largest" else big


def face_row(
    frame: np.ndarray, index: int, stamp: float, k: int, face: FaceObservation, seen: int,
    params: IngestParams,
) -> FrameFace:  # fmt: skip
    crop = crop_face(frame, face.box, face.landmarks68, params.crop_size, params.crop_scale)
    return FrameFace(
        frame_index=index,
        timestamp_s=stamp,
        face_index=k,
        status="ok",
        crop=encode_crop(crop.image, params.crop_format),
        bbox=[float(v) for v in crop.box],
        face_box=[float(v) for v in face.box],
        landmarks=[float(v) for v in crop.landmarks.reshape(-1)],
        confidence=face.score,
        faces_seen=seen,
        face_height_frac=face.height / frame.shape[0],
        yaw=face.yaw,
        pitch=face.pitch,
        roll=face.roll,
    )


def process_video(path: str, params: IngestParams, analyzer: FaceAnalyzer) -> VideoFaces:
    """Decode ``params.n_frames`` frames of ``path`` and crop the faces found in them."""
    t0 = time.perf_counter()
    try:
        sampled = read_frames(
            path,
            params.n_frames,
            min_frames=params.min_frames,
            time_limit_s=params.time_limit_s,
            max_bytes=params.max_bytes,
            backend=params.backend,
        )
    except MediaError as exc:
        return VideoFaces(status=exc.status, error=str(exc), info=None, backend=None)
    t1 = time.perf_counter()
    rows: list[FrameFace] = []
    for frame, index, stamp in zip(
        sampled.frames, sampled.indices, sampled.timestamps_s, strict=True
    ):
        faces, seen = analyzer.analyze(frame)
        kept = select_faces(faces, frame.shape[0], params)
        if not kept:
            rows.append(FrameFace(int(index), float(stamp), -1, "no_face", faces_seen=seen))
            continue
        for k, face in enumerate(kept):
            rows.append(face_row(frame, int(index), float(stamp), k, face, seen, params))
    t2 = time.perf_counter()
    out = VideoFaces(
        status="ok",
        error=None,
        info=sampled.info,
        backend=sampled.backend,
        rows=rows,
        seconds={"decode": t1 - t0, "faces": t2 - t1},
    )
    if out.frames_with_face == 0:
        out.status, out.error = "no_face", "no face found in any sampled frame"
    return out
