"""Ingest throughput (decode + face + crop) against a reference-style baseline, same run.

* ``pipeline``: difffake's ingest core: decord batch decoding of the sampled frames, MediaPipe
  detection + landmarks, crops encoded into one Parquet part per video; 2 worker threads.
* ``pipeline_1w``: the same with one worker, to compare with the face model alone.
* ``face_model``: the face stage alone on frames already in memory (one thread).
* ``reference``: the reference code's style: OpenCV seek to each frame (``CAP_PROP_POS_FRAMES``)
  one frame at a time, the same face model, each crop and its landmarks written as separate
  files. Sequential.
* ``tiling_off`` / ``tiling_auto``: the one-worker pipeline before and after the tiled small-face
  pass (``IngestParams(tiling="off")`` vs the default ``"auto"``), run alternately video by
  video in the same process so that machine load hits both alike.

Targets: pipeline >= 3x reference; pipeline_1w within 1.25x of the face model's own time;
tiling_auto time per frame <= 2x tiling_off on talking-head footage.
Run: ``python -m benchmarks.bench_ingest [--videos DIR] [--frames 32] [--hd]`` (``--hd``: synthetic
1920x1080 close-up talking heads instead of the shared dev clips); ``--scenes``: tiling off vs
auto on 1080p scenes (close-up, medium shot, distant person, two people, empty room).
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from difffake_core.faces.analyzer import FaceAnalyzer
from difffake_core.faces.crop import crop_face
from difffake_core.ingest import IngestParams, process_video
from difffake_core.video import read_frames, sample_indices

SHARED_DEV = Path(__file__).resolve().parents[2] / "shared" / "data" / "dev"


def default_videos(limit: int, hd: bool = False) -> list[str]:
    if (SHARED_DEV / "real").is_dir() and not hd:
        return sorted(str(p) for p in (SHARED_DEV / "real").glob("*.mp4"))[:limit]
    from tests.support.media import astronaut, moving_frames, write_video

    folder = Path(tempfile.mkdtemp(prefix="bench-videos-"))
    if hd:
        return [str(write_video(folder / f"hd{i}.mp4", hd_talking_head(i))) for i in range(limit)]
    return [
        str(write_video(folder / f"v{i}.mp4", moving_frames(astronaut(), 150, (480, 270), seed=i)))
        for i in range(limit)
    ]


def hd_talking_head(seed: int, n: int = 150, face_px: float = 430.0) -> list[np.ndarray]:
    """1920x1080 close-up: the astronaut's face ~430 px (40% of the height), swaying slowly."""
    from tests.support.media import astronaut, place_face, scene_background

    photo = astronaut()
    with FaceAnalyzer(tiling="off") as analyzer:
        box = analyzer.analyze(photo)[0][0].box
    background = scene_background("coffee")
    rng = np.random.default_rng(seed)
    phase = rng.uniform(0, 2 * np.pi)
    frames = []
    for t in range(n):
        a = 2 * np.pi * t / n + phase
        centre = (960 + 60 * np.sin(a), 520 + 20 * np.cos(1.3 * a))
        frames.append(
            place_face(background, photo, box, face_px * (1 + 0.05 * np.sin(a)), centre)[0]
        )
    return frames


def run_pipeline(videos: list[str], params: IngestParams, workers: int, out: Path) -> dict:
    local = threading.local()
    analyzers: list[FaceAnalyzer] = []
    lock = threading.Lock()

    def one(path: str) -> int:
        if not hasattr(local, "a"):
            local.a = FaceAnalyzer(**params.analyzer_kwargs())
            with lock:
                analyzers.append(local.a)
        vf = process_video(path, params, local.a)
        rows = [{"frame": r.frame_index, "crop": r.crop, "landmarks": r.landmarks} for r in vf.rows]
        pq.write_table(pa.Table.from_pylist(rows), out / f"{Path(path).stem}.parquet")
        return vf.frames_sampled

    # Start the graphs before timing (both implementations pay this once per process).
    with cf.ThreadPoolExecutor(workers) as pool:
        list(pool.map(lambda _: one(videos[0]), range(workers)))
        t0 = time.perf_counter()
        frames = sum(pool.map(one, videos))
        seconds = time.perf_counter() - t0
    for a in analyzers:
        a.close()
    return {"frames": frames, "seconds": seconds, "fps": frames / seconds}


