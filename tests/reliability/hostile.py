"""Hostile media and helpers the reliability tests share (and run in worker processes)."""

from __future__ import annotations

import os
import signal
import struct
from pathlib import Path

import av
import numpy as np

FRAMES_CLAIMED = 0x7FFFFFFF


def write_avi(path: str | Path, frames: list[np.ndarray], fps: int = 25) -> Path:
    """A valid small AVI (MPEG-4 Part 2) of RGB ``frames``."""
    with av.open(str(path), "w", format="avi") as container:
        stream = container.add_stream("mpeg4", rate=fps)
        stream.width, stream.height = frames[0].shape[1], frames[0].shape[0]
        stream.pix_fmt = "yuv420p"
        for f in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return Path(path)


def claim_frames(path: str | Path, n: int = FRAMES_CLAIMED) -> Path:
    """Patch an AVI's headers to claim ``n`` frames: ``avih.dwTotalFrames`` and the video
    ``strh.dwLength`` (the frames themselves stay valid)."""
    data = bytearray(Path(path).read_bytes())
    avih = data.find(b"avih")
    strh = data.find(b"strh")
    assert avih > 0 and strh > 0, "not an AVI"
    struct.pack_into("<I", data, avih + 8 + 16, n)  # chunk id + size, then 4 DWORDs
    struct.pack_into("<I", data, strh + 8 + 32, n)  # fccType, fccHandler, 4 fields, dwStart
    Path(path).write_bytes(bytes(data))
    return Path(path)


def decord_frame_count(path: str) -> int:
    """What today's ingest did first: open with decord (trusts the header's frame count)."""
    import decord

    return len(decord.VideoReader(path, ctx=decord.cpu(0), num_threads=1))


def kill_self(sig: int) -> None:
    """Die by ``sig`` (a native crash stand-in that needs no bug)."""
    os.kill(os.getpid(), sig)


def exit_at_start(conn, parent: int, stderr_path: str) -> None:
    """A worker child that dies before it is ready (as one whose bootstrap fails)."""
    os._exit(3)


def hang_at_start(conn, parent: int, stderr_path: str) -> None:
    """A worker child that never says it is ready."""
    import time

    time.sleep(120)


def sleep_then(seconds: float) -> float:
    import time

    time.sleep(seconds)
    return seconds


__all__ = ["claim_frames", "decord_frame_count", "kill_self", "signal", "sleep_then", "write_avi"]


def make_test_detector(folder: str | Path, n_frames: int = 6) -> Path:
    """A small fused detector folder (``pairs`` signal only) whose extractor is a randomly
    initialised Lite0 at 128 px and whose anomaly model is fitted on random embeddings:
    meaningless scores, but every file and code path of a real detector, built in seconds."""
    from difffake_core.detector import PairSettings
    from difffake_core.detector_fit import FitSettings, fit_detector
    from difffake_core.ingest import IngestParams
    from difffake_core.models.backbones import create_extractor
    from difffake_core.signals import build_faceset
    from difffake_core.training.checkpoint import save_extractor

    folder = Path(folder)
    model = create_extractor("efficientnet_lite0", weights="none")
    model.input_size = 128
    ext = save_extractor(model, {"preset": "test"}, folder.parent / f"{folder.name}-extractor")
    rng = np.random.default_rng(0)

    def faces(i: int):
        frames = np.arange(n_frames, dtype=np.int64)
        vectors = rng.normal(size=(n_frames, model.embed_dim)).astype(np.float32)
        return build_faceset(f"v{i}", frames, np.zeros(n_frames, np.int64), vectors=vectors)

    settings = FitSettings(pairs=PairSettings(images_to_pair=2, min_pairs=2), signals=("pairs",),
                           min_calibration=2)  # fmt: skip
    card = {"ingest": IngestParams(n_frames=n_frames).as_dict()}
    fitted = fit_detector([faces(i) for i in range(12)], [faces(i) for i in range(12, 16)],
                          settings, card=card)  # fmt: skip
    fitted.detector.save(folder, extractor_dir=ext)
    return folder
