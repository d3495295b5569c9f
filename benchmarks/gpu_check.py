"""GPU check: TensorRT and eager CUDA runtimes against eager FP32, on one GPU, in < 10 min.

Installs nothing: it needs the project's environment plus ``torch-tensorrt==2.14.0`` (the
``gpu`` extra) on a CUDA machine; without torch-tensorrt it still checks the eager CUDA runtimes
and says so. Run: ``python -m benchmarks.gpu_check [--videos DIR] [--b4] [--budget-s 540]``.

1. Environment: torch, CUDA, GPU name and compute capability, torch-tensorrt version.
2. Real face crops: the shared dev clips (``../shared/data/dev``) through the ingest core
   (decord + MediaPipe on CPU), else photos from scikit-image.
3. Accuracy: TensorRT FP16 and FP32 engines (dynamic batch 1..256) vs eager FP32 embeddings:
   cosine per crop (target >= 0.999 for every crop), and the error of the paired vectors
   (``(a-b)^2``, L2-normalised) the anomaly model sees. Compile and cache-reload times.
4. Throughput, crops/s at batch 64 and 256: eager FP32, eager FP16 (autocast), TensorRT FP16
   (and FP32), engine only (input already on the GPU) and the runtime's ``embed`` from uint8.
   Target: TensorRT FP16 >= 5,000 crops/s at 224 px and >= 2x eager FP16.
5. End to end: every dev clip scored on the GPU runtime (pairs, GMM fit on half the real clips,
   scores for the rest and the fakes), TensorRT FP16 vs eager FP32 scores and ROC-AUC. The AUC is
   in-domain with ImageNet weights: a smoke figure for the GPU path, not a detection result.

Sections stop when ``--budget-s`` is spent (the rest print as skipped).
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import importlib.util
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import torch

from benchmarks.bench_ingest import SHARED_DEV
from difffake_core import runtime as R
from difffake_core.detector import PairSettings, l2_normalise, video_pairs
from difffake_core.embedding import prepare_crops
from difffake_core.models.backbones import create_extractor

BATCHES = (64, 256)


class Clock:
    def __init__(self, budget_s: float) -> None:
        self.start, self.budget_s = time.perf_counter(), budget_s

    def left(self) -> float:
        return self.budget_s - (time.perf_counter() - self.start)

    def stamp(self) -> str:
        return f"[{time.perf_counter() - self.start:6.1f} s]"


def environment() -> dict:
    info = {"torch": torch.__version__, "cuda_build": torch.version.cuda}
    info["cuda"] = torch.cuda.is_available()
    if info["cuda"]:
        info["gpu"] = R.gpu_identity("cuda:0")
        info["memory_gib"] = torch.cuda.get_device_properties(0).total_memory / 2**30
    if importlib.util.find_spec("torch_tensorrt") is not None:
        import torch_tensorrt

        info["torch_tensorrt"] = torch_tensorrt.__version__
    else:
        info["torch_tensorrt"] = None
    return info


def dev_videos(folder: Path | None) -> list[tuple[str, int]]:
    """``(path, label)`` with label 1 = fake."""
    root = folder or SHARED_DEV
    out = [(str(p), 0) for p in sorted((root / "real").glob("*.mp4"))]
    out += [(str(p), 1) for p in sorted((root / "fake").glob("*.mp4"))]
    return out


def ingest(videos: list[tuple[str, int]], frames: int) -> list[dict]:
    """Face crops of each clip (CPU: decord + MediaPipe, one analyzer per thread)."""
    from difffake_core.faces.analyzer import FaceAnalyzer
    from difffake_core.ingest import IngestParams, process_video
    from difffake_core.video import file_sha256

    params = IngestParams(n_frames=frames)
    local, made, lock = threading.local(), [], threading.Lock()

    def one(item):
        path, label = item
        if not hasattr(local, "analyzer"):
            local.analyzer = FaceAnalyzer(max_faces=params.max_faces)
            with lock:
                made.append(local.analyzer)
        rows = [r for r in process_video(path, params, local.analyzer).rows if r.status == "ok"]
        return {
            "path": path,
            "label": label,
            "key": file_sha256(path),
            "crops": prepare_crops([r.crop for r in rows], 224),
            "frames": np.array([r.frame_index for r in rows], np.int64),
            "tracks": np.array([r.track_id for r in rows], np.int64),
        }

    workers = min(8, max(1, (torch.get_num_threads() or 2) // 2))
    with cf.ThreadPoolExecutor(workers) as pool:
        clips = list(pool.map(one, videos))
    for analyzer in made:
        analyzer.close()
    return [c for c in clips if len(c["crops"]) >= 2]


def photo_crops(n: int = 64) -> np.ndarray:
    import cv2
    from skimage import data

    photos = [data.astronaut(), data.chelsea(), data.coffee(), data.rocket(), data.cat()]
    rng = np.random.default_rng(0)
    out = []
    for i in range(n):
        im = photos[i % len(photos)]
        h, w = im.shape[:2]
        y, x = rng.integers(0, h // 4), rng.integers(0, w // 4)
        out.append(cv2.resize(im[y : y + 3 * h // 4, x : x + 3 * w // 4], (224, 224)))
    return np.stack(out)


def cosine_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sum(l2_normalise(a) * l2_normalise(b), axis=1)


def pair_error(clips: list[dict], ref: list[np.ndarray], test: list[np.ndarray]) -> dict:
    settings, errs, cos = PairSettings(), [], []
    for clip, a, b in zip(clips, ref, test, strict=True):
        pa = video_pairs(clip["key"], clip["frames"], clip["tracks"], a, settings).vectors
        pb = video_pairs(clip["key"], clip["frames"], clip["tracks"], b, settings).vectors
        if len(pa):
            errs.append(np.abs(pa - pb).max())
            cos.append(cosine_rows(pa, pb).min())
    return {"max_abs": float(max(errs)), "min_cosine": float(min(cos))} if errs else {}


def engine_rate(fn, x: torch.Tensor, seconds: float = 3.0) -> float:
    """crops/s of ``fn`` on a batch already on the GPU (synchronised)."""
    with torch.inference_mode():
        for _ in range(3):
            fn(x)
        torch.cuda.synchronize()
        n, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            fn(x)
            n += 1
        torch.cuda.synchronize()
        return n * x.shape[0] / (time.perf_counter() - t0)


def runtime_rate(rt, crops: np.ndarray, seconds: float = 3.0) -> float:
    """crops/s of ``rt.embed`` from uint8 on the host (preprocess + copy + engine + copy back)."""
    rt.embed(crops)
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        rt.embed(crops)
        n += 1
    return n * len(crops) / (time.perf_counter() - t0)


def tile(crops: np.ndarray, n: int) -> np.ndarray:
    return crops[np.arange(n) % len(crops)]


def fit_and_score(clips: list[dict], vectors: list[np.ndarray]) -> tuple[np.ndarray, float]:
    """GMM on pairs of the even-indexed real clips; mean log-likelihood of the others."""
    from sklearn.metrics import roc_auc_score

    from difffake_core.anomaly import create_anomaly_model

    settings = PairSettings()
    pairs = [
        video_pairs(c["key"], c["frames"], c["tracks"], v, settings).vectors
        for c, v in zip(clips, vectors, strict=True)
    ]
    reals = [i for i, c in enumerate(clips) if c["label"] == 0]
    train = set(reals[::2])
    model = create_anomaly_model("gmm").fit(np.concatenate([pairs[i] for i in train]))
    held = [i for i in range(len(clips)) if i not in train and len(pairs[i])]
    scores = np.array([-model.score_samples(pairs[i]).mean() for i in held])
    labels = np.array([clips[i]["label"] for i in held])
    auc = roc_auc_score(labels, scores) if len(set(labels)) == 2 else float("nan")
    return scores, float(auc)


def check_backbone(name, weights, crops, clips, clock, have_trt, engine_dir, out):
    print(f"\n== {name} ({weights} weights) ==", flush=True)
    model = create_extractor(name, weights=weights).eval()
    size = model.input_size
    crops = prepare_crops(list(crops), size) if crops.shape[1] != size else crops
    eager32 = R.TorchRuntime(model, device="cuda:0", batch_size=256)
    eager16 = R.CudaRuntime(model, fp16=True, batch_size=256)
    ref = eager32.embed(crops)
    rts = {"eager fp32": eager32, "eager fp16": eager16}
    if have_trt:
        for fp16 in (True, False):
            label = f"TensorRT {'fp16' if fp16 else 'fp32'}"
            if clock.left() < 90:
                print(f"  {label}: skipped (budget)")
                continue
            t0 = time.perf_counter()
            try:
                rt = R.TensorRTRuntime(model, fp16=fp16, engine_dir=engine_dir)
            except Exception as exc:
                print(f"  {label}: COMPILE FAILED: {type(exc).__name__}: {exc}")
                out["failures"].append(f"{name} {label} compile: {exc}")
                continue
            built = time.perf_counter() - t0
            t0 = time.perf_counter()
            again = R.TensorRTRuntime(model, fp16=fp16, engine_dir=engine_dir)
            loaded = time.perf_counter() - t0
            same = np.allclose(again.embed(crops[:32]), rt.embed(crops[:32]), atol=1e-3)
            print(
                f"  {clock.stamp()} {label}: built in {built:.1f} s; reloaded from "
                f"{'cache' if again.loaded_from_cache else 'a REBUILD'} in {loaded:.1f} s "
                f"({'same' if same else 'DIFFERENT'} embeddings)"
            )
            rts[label] = rt
    for label, rt in rts.items():
        if label == "eager fp32":
            continue
        cos = cosine_rows(ref, rt.embed(crops))
        ok = cos.min() >= 0.999
        print(
            f"  {label} vs eager fp32 over {len(crops)} crops: cosine min {cos.min():.5f} "
            f"p1 {np.percentile(cos, 1):.5f} mean {cos.mean():.5f} "
            f"{'(>= 0.999: ok)' if ok else '(BELOW 0.999)'}"
        )
        if not ok:
            out["failures"].append(f"{name} {label} cosine {cos.min():.5f}")
        if clips:
            per_clip_ref = [eager32.embed(c["crops"]) for c in clips]
            per_clip = [rt.embed(c["crops"]) for c in clips]
            err = pair_error(clips, per_clip_ref, per_clip)
            print(
                f"    pair vectors ((a-b)^2, L2-normalised): max abs error "
                f"{err.get('max_abs', float('nan')):.2e}, min cosine "
                f"{err.get('min_cosine', float('nan')):.5f}"
            )
    print(f"  throughput, crops/s at {size} px (engine only | runtime.embed from uint8):")
    rates = {}
    for batch in BATCHES:
        x = model.preprocess(tile(crops, batch)).cuda()
        x_cl = x.contiguous(memory_format=torch.channels_last)
        host = tile(crops, batch)
        for label, rt in rts.items():
            if clock.left() < 20:
                print(f"    {label} @ {batch}: skipped (budget)")
                continue
            fn = rt._fn
            if isinstance(rt, R.CudaRuntime):

                def fn(t, rt=rt):
                    with torch.autocast("cuda", dtype=torch.float16):
                        return rt._fn(t)

            engine = engine_rate(fn, x if label.startswith("TensorRT") else x_cl)
            full = runtime_rate(rt, host)
            rates[(label, batch)] = engine
            print(f"    {label:<14} @ {batch:3d}: {engine:9.0f} | {full:9.0f}")
    for batch in BATCHES:
        trt, e16 = rates.get(("TensorRT fp16", batch)), rates.get(("eager fp16", batch))
        if trt and e16:
            print(
                f"  batch {batch}: TensorRT fp16 {trt:.0f} crops/s (target >= 5000: "
                f"{'met' if trt >= 5000 else 'NOT met'}), {trt / e16:.2f}x eager fp16 "
                f"(target >= 2x: {'met' if trt >= 2 * e16 else 'NOT met'})"
            )
    return rts


def end_to_end(clips, rts, clock):
    if not clips or clock.left() < 30:
        print("\n== end to end: skipped (no clips or budget) ==")
        return
    print(f"\n== end to end: {len(clips)} dev clips scored on the GPU ==")
    results = {}
    for label in ("eager fp32", "TensorRT fp16", "eager fp16"):
        if label not in rts:
            continue
        t0 = time.perf_counter()
        vectors = [rts[label].embed(c["crops"]) for c in clips]
        embed_s = time.perf_counter() - t0
        scores, auc = fit_and_score(clips, vectors)
        results[label] = scores
        crops = sum(len(c["crops"]) for c in clips)
        print(
            f"  {label:<14}: embed {crops} crops in {embed_s:.2f} s, "
            f"in-domain ROC-AUC {auc:.3f} (smoke figure, ImageNet weights)"
        )
    if "TensorRT fp16" in results:
        diff = np.abs(results["TensorRT fp16"] - results["eager fp32"])
        print(f"  |score TensorRT fp16 - eager fp32|: max {diff.max():.3e}, mean {diff.mean():.3e}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--videos", type=Path, help="folder with real/ and fake/ clips")
    ap.add_argument("--frames", type=int, default=16, help="frames sampled per clip")
    ap.add_argument("--b4", action="store_true", help="also EfficientNet-B4 (random weights)")
    ap.add_argument("--budget-s", type=float, default=540.0)
    args = ap.parse_args(argv)
    clock = Clock(args.budget_s)
    info = environment()
    print("environment:", ", ".join(f"{k}={v}" for k, v in info.items()), flush=True)
    if not info["cuda"]:
        print("no CUDA device: nothing to check here (the CPU runtimes have their own tests)")
        return 2
    torch.backends.cudnn.benchmark = True
    have_trt = info["torch_tensorrt"] is not None
    if not have_trt:
        print("torch-tensorrt is not installed: only the eager CUDA runtimes are checked")
    out = {"failures": []}
    videos = dev_videos(args.videos)
    clips = []
    if videos:
        t0 = time.perf_counter()
        clips = ingest(videos, args.frames)
        n = sum(len(c["crops"]) for c in clips)
        print(f"{clock.stamp()} ingested {len(clips)} clips, {n} face crops, in "
              f"{time.perf_counter() - t0:.1f} s (CPU)")  # fmt: skip
        crops = np.concatenate([c["crops"] for c in clips])
    else:
        print("no dev clips: photos from scikit-image instead (end-to-end section skipped)")
        crops = photo_crops()
    with tempfile.TemporaryDirectory(prefix="difffake-trt-") as engine_dir:
        rts = check_backbone(
            "efficientnet_lite0", "default", crops, clips, clock, have_trt, engine_dir, out
        )
        end_to_end(clips, rts, clock)
        if args.b4 and clock.left() > 120:
            check_backbone(
                "tf_efficientnet_b4.ap_in1k", "none", crops, [], clock, have_trt, engine_dir, out
            )
    print(f"\n{clock.stamp()} done; failures: {out['failures'] or 'none'}")
    return 1 if out["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
