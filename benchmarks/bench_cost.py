"""Scoring cost per video (process CPU-seconds by stage) and detection quality of two paths,
measured in the same run.

Paths (same videos, alternated video by video so machine load hits them alike):

* ``today``: the path before issue 12: faces detected on every frame
  (``IngestParams(face_tracking=False)``), crops encoded to PNG and decoded again for the
  extractor, fp32 ONNX runtime as it was: torch preprocessing, onnxruntime's default
  busy-waiting threads (:class:`BeforeRuntime`).
* ``tracked-before``: faces tracked between key frames (``face_tracking=True``), crops handed
  to the extractor as pixels (``process_video(..., encode=False)``), the same runtime.
* ``tracked-spin``: as ``tracked-before``, crops normalised in numpy
  (:func:`~difffake_core.runtime.onnx_input`), threads still spinning.
* ``tracked``: the runtime's defaults now: numpy normalisation, idle threads sleep.
* ``tracked-shared``: as ``tracked``, with the crops of ``--group`` videos embedded in shared
  batches (:class:`~difffake_core.embedding.SharedBatches`, what the scoring tasks do when
  several videos are in flight in one process); embed CPU is split evenly over the group.
* ``tracked-int8``: as ``tracked`` with the int8 model a detector carries
  (:func:`~difffake_core.quantization.quantize_extractor`, calibrated on crops drawn by
  :func:`~difffake_core.quantization.calibration_indices` from the real videos of *dev2*,
  never the scored clips), run from its stored bytes as ``--runtime int8-onnx`` does.
* ``tracked-int8-1t``: as ``tracked-int8`` with one onnxruntime thread (``threads=1``).
* ``today+nb`` / ``tracked+nb``: ``today`` and ``tracked`` with the frame next to each
  sampled frame decoded, analysed, cropped and embedded too (``neighbour_offsets=(1,)``),
  which is what scoring with a default detector does (``adjacent_pairs`` and the jitter
  features of ``landmark_dynamics`` use them). Their ratio is against ``today+nb``.

Cost is process CPU time (``time.process_time``: all threads of this process, so MediaPipe's
and onnxruntime's pools count), one video at a time, so it does not depend on how busy the
machine is the way wall time does (busy-waiting threads do: compare rows of one run only).
Quality: video AUC on ``data/dev`` and ``data/dev2``, each scored by an anomaly model
(``pca_gmm``) fitted on the fp32 real pairs of the *other* set (a detector fitted in fp32,
scoring with int8, as ``--runtime int8-onnx`` does), for every path; the int8 model of each
direction is calibrated on that other set's real crops, as ``retrain`` does. int8 agreement
with fp32 on the same crops: cosine per crop, relative error of the L2-normalised pair
vectors. Sampled frames with a usable face per face path.

Run: ``python -m benchmarks.bench_cost [--limit 10] [--frames 32] [--group 4] [--no-quality]``.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections import defaultdict
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.bench_ingest import SHARED_DEV, default_videos
from difffake_core.anomaly import create_anomaly_model
from difffake_core.detector import Detector, PairSettings, video_pairs
from difffake_core.embedding import SharedBatches, embed_crops
from difffake_core.faces.analyzer import FaceAnalyzer
from difffake_core.faces.crop import crop_face
from difffake_core.ingest import IngestParams, process_video
from difffake_core.metrics import binary_metrics
from difffake_core.models.backbones import create_extractor
from difffake_core.quantization import Int8Settings, calibration_indices, quantize_extractor
from difffake_core.runtime import OnnxInt8Runtime, create_runtime

SHARED_DEV2 = SHARED_DEV.parent / "dev2"
PATHS = ("today", "tracked", "tracked-int8")
BATCHES = (1, 4, 8, 32, 128)
NEIGHBOURS = (1,)  # the neighbour frames a default detector decodes (``default_ingest``)


def real_crops(root: Path, frames: int, limit: int | None = None) -> tuple[np.ndarray, list]:
    """Tracked usable crops of a shared set's videos ``(N, S, S, 3)`` and each row's
    ``(video, label)`` (``limit``: the first videos of each label only)."""
    table = corpus(root) if (root / "manifest.csv").is_file() else pd.DataFrame(
        columns=["path", "label"])  # fmt: skip
    if limit:
        table = table[table["label"] == "real"].head(limit)
    images, rows = [], []
    p = IngestParams(n_frames=frames)
    with FaceAnalyzer(**p.analyzer_kwargs()) as analyzer:
        for path, label in zip(table["path"], table["label"], strict=True):
            for r in process_video(path, p, analyzer, encode=False).rows:
                if r.status == "ok":
                    images.append(r.image)
                    rows.append((Path(path).stem, label))
    if not images:  # no shared clips: crops of the bundled test photos
        from tests.support.media import astronaut, grace_hopper

        with FaceAnalyzer(tiling="on") as analyzer:
            for k, photo in enumerate([astronaut(), grace_hopper()]):
                for face in analyzer.analyze(photo)[0]:
                    images.append(crop_face(photo, face.box, face.landmarks68, 224).image)
                    rows.append((f"photo{k}", "real"))
    return np.stack(images), rows


def int8_from(model, images: np.ndarray, rows: list, settings: Int8Settings):
    """The int8 model ``retrain`` would store, calibrated on the real rows of ``images``."""
    idx = calibration_indices([v for v, _ in rows], [lab for _, lab in rows], settings.crops,
                              settings.seed)  # fmt: skip
    return quantize_extractor(model, images[idx], "bench", settings)


class BeforeRuntime:
    """The fp32 ONNX runtime as it was before issue 12: torch preprocessing (its OpenMP
    pool) and onnxruntime's spinning threads (``spin=True``). Same embeddings."""

    name = "onnx-before"

    def __init__(self, runtime) -> None:
        self.runtime = runtime

    def embed(self, batch: np.ndarray) -> np.ndarray:
        rt = self.runtime
        out = [rt.session.run(["embeddings"], {"images": rt.model.preprocess(batch[s]).numpy()})[0]
               for s in (slice(i, i + rt.batch_size) for i in range(0, len(batch), rt.batch_size))]  # fmt: skip
        return np.concatenate(out) if out else np.zeros((0, rt.embed_dim), np.float32)


