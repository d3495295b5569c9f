"""Video probing and frame sampling.

decord decodes by default; PyAV is the fallback for containers decord cannot open (WebM/VP9,
some MKV) and gives the same frames. Every failure is a typed :class:`MediaError` whose
``status`` a flow records in a results row.
"""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass, field

import numpy as np

from difffake_core.errors import (
    CorruptVideoError,
    DecodeTimeoutError,
    EmptyFileError,
    FileTooLargeError,
    MediaError,
    NotAVideoError,
    TooFewFramesError,
)

# Leading bytes of containers we know are video; a file that starts like one but fails to
# open is "corrupt", anything else that fails is "not_a_video".
_VIDEO_MAGIC: tuple[tuple[int, bytes], ...] = (
    (4, b"ftyp"),  # MP4 / MOV / M4V / 3GP
    (4, b"moov"),
    (4, b"mdat"),
    (4, b"free"),
    (4, b"wide"),
    (0, b"\x1a\x45\xdf\xa3"),  # Matroska / WebM (EBML)
    (0, b"RIFF"),  # AVI
    (0, b"FLV"),
    (0, b"\x00\x00\x01\xba"),  # MPEG-PS
    (0, b"\x47"),  # MPEG-TS sync byte
    (0, b"\x30\x26\xb2\x75"),  # ASF / WMV
    (0, b"OggS"),
)


# Largest frame accepted (8192 x 8192, above 8K UHD): a header claiming more would make a
# decoder allocate gigabytes per frame.
MAX_FRAME_PIXELS = 8192 * 8192


@dataclass(frozen=True)
class VideoInfo:
    """Stream metadata of one video file.

    ``trusted_count`` is False when the container's frame count was implausible (more frames
    than bytes) and was dropped: decord, which allocates by that claim, is then skipped and
    PyAV counts the frames it decodes.
    """

    path: str
    size_bytes: int
    frame_count: int
    fps: float
    duration_s: float
    width: int
    height: int
    codec: str
    trusted_count: bool = True


@dataclass
class SampledFrames:
    """Frames sampled from one video.

    ``frames`` shape: ``(N, H, W, 3)`` uint8 RGB. ``indices`` and ``timestamps_s`` shape ``(N,)``.
    """

    frames: np.ndarray
    indices: np.ndarray
    timestamps_s: np.ndarray
    info: VideoInfo
    backend: str
    decode_seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)


