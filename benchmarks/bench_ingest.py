"""Ingest throughput (decode + face + crop) against a reference-style baseline, same run.

* ``pipeline``: difffake's ingest core: decord batch decoding of the sampled frames, MediaPipe
  detection + landmarks, crops encoded into one Parquet part per video; 2 worker threads.
* ``pipeline_1w``: the same with one worker, to compare with the face model alone.
* ``face_model``: the face stage alone on frames already in memory (one thread).
* ``reference``: the reference code's style: OpenCV seek to each frame (``CAP_PROP_POS_FRAMES``)
  one frame at a time, the same face model, each crop and its landmarks written as separate
  files. Sequential.

Targets: pipeline >= 3x reference; pipeline_1w within 1.25x of the face model's own time.
Run: ``python -m benchmarks.bench_ingest [--videos DIR] [--frames 32]``.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import tempfile
import threading
import time
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


def default_videos(limit: int) -> list[str]:
    if (SHARED_DEV / "real").is_dir():
        return sorted(str(p) for p in (SHARED_DEV / "real").glob("*.mp4"))[:limit]
    from tests.support.media import astronaut, moving_frames, write_video

    folder = Path(tempfile.mkdtemp(prefix="bench-videos-"))
    return [
        str(write_video(folder / f"v{i}.mp4", moving_frames(astronaut(), 150, (480, 270), seed=i)))
        for i in range(limit)
    ]


def run_pipeline(videos: list[str], params: IngestParams, workers: int, out: Path) -> dict:
    local = threading.local()
    analyzers: list[FaceAnalyzer] = []
    lock = threading.Lock()

    def one(path: str) -> int:
        if not hasattr(local, "a"):
            local.a = FaceAnalyzer(max_faces=params.max_faces)
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
    with FaceAnalyzer(max_faces=params.max_faces) as analyzer:
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
    with FaceAnalyzer(max_faces=params.max_faces) as analyzer:
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


def run(videos: list[str] | None = None, frames: int = 32, print_fn=print) -> dict:
    videos = videos or default_videos(10)
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
    print_fn(
        f"  one-worker pipeline time / face-model time: {overhead:.2f} (target <= 1.25)"
    )
    results["speedup_vs_reference"] = speedup
    results["overhead_vs_face_model"] = overhead
    return results


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--videos", help="folder of videos (default: shared dev reals or synthetic)")
    ap.add_argument("--frames", type=int, default=32)
    ap.add_argument("--limit", type=int, default=10)
    a = ap.parse_args()
    vids = sorted(str(p) for p in Path(a.videos).rglob("*.mp4"))[: a.limit] if a.videos else None
    run(vids or default_videos(a.limit), a.frames)