def make_runtimes(model, folder: Path, frames: int) -> dict:
    onnx = folder / "embed.onnx"
    images, rows = real_crops(SHARED_DEV2, frames, limit=8)
    int8 = int8_from(model, images, rows, Int8Settings())
    return {
        "fp32-before": BeforeRuntime(
            create_runtime("onnx", model=model, onnx_path=onnx, spin=True)
        ),
        "fp32-spin": create_runtime("onnx", model=model, onnx_path=onnx, spin=True),
        "fp32": create_runtime("onnx", model=model, onnx_path=onnx),
        "int8": OnnxInt8Runtime(model, stored=int8),
        "int8-1t": OnnxInt8Runtime(model, stored=int8, threads=1),
        "calibration_crops": int8.card["calibration_crops"],
    }


def score_one(path, params, analyzer, runtime, size, detector, encode) -> dict:
    """Face stage, embedding and pair scoring of one video; CPU-seconds of each stage."""
    c0 = time.process_time()
    vf = process_video(path, params, analyzer, encode=encode)
    c1 = time.process_time()
    ok = [r for r in vf.rows if r.status == "ok"]
    crops = [r.crop if encode else r.image for r in ok]
    vectors = embed_crops(runtime, crops, size) if ok else np.zeros((0, 0), np.float32)
    c2 = time.process_time()
    frames = np.array([r.frame_index for r in ok], np.int64)
    tracks = np.array([r.track_id for r in ok], np.int64)
    if detector is not None and len(ok) >= 2:
        detector.score_embeddings(Path(path).stem, frames, tracks, vectors)
    c3 = time.process_time()
    return {"faces": c1 - c0, "embed": c2 - c1, "pairs+score": c3 - c2, "vf": vf,
            "frames": frames, "tracks": tracks, "vectors": vectors}  # fmt: skip


