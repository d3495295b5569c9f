"""One video in, sampled frames' face crops out: decode -> detect -> landmarks -> crop.

Every face a frame keeps becomes one row with an identity ``track_id`` (0..K-1 per video, in
order of first appearance) and a status: ``"ok"`` rows carry a crop; ``extreme_pose``,
``low_confidence`` and ``partial_face`` rows keep the face's box, landmarks and pose but no
crop. A frame without a kept face is one row with ``face_index = track_id = -1`` and status
``no_face`` or ``face_too_small``.

:func:`process_video` never raises for bad media: the failure becomes the video's ``status``
and ``error``, so a corrupt, empty, faceless or huge file is one row in the results.
"""

from __future__ import annotations

import math
import queue
import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np

from difffake_core.errors import MediaError
from difffake_core.faces.analyzer import FaceAnalyzer, FaceObservation
from difffake_core.faces.change import changed_outside, thumbnail
from difffake_core.faces.crop import crop_face, encode_crop
from difffake_core.faces.quality import QualityThresholds, face_status
from difffake_core.faces.shots import face_texture, scene_signature
from difffake_core.faces.tracks import (
    FaceTracker,
    Sighting,
    TrackParams,
    appearance_histogram,
    geometry_signature,
)
from difffake_core.video import VideoInfo, stream_frames

GiB = 1 << 30


# Face thresholds and track gates are declared once, in faces/quality.py and faces/tracks.py.
_QUALITY = QualityThresholds()
_TRACKS = TrackParams()