def file_sha256(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """Content hash of a file (hex)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def sample_indices(frame_count: int, n: int) -> np.ndarray:
    """``n`` evenly spaced frame indices over ``[0, frame_count)``, first and last included.

    Returns fewer than ``n`` (all frames) when the video is shorter. Shape ``(min(n, count),)``.
    """
    if frame_count <= 0 or n <= 0:
        return np.zeros(0, dtype=np.int64)
    if n >= frame_count:
        return np.arange(frame_count, dtype=np.int64)
    return np.unique(np.round(np.linspace(0, frame_count - 1, n)).astype(np.int64))


def with_neighbours(
    sampled: np.ndarray, frame_count: int, offsets: tuple[int, ...] = ()
) -> tuple[np.ndarray, dict[int, int]]:
    """Sampled indices plus, for each, its neighbours at ``offsets`` (e.g. ``(1,)`` = the next
    decoded frame). A neighbour outside ``[0, frame_count)`` or on another sampled frame is
    taken on the other side (``-offset``), else dropped.

    Returns:
        ``(indices, anchors)``: the sorted union, shape ``(M,)`` int64, and
        ``{neighbour index: its sampled index}`` (sampled frames are not keys).
    """
    taken = {int(i) for i in sampled}
    anchors: dict[int, int] = {}
    for i in (int(v) for v in sampled):
        for off in offsets:
            for j in (i + off, i - off):
                if 0 <= j < frame_count and j not in taken and j not in anchors:
                    anchors[j] = i
                    break
    union = np.array(sorted(taken | set(anchors)), dtype=np.int64)
    return union, anchors


def _looks_like_video(path: str) -> bool:
    with open(path, "rb") as f:
        head = f.read(16)
    return any(head[off : off + len(magic)] == magic for off, magic in _VIDEO_MAGIC)


def _check_file(path: str, max_bytes: int | None) -> int:
    if not os.path.isfile(path):
        raise NotAVideoError("not a regular file", path)
    size = os.path.getsize(path)
    if size == 0:
        raise EmptyFileError("file is empty (0 bytes)", path)
    if max_bytes is not None and size > max_bytes:
        raise FileTooLargeError(f"file is {size} bytes, limit is {max_bytes}", path)
    return size


def probe_video(path: str | os.PathLike, max_bytes: int | None = None) -> VideoInfo:
    """Read stream metadata with PyAV without decoding frames.

    Raises:
        EmptyFileError, FileTooLargeError, NotAVideoError, CorruptVideoError.
    """
    import av

    path = str(path)
    size = _check_file(path, max_bytes)
    try:
        container = av.open(path)
    except (av.error.FFmpegError, OSError, ValueError) as exc:
        if _looks_like_video(path):
            raise CorruptVideoError(f"container cannot be opened ({exc})", path) from exc
        raise NotAVideoError(f"not a video container ({exc})", path) from exc
    with container:
        if not container.streams.video:
            kinds = sorted({s.type for s in container.streams}) or ["none"]
            raise NotAVideoError(f"no video stream (streams: {', '.join(kinds)})", path)
        stream = container.streams.video[0]
        ctx = stream.codec_context
        fps = float(stream.average_rate or stream.guessed_rate or 0.0)
        duration = 0.0
        if stream.duration is not None and stream.time_base is not None:
            duration = float(stream.duration * stream.time_base)
        elif container.duration is not None:
            duration = container.duration / 1_000_000
        frame_count = int(stream.frames or 0)
        if frame_count == 0 and fps > 0 and 0 < duration < 1e7:
            frame_count = int(round(duration * fps))
        trusted = plausible_frame_count(frame_count, size)
        if not trusted:  # a lying header (e.g. 0x7FFFFFFF frames): count while decoding
            frame_count, duration = 0, 0.0
        if not duration and fps > 0:
            duration = frame_count / fps
        width, height = int(ctx.width or 0), int(ctx.height or 0)
        if width * height > MAX_FRAME_PIXELS:
            raise CorruptVideoError(
                f"stream claims {width}x{height} frames, more than {MAX_FRAME_PIXELS} pixels", path
            )
        return VideoInfo(
            path=path,
            size_bytes=size,
            frame_count=frame_count,
            fps=fps,
            duration_s=duration,
            width=width,
            height=height,
            codec=str(ctx.name or "unknown"),
            trusted_count=trusted,
        )


def plausible_frame_count(frame_count: int, size_bytes: int) -> bool:
    """Whether a container's frame count can be true: every frame takes at least one byte
    of the file (and an index entry), so more frames than bytes is a lie."""
    return 0 <= frame_count <= size_bytes


class _Deadline:
    def __init__(self, seconds: float | None, path: str) -> None:
        self.end = None if seconds is None else time.monotonic() + seconds
        self.seconds, self.path = seconds, path

    def check(self) -> None:
        if self.end is not None and time.monotonic() > self.end:
            raise DecodeTimeoutError(f"decoding took longer than {self.seconds} s", self.path)


def _open_decord(path: str):
    import decord

    try:
        return decord.VideoReader(path, ctx=decord.cpu(0), num_threads=1)
    except (RuntimeError, decord.DECORDError) as exc:
        raise CorruptVideoError(f"decord cannot open the file ({exc})", path) from exc


def _iter_decord(vr, path: str, idx: np.ndarray, deadline: _Deadline, chunk: int):
    """Yield ``(frames, indices, timestamps)`` chunks of the wanted frames."""
    import decord

    for start in range(0, len(idx), chunk):
        deadline.check()
        part = idx[start : start + chunk]
        try:
            frames = vr.get_batch(part.tolist()).asnumpy()
            stamps = vr.get_frame_timestamp(part.tolist())[:, 0].astype(np.float64)
        except (RuntimeError, decord.DECORDError) as exc:
            raise CorruptVideoError(f"decoding failed ({exc})", path) from exc
        yield frames, part, stamps


def _iter_pyav(path: str, wanted: np.ndarray, deadline: _Deadline, chunk: int):
    """Decode sequentially, yielding chunks of the wanted frame positions (any container)."""
    import av

    want = set(int(i) for i in wanted)
    last = int(wanted.max()) if len(wanted) else -1
    frames: list[np.ndarray] = []
    idx: list[int] = []
    stamps: list[float] = []
    yielded = 0
    try:
        with av.open(path) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            start = 0.0
            if stream.start_time is not None and stream.time_base is not None:
                start = float(stream.start_time * stream.time_base)
            for pos, frame in enumerate(container.decode(stream)):
                if pos % 16 == 0:
                    deadline.check()
                if pos in want:
                    frames.append(frame.to_ndarray(format="rgb24"))
                    idx.append(pos)
                    t = frame.time - start if frame.time is not None else pos / fps_of(stream)
                    stamps.append(float(t))
                    if len(frames) == chunk:
                        yield np.stack(frames), np.asarray(idx, np.int64), np.asarray(stamps)
                        yielded += len(frames)
                        frames, idx, stamps = [], [], []
                if pos >= last:
                    break
    except av.error.FFmpegError as exc:
        # A damaged tail: keep the frames decoded so far; nothing decoded is corrupt.
        if not frames and not yielded:
            raise CorruptVideoError(f"decoding failed ({exc})", path) from exc
    if frames:
        yield np.stack(frames), np.asarray(idx, np.int64), np.asarray(stamps)


def fps_of(stream) -> float:
    rate = stream.average_rate or stream.guessed_rate
    return float(rate) if rate else 25.0


@dataclass
class FrameStream:
    """Sampled frames of one video, decoded chunk by chunk (see :func:`stream_frames`).

    ``info`` and ``backend`` may change while iterating (decord's frame index replaces the
    container's count; a failing decord hands over to PyAV). Iterating yields
    ``(frames (n, H, W, 3) uint8, indices (n,), timestamps_s (n,))``.
    """

    path: str
    info: VideoInfo
    n_frames: int
    min_frames: int
    backend: str
    deadline: _Deadline
    chunk: int = 8
    warnings: list[str] = field(default_factory=list)
    decoded: int = 0
    neighbour_offsets: tuple[int, ...] = ()
    anchors: dict[int, int] = field(default_factory=dict)  # neighbour index -> sampled index

    def _wanted(self, count: int) -> np.ndarray:
        idx, anchors = with_neighbours(
            sample_indices(count, self.n_frames), count, self.neighbour_offsets
        )
        self.anchors.clear()
        self.anchors.update(anchors)
        return idx

    def __iter__(self):
        done: list[int] = []
        if not self.info.trusted_count:  # decord would allocate by the header's claim
            if self.backend == "decord":
                raise CorruptVideoError("implausible frame count in the container", self.path)
            self.warnings.append("implausible frame count in the container: decoded with PyAV")
            self.backend = "pyav"
        if self.backend in ("auto", "decord"):
            try:
                for item in self._decord():
                    done.extend(item[1].tolist())
                    self.decoded += len(item[1])
                    yield item
                self.backend = "decord"
                self._check_count()
                return
            except CorruptVideoError as exc:
                if self.backend == "decord":
                    raise
                self.warnings.append(f"decord failed, used PyAV: {exc}")
        self.backend = "pyav"
        count = self.info.frame_count or _count_frames(self.path, self.deadline)
        self.info = _with_count(self.info, count)
        wanted = np.setdiff1d(self._wanted(count), done)
        for item in _iter_pyav(self.path, wanted, self.deadline, self.chunk):
            self.decoded += len(item[1])
            yield item
        self._check_count()

    def _decord(self):
        vr = _open_decord(self.path)
        count = len(vr)
        if count != self.info.frame_count and count > 0:
            # decord's index is authoritative for the frames it can serve.
            self.info = _with_count(self.info, count)
        idx = self._wanted(self.info.frame_count)
        yield from _iter_decord(vr, self.path, idx[idx < count], self.deadline, self.chunk)

    def _check_count(self) -> None:
        if self.decoded < self.min_frames:
            raise TooFewFramesError(
                f"{self.decoded} decodable frame(s), at least {self.min_frames} needed", self.path
            )


def stream_frames(
    path: str | os.PathLike,
    n_frames: int = 32,
    *,
    min_frames: int = 2,
    time_limit_s: float | None = 120.0,
    max_bytes: int | None = None,
    backend: str = "auto",
    chunk: int = 8,
    neighbour_offsets: tuple[int, ...] = (),
) -> FrameStream:
    """Probe a video now and decode its ``n_frames`` evenly spaced frames lazily, in chunks,
    so a consumer can work on the first frames while the next ones decode.
    ``neighbour_offsets`` also decodes frames next to each sampled one (see
    :func:`with_neighbours`); ``stream.anchors`` maps them to their sampled frame.

    Raises (here, or while iterating): the :class:`MediaError` subclasses of
    :func:`read_frames`.
    """
    if backend not in ("auto", "decord", "pyav"):
        raise ValueError(f"backend must be 'auto', 'decord' or 'pyav', got {backend!r}")
    path = str(path)
    deadline = _Deadline(time_limit_s, path)
    info = probe_video(path, max_bytes=max_bytes)
    if 0 < info.frame_count < min_frames:
        raise TooFewFramesError(
            f"{info.frame_count} frame(s) in the stream, at least {min_frames} needed", path
        )
    return FrameStream(path, info, n_frames, min_frames, backend, deadline, chunk,
                       neighbour_offsets=tuple(neighbour_offsets))  # fmt: skip


def read_frames(
    path: str | os.PathLike,
    n_frames: int = 32,
    *,
    min_frames: int = 2,
    time_limit_s: float | None = 120.0,
    max_bytes: int | None = None,
    backend: str = "auto",
) -> SampledFrames:
    """Decode ``n_frames`` evenly spaced frames of a video.

    Args:
        path: video file.
        n_frames: frames to sample (all frames when the video has fewer).
        min_frames: fewer decodable frames than this raises :class:`TooFewFramesError`.
        time_limit_s: wall-clock limit for probing + decoding; ``None`` disables it.
        max_bytes: refuse larger files with :class:`FileTooLargeError`.
        backend: ``"auto"`` (decord, then PyAV), ``"decord"`` or ``"pyav"``.

    Returns:
        :class:`SampledFrames` with the exact frame indices and timestamps decoded.
    """
    t0 = time.perf_counter()
    stream = stream_frames(path, n_frames, min_frames=min_frames, time_limit_s=time_limit_s,
                           max_bytes=max_bytes, backend=backend)  # fmt: skip
    chunks = list(stream)
    if not chunks:  # only reachable with min_frames=0
        empty = np.zeros(0)
        return SampledFrames(np.zeros((0, 0, 0, 3), np.uint8), empty.astype(np.int64), empty,
                             stream.info, stream.backend, time.perf_counter() - t0)  # fmt: skip
    order = np.argsort(np.concatenate([c[1] for c in chunks]), kind="stable")
    return SampledFrames(
        frames=np.concatenate([c[0] for c in chunks])[order],
        indices=np.concatenate([c[1] for c in chunks]).astype(np.int64)[order],
        timestamps_s=np.concatenate([c[2] for c in chunks]).astype(np.float64)[order],
        info=stream.info,
        backend=stream.backend,
        decode_seconds=time.perf_counter() - t0,
        warnings=stream.warnings,
    )


def _with_count(info: VideoInfo, count: int) -> VideoInfo:
    d = dict(info.__dict__)
    d["frame_count"] = count
    if info.fps > 0:
        d["duration_s"] = count / info.fps
    return VideoInfo(**d)


def _count_frames(path: str, deadline: _Deadline) -> int:
    import av

    n = 0
    with av.open(path) as container:
        for packet in container.demux(container.streams.video[0]):
            if packet.size:
                n += 1
            if n % 256 == 0:
                deadline.check()
    return n


def media_status(exc: BaseException) -> str:
    """The results-table status of an exception raised while reading media."""
    return exc.status if isinstance(exc, MediaError) else "error"


__all__ = [
    "FrameStream",
    "SampledFrames",
    "VideoInfo",
    "file_sha256",
    "media_status",
    "probe_video",
    "read_frames",
    "sample_indices",
    "stream_frames",
    "with_neighbours",
]