def timing_detector(dim: int) -> Detector:
    rng = np.random.default_rng(0)
    x = (rng.normal(size=(600, 16)) @ rng.normal(size=(16, dim))) ** 2
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return Detector(create_anomaly_model("pca_gmm", pca_components=32).fit(x), None)


def cpu_note() -> str:
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    return f"{cpus} CPUs available to this process, load average {load}"


def baseline(path: str) -> str:
    """The path a row's ratio is measured against: the old pipeline doing the same work."""
    return "today+nb" if path.endswith("+nb") else "today"


def run_cost(videos, frames, model, runtimes, group: int = 4, print_fn=print) -> dict:
    size = model.input_size
    base = IngestParams(n_frames=frames)
    tracked = replace(base, face_tracking=True)
    plans = {
        "today": (replace(base, face_tracking=False), runtimes["fp32-before"], True),
        "tracked-before": (tracked, runtimes["fp32-before"], False),
        "tracked-spin": (tracked, runtimes["fp32-spin"], False),
        "tracked": (tracked, runtimes["fp32"], False),
        "tracked-int8": (tracked, runtimes["int8"], False),
        "tracked-int8-1t": (tracked, runtimes["int8-1t"], False),
        # what a default detector's scoring decodes: each sampled frame and its neighbour
        "today+nb": (replace(base, face_tracking=False, neighbour_offsets=NEIGHBOURS),
                     runtimes["fp32-before"], True),
        "tracked+nb": (replace(tracked, neighbour_offsets=NEIGHBOURS), runtimes["fp32"], False),
    }  # fmt: skip
    names = [*plans, "tracked-shared"]
    detector = timing_detector(model.embed_dim)
    cpu = {k: defaultdict(float) for k in names}
    found = dict.fromkeys(names, 0)
    passes = {k: defaultdict(int) for k in names}
    shared = SharedBatches(runtimes["fp32"], size)
    max_diff = 0.0
    print_fn(f"  {cpu_note()} (start)")
    with FaceAnalyzer(**base.analyzer_kwargs()) as analyzer:
        for p, rt, enc in plans.values():  # graphs, sessions, first inferences: untimed
            score_one(videos[0], p, analyzer, rt, size, detector, enc)
        for g in range(0, len(videos), group):
            members = videos[g : g + group]
            for i, path in enumerate(members, start=g):
                order = list(plans) if i % 2 == 0 else list(plans)[::-1]
                for name in order:
                    p, rt, enc = plans[name]
                    r = score_one(path, p, analyzer, rt, size, detector, enc)
                    for stage in ("faces", "embed", "pairs+score"):
                        cpu[name][stage] += r[stage]
                    found[name] += r["vf"].frames_with_face
                    for k, v in r["vf"].face_passes.items():
                        passes[name][k] += v
                    if name == "tracked":
                        alone = r["vectors"]
            # cross-video batches: the group's faces first, then one shared embedding pass
            got = [score_shared_faces(path, tracked, analyzer) for path in members]
            for vf, c in got:
                cpu["tracked-shared"]["faces"] += c
                found["tracked-shared"] += vf.frames_with_face
                for k, v in vf.face_passes.items():
                    passes["tracked-shared"][k] += v
            c0 = time.process_time()
            vectors = shared.embed_many([[r.image for r in vf.rows if r.status == "ok"]
                                         for vf, _ in got])  # fmt: skip
            cpu["tracked-shared"]["embed"] += time.process_time() - c0
            c0 = time.process_time()
            for path, (vf, _), vec in zip(members, got, vectors, strict=True):
                ok = [r for r in vf.rows if r.status == "ok"]
                if len(ok) >= 2:
                    detector.score_embeddings(Path(path).stem, np.array([r.frame_index for r in ok]),
                                              np.array([r.track_id for r in ok]), vec)  # fmt: skip
            cpu["tracked-shared"]["pairs+score"] += time.process_time() - c0
            if len(alone) and len(vectors[-1]) == len(alone):  # last video: same crops
                max_diff = max(max_diff, float(np.abs(vectors[-1] - alone).max()))
    n = len(videos)
    per_video = {k: {s: v / n for s, v in c.items()} for k, c in cpu.items()}
    totals = {k: sum(v.values()) for k, v in per_video.items()}
    print_fn(f"scoring cost: {n} videos x {frames} frames, process CPU-seconds per video")
    print_fn(f"  {'path':<16} {'faces':>7} {'embed':>7} {'pairs':>7} {'total':>7}  ratio  "
             "face frames  detect/follow/lost")  # fmt: skip
    for k in names:
        s = per_video[k]
        ps = passes[k]
        print_fn(
            f"  {k:<16} {s['faces']:7.3f} {s['embed']:7.3f} {s['pairs+score']:7.3f} "
            f"{totals[k]:7.3f}  {totals[baseline(k)] / totals[k]:4.2f}x  {found[k]:>11}  "
            f"{ps['detect']}/{ps['follow']}/{ps['lost']}"
        )
    print_fn("  ratio: against 'today', and for the +nb paths against 'today+nb' (same frames "
             "decoded); face frames count sampled frames only")  # fmt: skip
    diff = abs(found["tracked"] - found["today"]) / max(found["today"], 1)
    print_fn(f"  face frames tracked vs every-frame detection: {100 * diff:.2f}% apart "
             "(target <= 1%)")  # fmt: skip
    print_fn(f"  shared batches ({group} videos, {shared.requests} calls in "
             f"{shared.batches} batches): max |embedding - per-video call| {max_diff:.2e}")  # fmt: skip
    print_fn(f"  {cpu_note()} (end)")
    return {"cpu_per_video": per_video, "total": totals, "face_frames": found,
            "passes": {k: dict(v) for k, v in passes.items()},
            "shared_max_diff": max_diff}  # fmt: skip