@dataclass(frozen=True)
class IngestParams:
    """Settings of the decode + face stage. All of them enter the dataset's fingerprint.

    Faces:
        ``keep="all"`` (default) keeps every usable-size face of a frame, each linked into an
        identity track (real archives have several people; pairs must stay inside one track);
        ``"largest"`` keeps the largest face only (the paper's talking-head setting), still
        tracked, so a largest face that switches between people starts a new track.
        ``min_face_px`` / ``min_face_frac``: smallest face (mesh height, in pixels and as a
        fraction of the frame height) that gets a row; a frame whose faces are all smaller gets
        one ``face_too_small`` row. ``max_faces``: most faces fitted per frame.

    Detection (see :class:`~difffake_core.faces.analyzer.FaceAnalyzer`): ``tiling`` (``"auto"``,
    ``"on"``, ``"off"``), ``tile_levels``, ``tiling_rel_size``, ``min_region_confidence``.
    With ``"auto"``, the finest tile level (2/3 of the detector calls on a faceless 1080p
    frame) runs on every ``tile_probe_every``-th sampled frame until it finds a face in the
    video, then on every frame: the smallest faces of a person seen only between two probes
    are missed; ``tile_probe_every=1`` scans every frame fully.
    Defaults find faces down to 40 px (3.7% of a 1080-pixel height) and cost a talking head
    about 3 extra detector calls per frame; ``min_face_px=32`` sits just below what the
    detector can find, where the 68 points still agree with those of the full-size face to
    ~3% of the eye distance.

    Quality (see :mod:`difffake_core.faces.quality`): a face gets a status instead of a crop
    when ``|yaw| > max_abs_yaw`` or ``|pitch| > max_abs_pitch`` (``extreme_pose``), when its
    detector score is below ``min_face_confidence`` or its mesh collapsed (``low_confidence``),
    or when more than ``max_outside_frac`` of it lies outside the frame (``partial_face``). The
    video is ``"ok"`` with at least ``min_usable_frames`` frames holding a usable face, else
    ``"no_face"``. The landmarker underestimates strong turns (a face rendered at 50 degrees
    of yaw measures ~33, at 64 degrees ~42), so ``max_abs_yaw=45`` drops near-profiles only.

    Neighbours: ``neighbour_offsets=(1,)`` also decodes the frame next to each sampled frame
    (in the same pass) and gives its faces rows with ``anchor_frame`` = the sampled frame and
    the track of the nearest face there (not through the tracker, so tracks and everything
    that counts sampled frames ignore them); one decoded before its sampled frame (the last
    frame's neighbour is the frame before it) waits for that frame's faces. They feed the
    ``adjacent_pairs`` signal and the jitter features of ``landmark_dynamics``; with face
    tracking the face stage costs about 1.5 times as much (``benchmarks/bench_cost.py``).

    Face tracking: with ``face_tracking=True`` (default) the detector (whole frame + tiles)
    runs on key frames only: every ``redetect_every``-th sampled frame, every frame while no
    face is being followed, whenever a followed face is lost, and whenever a block of the
    picture away from the followed people changed by more than ``redetect_change`` grey
    levels since the previous sampled frame (:mod:`difffake_core.faces.change`: a person
    entering; one entering right beside a followed person waits for the next key frame).
    On the other sampled frames and on neighbour frames the landmarker is started from the
    previous frame's (for a neighbour: its sampled frame's) face boxes
    (:meth:`FaceAnalyzer.follow`), which skips 1 + 3..68 detector calls per frame.
    A neighbour frame whose sampled frame has no usable face is not analysed (it could not
    get a row). ``face_tracking=False`` detects on every frame (the path before tracking).

    Tracks (see :mod:`difffake_core.faces.tracks`): ``track_max_gap`` sampled frames a person
    may be missing and keep their track; ``track_max_shift`` face heights a face may move per
    sampled frame; ``track_max_size_ratio``, ``track_max_appearance_dist``. Shot cuts: a face
    does not continue a track when the picture changed by more than ``track_cut_scene_change``
    since the track was last seen *and* the face differs from the track's recent faces by
    more than ``track_cut_face_change`` (``track_cut_scene_change=inf`` turns this off).
    """

    n_frames: int = 32
    min_frames: int = 2
    crop_size: int = 224
    crop_scale: float = 1.3
    crop_format: str = "png"
    max_faces: int = 5
    min_detection_confidence: float = 0.5
    keep: Literal["largest", "all"] = "all"
    min_face_frac: float = _QUALITY.min_face_frac
    min_face_px: float = _QUALITY.min_face_px
    tiling: Literal["auto", "on", "off"] = "auto"
    tile_levels: int = 2
    tiling_rel_size: float = 0.5
    tile_probe_every: int = 4
    min_region_confidence: float = 0.7
    max_abs_yaw: float = _QUALITY.max_abs_yaw
    max_abs_pitch: float = _QUALITY.max_abs_pitch
    min_face_confidence: float = _QUALITY.min_confidence
    max_outside_frac: float = _QUALITY.max_outside_frac
    min_usable_frames: int = 1
    track_max_gap: int = _TRACKS.max_gap
    track_max_shift: float = _TRACKS.max_shift
    track_max_size_ratio: float = _TRACKS.max_size_ratio
    track_max_appearance_dist: float = _TRACKS.max_appearance_dist
    track_cut_scene_change: float = _TRACKS.cut_scene_change
    track_cut_face_change: float = _TRACKS.cut_face_change
    neighbour_offsets: tuple[int, ...] = ()
    face_tracking: bool = True
    redetect_every: int = 8
    redetect_change: float = 20.0
    time_limit_s: float | None = 300.0
    max_bytes: int | None = 8 * GiB
    backend: str = "auto"

    def __post_init__(self) -> None:
        if self.redetect_every < 1:
            raise ValueError(f"redetect_every must be >= 1, got {self.redetect_every}")
        if self.redetect_change < 0:
            raise ValueError(f"redetect_change must be >= 0, got {self.redetect_change}")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def analyzer_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of the :class:`FaceAnalyzer` these settings need."""
        return {
            "max_faces": self.max_faces,
            "min_detection_confidence": self.min_detection_confidence,
            "tiling": self.tiling,
            "tile_levels": self.tile_levels,
            "tiling_rel_size": self.tiling_rel_size,
            "min_region_confidence": self.min_region_confidence,
        }

    def quality(self) -> QualityThresholds:
        return QualityThresholds(
            min_face_px=self.min_face_px,
            min_face_frac=self.min_face_frac,
            min_confidence=self.min_face_confidence,
            max_outside_frac=self.max_outside_frac,
            max_abs_yaw=self.max_abs_yaw,
            max_abs_pitch=self.max_abs_pitch,
        )

    def tracking(self) -> TrackParams:
        return TrackParams(
            max_gap=self.track_max_gap,
            max_shift=self.track_max_shift,
            max_size_ratio=self.track_max_size_ratio,
            max_appearance_dist=self.track_max_appearance_dist,
            cut_scene_change=self.track_cut_scene_change,
            cut_face_change=self.track_cut_face_change,
        )


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
    track_id: int = -1
    anchor_frame: int | None = None  # set on neighbour rows only: their sampled frame
    image: np.ndarray | None = None  # the crop, (S, S, 3) uint8 RGB, when not encoded


@dataclass
class VideoFaces:
    """Everything the face stage learned about one video."""

    status: str
    error: str | None
    info: VideoInfo | None
    backend: str | None
    rows: list[FrameFace] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    face_passes: dict[str, int] = field(default_factory=dict)  # frames detected / followed

    @property
    def sampled_rows(self) -> list[FrameFace]:
        """Rows of sampled frames (neighbour rows left out)."""
        return [r for r in self.rows if r.anchor_frame is None]

    @property
    def frames_sampled(self) -> int:
        return len({r.frame_index for r in self.sampled_rows})

    @property
    def frames_with_face(self) -> int:
        """Sampled frames with at least one usable face (a crop)."""
        return len({r.frame_index for r in self.sampled_rows if r.status == "ok"})

    @property
    def track_ids(self) -> list[int]:
        """Tracks with at least one usable face."""
        return sorted({r.track_id for r in self.sampled_rows if r.status == "ok"})


def select_faces(
    faces: list[FaceObservation], frame_h: int, params: IngestParams
) -> list[FaceObservation]:
    """Faces kept for one frame (large enough; only the largest with ``keep="largest"``).

    ``faces`` must be largest first (as :meth:`FaceAnalyzer.analyze` returns them).
    """
    big = [
        f
        for f in faces
        if f.height >= params.min_face_px and f.height >= params.min_face_frac * frame_h
    ]
    return big[:1] if params.keep == "largest" else big


def face_row(
    frame: np.ndarray, index: int, stamp: float, k: int, face: FaceObservation, seen: int,
    params: IngestParams, status: str = "ok", encode: bool = True,
) -> FrameFace:  # fmt: skip
    """The row of one kept face; the crop is made only when ``status == "ok"``, encoded
    (``crop``) or, with ``encode=False``, kept as pixels (``image``)."""
    landmarks = face.landmarks68
    row = FrameFace(
        frame_index=index,
        timestamp_s=stamp,
        face_index=k,
        status=status,
        face_box=[float(v) for v in face.box],
        confidence=face.score,
        faces_seen=seen,
        face_height_frac=face.height / frame.shape[0],
        yaw=face.yaw,
        pitch=face.pitch,
        roll=face.roll,
    )
    if status == "ok":
        crop = crop_face(frame, face.box, landmarks, params.crop_size, params.crop_scale)
        if encode:
            row.crop = encode_crop(crop.image, params.crop_format)
        else:
            row.image = crop.image
        row.bbox = [float(v) for v in crop.box]
        row.landmarks = [float(v) for v in crop.landmarks.reshape(-1)]
    return row


def frame_rows(
    frame: np.ndarray, index: int, stamp: float, faces: list[FaceObservation], seen: int,
    params: IngestParams, tracker: FaceTracker, step: int, encode: bool = True,
) -> list[FrameFace]:  # fmt: skip
    """Rows of one sampled frame: one per kept face (tracked), or one frame-level row."""
    kept = select_faces(faces, frame.shape[0], params)
    if not kept:
        tracker.update(step, [])  # the step counts towards every open track's gap
        if not faces:
            return [FrameFace(index, stamp, -1, "no_face", faces_seen=seen)]
        largest = faces[0]
        return [
            FrameFace(
                index, stamp, -1, "face_too_small", face_box=[float(v) for v in largest.box],
                confidence=largest.score, faces_seen=seen,
                face_height_frac=largest.height / frame.shape[0],
                yaw=largest.yaw, pitch=largest.pitch, roll=largest.roll,
            )
        ]  # fmt: skip
    thresholds = params.quality()
    cut_gate = math.isfinite(params.track_cut_scene_change)  # off: no shot-cut cues to compute
    sightings = [
        Sighting(
            f.box,
            appearance_histogram(frame, f.box),
            geometry_signature(f.landmarks68),
            face_texture(frame, f.landmarks68) if cut_gate else None,
        )
        for f in kept
    ]
    tracks = tracker.update(step, sightings, scene_signature(frame) if cut_gate else None)
    rows = []
    for k, (face, track) in enumerate(zip(kept, tracks, strict=True)):
        status = face_status(face, frame.shape[:2], thresholds)
        row = face_row(frame, index, stamp, k, face, seen, params, status, encode)
        row.track_id = track
        rows.append(row)
    return rows


def neighbour_rows(
    frame: np.ndarray, index: int, stamp: float, anchor: int, faces: list[FaceObservation],
    seen: int, anchor_rows: list[FrameFace], params: IngestParams, encode: bool = True,
) -> list[FrameFace]:  # fmt: skip
    """Rows of a neighbour frame: for each usable face of its sampled (anchor) frame, the
    nearest face here (centre within half a face height) with that face's track."""
    kept = select_faces(faces, frame.shape[0], params)
    thresholds = params.quality()
    rows: list[FrameFace] = []
    used: set[int] = set()
    for ref in anchor_rows:
        if ref.status != "ok" or ref.face_box is None or not kept:
            continue
        rb = np.asarray(ref.face_box, np.float64)
        rc, rh = 0.5 * (rb[:2] + rb[2:]), max(rb[3] - rb[1], 1.0)
        dist = [np.linalg.norm(0.5 * (np.asarray(f.box[:2]) + np.asarray(f.box[2:])) - rc) / rh
                for f in kept]  # fmt: skip
        k = int(np.argmin(dist))
        if dist[k] > 0.5 or k in used:
            continue
        used.add(k)
        status = face_status(kept[k], frame.shape[:2], thresholds)
        row = face_row(frame, index, stamp, ref.face_index, kept[k], seen, params, status,
                       encode)  # fmt: skip
        row.track_id, row.anchor_frame = ref.track_id, anchor
        rows.append(row)
    return rows


