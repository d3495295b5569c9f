"""Scoring throughput against a reference-style pipeline, measured in the same run.

* ``pipeline``: difffake's scoring path (what ``score_video`` runs): decord batch decode,
  MediaPipe faces, batched embedding on the ONNX Runtime CPU runtime, pairs, anomaly model;
  two videos in flight (2 worker threads), as the flow runs them.
* ``reference``: the reference code's style: OpenCV seek per frame, the same face model,
  eager PyTorch one image at a time, sequential.
* ``embedding only``: the embedding step alone on the same crops (batched, ONNX).

Targets: pipeline >= 5x reference videos/min; whole pipeline within 1.25x of the time the
embedding step alone takes. Run: ``python -m benchmarks.bench_scoring [--videos DIR]``.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

import cv2
import numpy as np
import torch

from benchmarks.bench_ingest import default_videos
from difffake_core.anomaly import create_anomaly_model
from difffake_core.detector import Detector, PairSettings
from difffake_core.embedding import embed_crops, prepare_crops
from difffake_core.faces.analyzer import FaceAnalyzer
from difffake_core.faces.crop import crop_face
from difffake_core.ingest import IngestParams, process_video
from difffake_core.models.backbones import create_extractor
from difffake_core.runtime import create_runtime
from difffake_core.video import file_sha256, sample_indices


def make_detector(dim: int, rng: np.random.Generator) -> Detector:
    """A detector whose anomaly model is fit on structured random vectors (timing only)."""
    basis = rng.normal(size=(16, dim))
    x = (rng.normal(size=(600, 16)) @ basis + 0.1 * rng.normal(size=(600, dim))) ** 2
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    model = create_anomaly_model("pca_gmm", pca_components=32).fit(x)
    return Detector(anomaly=model, threshold=0.0, pairs=PairSettings())


def run_pipeline(videos, params, detector, runtime, size, workers=2) -> dict:
    local = threading.local()
    stages: dict[str, float] = defaultdict(float)
    lock = threading.Lock()
    analyzers = []

    def one(path: str) -> list:
        if not hasattr(local, "a"):
            local.a = FaceAnalyzer(max_faces=params.max_faces)
            with lock:
                analyzers.append(local.a)
        t0 = time.perf_counter()
        sha = file_sha256(path)
        vf = process_video(path, params, local.a)
        faces = [r for r in vf.rows if r.status == "ok"]
        t1 = time.perf_counter()
        vectors = embed_crops(runtime, [r.crop for r in faces], size)
        t2 = time.perf_counter()
        detector.score_embeddings(
            sha, np.array([r.frame_index for r in faces]), np.array([r.track_id for r in faces]),
            vectors,
        )  # fmt: skip
        t3 = time.perf_counter()
        with lock:
            stages["decode"] += vf.seconds.get("decode", 0.0)
            stages["faces+crop"] += vf.seconds.get("faces", 0.0)
            stages["embed"] += t2 - t1
            stages["pairs+score"] += t3 - t2
            stages["hash+other"] += (t1 - t0) - sum(vf.seconds.values())
        return [r.crop for r in faces]

    with cf.ThreadPoolExecutor(workers) as pool:
        list(pool.map(one, videos[:workers]))  # warm-up: graphs, ONNX session
        stages.clear()
        t0 = time.perf_counter()
        crops = [c for cs in pool.map(one, videos) for c in cs]
        seconds = time.perf_counter() - t0
    for a in analyzers:
        a.close()
    return {"seconds": seconds, "videos": len(videos), "stages": dict(stages), "crops": crops}


def run_reference(videos, params, detector, model, size) -> dict:
    with FaceAnalyzer(max_faces=params.max_faces) as analyzer, torch.inference_mode():
        analyzer.analyze(np.zeros((64, 64, 3), np.uint8))
        t0 = time.perf_counter()
        for path in videos:
            cap = cv2.VideoCapture(path)
            count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
            vectors, frames = [], []
            for idx in sample_indices(count, params.n_frames):
                cap.set(cv2.CAP_PROP_POS_FRAMES, int(idx))
                ok, bgr = cap.read()
                if not ok:
                    continue
                frame = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
                faces, _ = analyzer.analyze(frame)
                if not faces:
                    continue
                crop = crop_face(frame, faces[0].box, faces[0].landmarks68, size)
                x = model.preprocess(crop.image[None])
                vectors.append(model.embed(x)[0].numpy())
                frames.append(int(idx))
            cap.release()
            detector.score_embeddings(
                file_sha256(path), np.array(frames), np.zeros(len(frames), int), np.array(vectors)
            )
        seconds = time.perf_counter() - t0
    return {"seconds": seconds, "videos": len(videos)}


def run(videos: list[str] | None = None, frames: int = 32, print_fn=print) -> dict:
    videos = videos or default_videos(10)
    params = IngestParams(n_frames=frames)
    rng = np.random.default_rng(0)
    model = create_extractor("efficientnet_lite0", weights="default").eval()
    size = model.input_size
    detector = make_detector(model.embed_dim, rng)
    with tempfile.TemporaryDirectory() as tmp:
        runtime = create_runtime("onnx", model=model, onnx_path=Path(tmp) / "embed.onnx")
        pipe = run_pipeline(videos, params, detector, runtime, size)
        crops = pipe.pop("crops")
        batch = prepare_crops(crops[:32], size)
        runtime.embed(batch)
        t0 = time.perf_counter()
        embed_crops(runtime, crops, size)
        embed_only = time.perf_counter() - t0
    ref = run_reference(videos, params, detector, model, size)
    vpm = {k: 60 * r["videos"] / r["seconds"] for k, r in (("pipeline", pipe), ("reference", ref))}
    print_fn(f"scoring benchmark: {len(videos)} videos x {frames} frames, CPU, ONNX runtime")
    print_fn(f"  pipeline   {pipe['seconds']:7.2f} s  {vpm['pipeline']:6.1f} videos/min")
    print_fn(f"  reference  {ref['seconds']:7.2f} s  {vpm['reference']:6.1f} videos/min")
    print_fn(f"  embedding step alone ({len(crops)} crops, batched): {embed_only:.2f} s")
    print_fn("  stage seconds (summed over worker threads):")
    for k, v in pipe["stages"].items():
        print_fn(f"    {k:<12} {v:7.2f}")
    speedup = vpm["pipeline"] / vpm["reference"]
    ratio = pipe["seconds"] / embed_only
    print_fn(f"  pipeline vs reference: {speedup:.2f}x (target >= 5x)")
    print_fn(f"  whole scoring run / embedding step alone: {ratio:.2f} (target <= 1.25)")
    return {"videos_per_min": vpm, "speedup": speedup, "ratio_to_embedding": ratio,
            "stages": pipe["stages"], "embed_only_s": embed_only}  # fmt: skip


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--videos", help="folder of videos (default: shared dev reals or synthetic)")
    ap.add_argument("--frames", type=int, default=32)
    ap.add_argument("--limit", type=int, default=10)
    a = ap.parse_args()
    vids = sorted(str(p) for p in Path(a.videos).rglob("*.mp4"))[: a.limit] if a.videos else None
    run(vids or default_videos(a.limit), a.frames)