def score_shared_faces(path, params, analyzer):
    c0 = time.process_time()
    vf = process_video(path, params, analyzer, encode=False)
    return vf, time.process_time() - c0


def run_batching(videos, frames, model, runtime, print_fn=print) -> dict:
    """CPU milliseconds per crop at several batch sizes, on the crops of a few videos: does
    batching crops across small videos pay?"""
    with FaceAnalyzer() as analyzer:
        crops = [r.image for v in videos[:4] for r in process_video(
            v, IngestParams(n_frames=frames), analyzer, encode=False).rows if r.status == "ok"]  # fmt: skip
    batch = np.stack(crops)
    embed_crops(runtime, crops[:8], model.input_size, batch_size=8)
    out = {}
    for size in BATCHES:
        c0 = time.process_time()
        for start in range(0, len(batch), size):
            runtime.embed(batch[start : start + size])
        out[size] = 1000 * (time.process_time() - c0) / len(batch)
    row = ", ".join(f"batch {k}: {v:.1f}" for k, v in out.items())
    print_fn(f"  embedding CPU ms per crop ({runtime.name}, {len(batch)} crops): {row}")
    return out


def corpus(root: Path) -> pd.DataFrame:
    m = pd.read_csv(root / "manifest.csv")
    m["path"] = [str(root / p) for p in m["path"]]
    m["y"] = (m["label"] == "fake").astype(int)
    return m[[Path(p).is_file() for p in m["path"]]].reset_index(drop=True)


