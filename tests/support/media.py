"""Synthetic test media built from real face photos that ship with scikit-image."""

from __future__ import annotations

import math
from pathlib import Path

import av
import cv2
import numpy as np
import skimage.data


def astronaut() -> np.ndarray:
    """512x512 RGB portrait (a real photo of a real face)."""
    return skimage.data.astronaut()


def faceless() -> np.ndarray:
    """A real photo with no face in it (coffee cup), 400x600 RGB."""
    return skimage.data.coffee()


def moving_frames(
    image: np.ndarray,
    n: int,
    size: tuple[int, int] = (320, 240),
    seed: int = 0,
    zoom: float = 1.0,
) -> list[np.ndarray]:
    """Frames of ``image`` with camera motion (pan, zoom, small rotation) and light changes.

    ``size`` is (width, height). Returns RGB uint8 frames.
    """
    rng = np.random.default_rng(seed)
    h, w = image.shape[:2]
    out_w, out_h = size
    frames = []
    phase = rng.uniform(0, 2 * math.pi)
    for t in range(n):
        a = 2 * math.pi * t / max(n, 1) + phase
        scale = zoom * (out_h / h) * (1.0 + 0.06 * math.sin(a))
        angle = 3.0 * math.sin(0.7 * a)
        m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, scale)
        m[0, 2] += out_w / 2 - w / 2 + 8 * math.cos(a)
        m[1, 2] += out_h / 2 - h / 2 + 5 * math.sin(a)
        frame = cv2.warpAffine(image, m, (out_w, out_h), borderMode=cv2.BORDER_REFLECT)
        gain = 1.0 + 0.15 * math.sin(1.3 * a)
        frame = np.clip(frame.astype(np.float32) * gain + rng.normal(0, 2, frame.shape), 0, 255)
        frames.append(frame.astype(np.uint8))
    return frames


def write_video(
    path: str | Path,
    frames: list[np.ndarray],
    fps: int = 25,
    codec: str = "libx264",
    crf: int = 23,
    faststart: bool = False,
) -> Path:
    """Encode RGB frames (H and W even) with PyAV."""
    path = Path(path)
    h, w = frames[0].shape[:2]
    options = {"movflags": "faststart"} if faststart else {}
    with av.open(str(path), "w", options=options) as container:
        stream = container.add_stream(codec, rate=fps)
        stream.width, stream.height = w, h
        stream.pix_fmt = "yuv420p"
        if codec == "libx264":
            stream.options = {"crf": str(crf), "preset": "veryfast"}
        for f in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def write_audio_only(path: str | Path, seconds: float = 1.0) -> Path:
    path = Path(path)
    rate = 16000
    with av.open(str(path), "w") as container:
        stream = container.add_stream("aac", rate=rate)
        t = np.arange(int(rate * seconds)) / rate
        samples = (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
        for start in range(0, len(samples), 1024):
            chunk = samples[start : start + 1024][None, :]
            frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="mono")
            frame.sample_rate = rate
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def make_bad_files(folder: str | Path, good_video: Path) -> dict[str, Path]:
    """Files every ingest must survive, keyed by the status they should get."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    data = Path(good_video).read_bytes()
    files = {}
    files["empty_file"] = folder / "empty.mp4"
    files["empty_file"].write_bytes(b"")
    files["corrupt_truncated"] = folder / "truncated.mp4"  # moov atom lost
    files["corrupt_truncated"].write_bytes(data[: len(data) // 3])
    files["corrupt_garbage"] = folder / "garbage.mp4"  # ftyp header, then noise
    rng = np.random.default_rng(1)
    files["corrupt_garbage"].write_bytes(data[:32] + rng.bytes(20000))
    files["not_a_video"] = folder / "notes.mp4"
    files["not_a_video"].write_text("this is a text file, not a video\n")
    files["audio_only"] = write_audio_only(folder / "audio.m4a")
    files["too_few_frames"] = write_video(folder / "one_frame.mp4", moving_frames(astronaut(), 1))
    return files