def run_face_model(videos: list[str], params: IngestParams) -> dict:
    decoded = [read_frames(v, params.n_frames).frames for v in videos]
    with FaceAnalyzer(**params.analyzer_kwargs()) as analyzer:
        analyzer.analyze(decoded[0][0])
        t0 = time.perf_counter()
        n = 0
        for frames in decoded:
            for f in frames:
                analyzer.analyze(f)
                n += 1
        seconds = time.perf_counter() - t0
    return {"frames": n, "seconds": seconds, "fps": n / seconds}


def run_reference(videos: list[str], params: IngestParams, out: Path) -> dict:
    with FaceAnalyzer(**params.analyzer_kwargs()) as analyzer:
        analyzer.analyze(np.zeros((64, 64, 3), np.uint8))
        t0 = time.perf_counter()
        n = 0
        for path in videos:
            cap = cv2.VideoCapture(path)
            count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
            for idx in sample_indices(count, params.n_frames):
                cap.set(cv2.CAP_PROP_POS_FRAMES, int(idx))
                ok, bgr = cap.read()
                if not ok:
                    continue
                n += 1
                frame = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
                faces, _ = analyzer.analyze(frame)
                if not faces:
                    continue
                crop = crop_face(frame, faces[0].box, faces[0].landmarks68, params.crop_size)
                stem = out / f"{Path(path).stem}_{idx:05d}"
                cv2.imwrite(f"{stem}.png", cv2.cvtColor(crop.image, cv2.COLOR_RGB2BGR))
                np.save(f"{stem}.npy", crop.landmarks)
            cap.release()
        seconds = time.perf_counter() - t0
    return {"frames": n, "seconds": seconds, "fps": n / seconds}


def run_tiling(videos: list[str], params: IngestParams) -> dict:
    """One-worker ingest with tiling off and auto, alternating per video (same load on both)."""
    modes = {"tiling_off": "off", "tiling_auto": "auto"}
    analyzers = {
        name: FaceAnalyzer(**replace(params, tiling=mode).analyzer_kwargs())
        for name, mode in modes.items()
    }
    out = {name: {"frames": 0, "seconds": 0.0, "faces": 0} for name in modes}
    try:
        for name, mode in modes.items():  # start-up and first inference, untimed
            process_video(videos[0], replace(params, tiling=mode), analyzers[name])
        for i, path in enumerate(videos):
            order = list(modes.items()) if i % 2 == 0 else list(modes.items())[::-1]
            for name, mode in order:
                t0 = time.perf_counter()
                vf = process_video(path, replace(params, tiling=mode), analyzers[name])
                out[name]["seconds"] += time.perf_counter() - t0
                out[name]["frames"] += vf.frames_sampled
                out[name]["faces"] += vf.frames_with_face
    finally:
        for a in analyzers.values():
            a.close()
    for r in out.values():
        r["fps"] = r["frames"] / r["seconds"]
    return out


def scene_videos(folder: Path, n: int = 16) -> dict[str, str]:
    """1920x1080 scenes from real photos: a close-up (430 px face), a medium shot (220 px),
    a distant person (48 px), two people (160 and 120 px) and an empty room."""
    from tests.support.media import (
        astronaut,
        grace_hopper,
        place_face,
        scene_background,
        write_video,
    )

    with FaceAnalyzer(tiling="off") as analyzer:
        people = [(p, analyzer.analyze(p)[0][0].box) for p in (astronaut(), grace_hopper())]
    background = scene_background("coffee")
    plans = {
        "close_up": [(0, 430, 960)],
        "medium": [(0, 220, 900)],
        "distant": [(1, 48, 600)],
        "two_people": [(0, 160, 600), (1, 120, 1300)],
        "empty": [],
    }
    out = {}
    for name, plan in plans.items():
        frames = []
        for t in range(n):
            frame = background
            for who, size, x in plan:
                frame = place_face(frame, *people[who], size, (x + 4 * t, 500))[0]
            frames.append(frame)
        out[name] = str(write_video(folder / f"{name}.mp4", frames, crf=20))
    return out