def embed_corpus(table, frames, model, runtimes, analyzer) -> dict:
    """Per face path: per video ``(frames, tracks, vectors)`` (fp32), the tracked crops of
    each video (for int8 later), and face frames."""
    size = model.input_size
    out: dict = {"today": [], "tracked": [], "images": [], "found": defaultdict(int)}
    for path in table["path"]:
        for tracked in (False, True):
            p = IngestParams(n_frames=frames, face_tracking=tracked)
            vf = process_video(path, p, analyzer, encode=False)
            ok = [r for r in vf.rows if r.status == "ok"]
            out["found"]["tracked" if tracked else "today"] += vf.frames_with_face
            meta = (np.array([r.frame_index for r in ok], np.int64),
                    np.array([r.track_id for r in ok], np.int64))  # fmt: skip
            images = [r.image for r in ok]
            vec = (
                embed_crops(runtimes["fp32"], images, size)
                if ok
                else np.zeros((0, model.embed_dim))
            )
            out["tracked" if tracked else "today"].append((*meta, vec))
            if tracked:
                out["images"].append(
                    np.stack(images) if ok else np.zeros((0, size, size, 3), np.uint8)
                )
    return out


def add_int8(emb: dict, sets: dict, model, settings: Int8Settings) -> dict:
    """``tracked-int8`` of each set: its crops through the int8 model calibrated on the
    *other* set's real crops (the detector that scores it is fitted there). Returns the
    calibration counts."""
    counts = {}
    for test, train in (("dev", "dev2"), ("dev2", "dev")):
        labels = sets[train]["label"].tolist()
        rows = [(i, labels[i]) for i, im in enumerate(emb[train]["images"]) for _ in range(len(im))]
        images = np.concatenate(emb[train]["images"])
        int8 = int8_from(model, images, rows, settings)
        counts[test] = int8.card["calibration_crops"]
        rt = OnnxInt8Runtime(model, stored=int8)
        emb[test]["tracked-int8"] = [
            (f, t, rt.embed(im) if len(im) else v)
            for (f, t, v), im in zip(emb[test]["tracked"], emb[test]["images"], strict=True)
        ]
    return counts


def pair_vectors(videos, keys, pairs: PairSettings):
    out = []
    for key, (frames, tracks, vec) in zip(keys, videos, strict=True):
        if len(frames) >= 2:
            out.append(video_pairs(key, frames, tracks, vec, pairs).vectors)
        else:
            out.append(np.zeros((0, vec.shape[1] if vec.ndim == 2 else 1), np.float32))
    return out


def video_auc(train, test, test_keys, labels, pairs: PairSettings) -> float:
    x = np.concatenate([v for v in train if len(v)])
    model = create_anomaly_model("pca_gmm", pca_components=32).fit(x)
    det = Detector(model, None, pairs)
    scores = []
    for key, (frames, tracks, vec) in zip(test_keys, test, strict=True):
        s = (
            det.score_embeddings(key, frames, tracks, vec).fake_score
            if len(frames) >= 2
            else np.nan
        )
        scores.append(s)
    scores = np.asarray(scores, np.float64)
    keep = np.isfinite(scores)
    return binary_metrics(np.asarray(labels)[keep], scores[keep])["roc_auc"]