def prefetch(items: Iterable[Any], depth: int = 2) -> Iterator[Any]:
    """Iterate ``items`` in a background thread, ``depth`` items ahead of the consumer.

    Decoding (mostly native code that releases the GIL) then overlaps face analysis.
    Exceptions of the producer are raised in the consumer; a consumer that stops early
    stops the producer.
    """
    q: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    end = object()

    def produce() -> None:
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        q.put((True, item), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            q.put((True, end))
        except BaseException as exc:  # handed to the consumer, re-raised there
            q.put((False, exc))

    thread = threading.Thread(target=produce, name="frame-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            ok, item = q.get()
            if not ok:
                raise item
            if item is end:
                return
            yield item
    finally:
        stop.set()


def process_video(
    path: str, params: IngestParams, analyzer: FaceAnalyzer, encode: bool = True
) -> VideoFaces:
    """Decode ``params.n_frames`` frames of ``path``, find, track and crop their faces.

    ``encode=False`` keeps each crop as pixels (``FrameFace.image``) instead of PNG/JPEG
    bytes: scoring embeds the crops at once and never stores them, so it skips the encode
    and decode round trip (about 3 ms of CPU per 224-pixel PNG crop).

    Frames are decoded in chunks in a background thread while the faces of earlier chunks
    are analysed.
    """
    t0 = time.perf_counter()
    waited = 0.0
    rows: list[FrameFace] = []
    passes = {"detect": 0, "follow": 0, "lost": 0}
    try:
        stream = stream_frames(
            path,
            params.n_frames,
            min_frames=params.min_frames,
            time_limit_s=params.time_limit_s,
            max_bytes=params.max_bytes,
            backend=params.backend,
            neighbour_offsets=params.neighbour_offsets,
        )
        tracker = FaceTracker(params.tracking())
        by_frame: dict[int, list[FrameFace]] = {}
        seen_by_frame: dict[int, tuple[list[FaceObservation], int]] = {}
        finest = len(analyzer.levels((stream.info.height, stream.info.width)))
        small_faces = False  # has the finest tile level found a face in this video yet?
        step = 0
        last: tuple[list[FaceObservation], int] = ([], 0)  # faces of the last sampled frame
        previous_thumb: np.ndarray | None = None  # of the previous sampled frame

        def faces_of(frame, reference, max_level, key: bool) -> tuple[list[FaceObservation], int]:
            ref_faces, ref_seen = reference
            if params.face_tracking and ref_faces and not key:
                followed = analyzer.follow(frame, ref_faces)
                if followed is not None:
                    passes["follow"] += 1
                    return followed, len(followed) + ref_seen - len(ref_faces)
                passes["lost"] += 1
            passes["detect"] += 1
            return analyzer.analyze(frame, max_level)

        # neighbours decoded before their sampled frame, waiting for its faces
        pending: dict[int, list[tuple[np.ndarray, int, float]]] = {}

        def neighbour_of(frame, index: int, stamp: float, anchor: int) -> list[FrameFace]:
            anchor_rows = by_frame.get(anchor, [])
            if params.face_tracking and not any(r.status == "ok" for r in anchor_rows):
                return []  # no usable face at the anchor: no neighbour rows either
            reference = seen_by_frame.get(anchor, ([], 0))
            level = None if small_faces else finest - 1
            faces, seen = faces_of(frame, reference, level, key=False)
            return neighbour_rows(frame, index, stamp, anchor, faces, seen, anchor_rows, params,
                                  encode)  # fmt: skip

        chunks = prefetch(stream)
        while True:
            t = time.perf_counter()
            chunk = next(chunks, None)
            waited += time.perf_counter() - t
            if chunk is None:
                break
            for frame, index, stamp in zip(*chunk, strict=True):
                anchor = stream.anchors.get(int(index))
                if anchor is not None:  # a neighbour: matched to its sampled frame's faces
                    if anchor in by_frame:
                        rows += neighbour_of(frame, int(index), float(stamp), anchor)
                    else:  # decoded before its sampled frame (taken on the -offset side)
                        pending.setdefault(anchor, []).append((frame, int(index), float(stamp)))
                    continue
                probe = params.tile_probe_every
                full = analyzer.tiling != "auto" or small_faces or probe <= 1 or step % probe == 0
                key = step % params.redetect_every == 0
                thumb = thumbnail(frame) if params.face_tracking else None
                if params.face_tracking and not key and last[0]:
                    key = previous_thumb is None or changed_outside(
                        previous_thumb, thumb, [f.box for f in last[0]], frame.shape[:2],
                        params.redetect_change,
                    )  # fmt: skip
                previous_thumb = thumb
                faces, seen = faces_of(frame, last, None if full else finest - 1, key)
                small_faces = small_faces or (finest > 0 and any(f.level == finest for f in faces))
                new = frame_rows(frame, int(index), float(stamp), faces, seen, params, tracker,
                                 step, encode)  # fmt: skip
                by_frame[int(index)] = new
                last = seen_by_frame[int(index)] = (faces, seen)
                rows += new
                step += 1
                for early in pending.pop(int(index), ()):
                    rows += neighbour_of(*early, int(index))
    except MediaError as exc:
        return VideoFaces(status=exc.status, error=str(exc), info=None, backend=None)
    total = time.perf_counter() - t0
    sampled = stream
    out = VideoFaces(
        status="ok",
        error=None,
        info=sampled.info,
        backend=sampled.backend,
        rows=rows,
        seconds={"decode": waited, "faces": total - waited},
        face_passes=passes,
    )
    if out.frames_with_face < max(params.min_usable_frames, 1):
        counts = Counter(r.status for r in out.sampled_rows)
        detail = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
        if out.frames_with_face == 0 and set(counts) == {"no_face"}:
            error = "no face found in any sampled frame"
        else:
            error = (
                f"{out.frames_with_face} sampled frame(s) with a usable face, at least "
                f"{max(params.min_usable_frames, 1)} needed (rows: {detail})"
            )
        out.status, out.error = "no_face", error
    return out