def run_scenes(params: IngestParams, print_fn=print) -> dict:
    """Per-scene ingest time per frame and frames with a usable face, tiling off vs auto."""
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        videos = scene_videos(Path(tmp))
        for name, path in videos.items():
            results[name] = run_tiling([path, path], params)
    print_fn("  1920x1080 scenes: ms per frame (frames with a usable face), tiling off -> auto")
    for name, r in results.items():
        off, auto = r["tiling_off"], r["tiling_auto"]
        print_fn(
            f"    {name:<11} {1000 / off['fps']:6.1f} ms ({off['faces']:>2}) -> "
            f"{1000 / auto['fps']:6.1f} ms ({auto['faces']:>2})  x{off['fps'] / auto['fps']:.2f}"
        )
    return results


def run(
    videos: list[str] | None = None, frames: int = 32, print_fn=print, hd: bool = False
) -> dict:
    videos = videos or default_videos(10, hd)
    params = IngestParams(n_frames=frames)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for name in ("pipeline", "pipeline_1w", "reference"):
            (tmp / name).mkdir()
        results["face_model"] = run_face_model(videos, params)
        results["pipeline"] = run_pipeline(videos, params, 2, tmp / "pipeline")
        results["pipeline_1w"] = run_pipeline(videos, params, 1, tmp / "pipeline_1w")
        results["reference"] = run_reference(videos, params, tmp / "reference")
        results.update(run_tiling(videos, params))
    ref = results["reference"]["fps"]
    print_fn(f"ingest benchmark: {len(videos)} videos x {frames} sampled frames")
    for name, r in results.items():
        print_fn(
            f"  {name:<12} {r['frames']:>5} frames {r['seconds']:7.2f} s "
            f"{r['fps']:7.1f} frames/s  ({r['fps'] / ref:4.2f}x reference)"
        )
    speedup = results["pipeline"]["fps"] / ref
    overhead = results["face_model"]["fps"] / results["pipeline_1w"]["fps"]
    print_fn(f"  pipeline vs reference: {speedup:.2f}x (target >= 3x)")
    print_fn(f"  one-worker pipeline time / face-model time: {overhead:.2f} (target <= 1.25)")
    tiling_cost = results["tiling_off"]["fps"] / results["tiling_auto"]["fps"]
    print_fn(
        f"  tiling auto / off time per frame: {tiling_cost:.2f} (target <= 2); frames with a "
        f"usable face: {results['tiling_auto']['faces']} auto, {results['tiling_off']['faces']} off"
    )
    results["tiling_cost"] = tiling_cost
    results["speedup_vs_reference"] = speedup
    results["overhead_vs_face_model"] = overhead
    return results


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--videos", help="folder of videos (default: shared dev reals or synthetic)")
    ap.add_argument("--frames", type=int, default=32)
    ap.add_argument("--limit", type=int, default=10)
    ap.add_argument("--hd", action="store_true", help="synthetic 1920x1080 talking heads")
    ap.add_argument("--scenes", action="store_true", help="only the 1080p scenes, off vs auto")
    a = ap.parse_args()
    if a.scenes:
        run_scenes(IngestParams(n_frames=a.frames))
        raise SystemExit(0)
    vids = sorted(str(p) for p in Path(a.videos).rglob("*.mp4"))[: a.limit] if a.videos else None
    run(vids or default_videos(a.limit, a.hd), a.frames, hd=a.hd)