def run_quality(frames, model, runtimes, print_fn=print) -> dict:
    sets = {name: corpus(root) for name, root in (("dev", SHARED_DEV), ("dev2", SHARED_DEV2))
            if (root / "manifest.csv").is_file()}  # fmt: skip
    if len(sets) < 2:
        print_fn("  quality: shared dev/dev2 not present, skipped")
        return {}
    pairs = PairSettings()
    t0 = time.perf_counter()
    with FaceAnalyzer(**IngestParams().analyzer_kwargs()) as analyzer:
        emb = {n: embed_corpus(t, frames, model, runtimes, analyzer) for n, t in sets.items()}
    n_calib = add_int8(emb, sets, model, Int8Settings())
    keys = {n: [Path(p).stem for p in t["path"]] for n, t in sets.items()}
    pv = {n: {k: pair_vectors(emb[n][k], keys[n], pairs) for k in PATHS} for n in sets}
    auc = {}
    for test, train in (("dev", "dev2"), ("dev2", "dev")):
        real = [i for i, y in enumerate(sets[train]["y"]) if y == 0]
        for k in PATHS:
            fit_on = "tracked" if k == "tracked-int8" else k  # the detector is fitted in fp32
            train_pv = [pv[train][fit_on][i] for i in real]
            auc[(test, k)] = video_auc(train_pv, emb[test][k], keys[test], sets[test]["y"], pairs)
    # int8 vs fp32 on the very same crops
    cos, rel = [], []
    for n in sets:
        for (_, _, a), (_, _, b) in zip(emb[n]["tracked"], emb[n]["tracked-int8"], strict=True):
            if len(a):
                cos.append((a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1))
        for a, b in zip(pv[n]["tracked"], pv[n]["tracked-int8"], strict=True):
            if len(a):
                rel.append(np.linalg.norm(a - b, axis=1) / np.maximum(np.linalg.norm(a, axis=1),
                                                                      1e-12))  # fmt: skip
    cos, rel = np.concatenate(cos), np.concatenate(rel)
    print_fn(f"detection quality ({frames} frames; anomaly model fitted on the other set's real "
             f"pairs; {time.perf_counter() - t0:.0f} s)")  # fmt: skip
    for test in ("dev", "dev2"):
        n = len(sets[test])
        row = "  ".join(f"{k} {auc[(test, k)]:.4f}" for k in PATHS)
        print_fn(f"  video AUC {test:<4} ({n} videos): {row}")
    for test in ("dev", "dev2"):
        print_fn(f"    {test}: tracked - today {auc[(test, 'tracked')] - auc[(test, 'today')]:+.4f}"
                 f" (target within 0.01); int8 - fp32 "
                 f"{auc[(test, 'tracked-int8')] - auc[(test, 'tracked')]:+.4f} (within 0.005)")  # fmt: skip
    print_fn(f"  int8 calibrated on the other set's real crops ({n_calib['dev']} for dev, "
             f"{n_calib['dev2']} for dev2)")  # fmt: skip
    print_fn(f"  int8 vs fp32, {len(cos)} crops: cosine min {cos.min():.4f} mean {cos.mean():.4f};"
             f" pair-vector relative error mean {rel.mean():.4f} max {rel.max():.4f}")  # fmt: skip
    for n in sets:
        f = emb[n]["found"]
        print_fn(
            f"  face frames {n}: today {f['today']}, tracked {f['tracked']} "
            f"({100 * (f['tracked'] - f['today']) / max(f['today'], 1):+.2f}%)"
        )
    return {"auc": {f"{t}/{k}": v for (t, k), v in auc.items()},
            "cosine_min": float(cos.min()), "cosine_mean": float(cos.mean()),
            "pair_rel_err_mean": float(rel.mean()), "pair_rel_err_max": float(rel.max()),
            "face_frames": {n: dict(emb[n]["found"]) for n in sets}}  # fmt: skip


def run(videos=None, frames: int = 32, quality: bool = True, group: int = 4,
        print_fn=print) -> dict:  # fmt: skip
    videos = videos or default_videos(10)
    model = create_extractor("efficientnet_lite0", weights="default").eval()
    with tempfile.TemporaryDirectory() as tmp:
        runtimes = make_runtimes(model, Path(tmp), frames)
        out = {"cost": run_cost(videos, frames, model, runtimes, group, print_fn)}
        out["batching"] = {
            k: run_batching(videos, frames, model, runtimes[k], print_fn) for k in ("fp32-before", "fp32", "int8-1t")
        }  # fmt: skip
        if quality:
            out["quality"] = run_quality(frames, model, runtimes, print_fn)
    return out


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=int, default=10)
    ap.add_argument("--frames", type=int, default=32)
    ap.add_argument("--group", type=int, default=4, help="videos per shared embedding pass")
    ap.add_argument("--no-quality", action="store_true", help="cost only (no dev/dev2 AUC)")
    a = ap.parse_args()
    run(default_videos(a.limit), a.frames, quality=not a.no_quality, group=a.group)
