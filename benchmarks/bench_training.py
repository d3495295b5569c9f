"""Extractor training and embedding throughput on this machine.

Training (preset ``cpu-small``): images/s (real + pseudo-fake, each counted) of

- data alone: the DataLoader making pseudo-fakes (decode, resize, self-blend, collate);
- model step alone: SAM steps on one pre-made batch;
- together: the training loop (DataLoader feeding SAM steps),

and which of data or step is the bottleneck. Embedding (EfficientNet-Lite0, 224 px, batch 32):
images/s of eager torch, ONNX Runtime and ``torch.compile``, as ratios to eager measured in
the same run. Crops come from the shared dev videos when present, else from jittered crops
of scikit-image's astronaut portrait (the throughput does not depend on who is pictured).

Run: ``.venv/bin/python -m benchmarks.bench_training [--train-threads N] [--no-compile]``.
"""

from __future__ import annotations

import argparse
import itertools
import os
import tempfile
import time
from collections.abc import Callable

import numpy as np
import torch


def _records(size: int, print_fn: Callable[..., None]):
    try:
        from tests.unit.training.real_crops import dev_data_missing, dev_video_records

        missing = dev_data_missing()
        if missing is None:
            records = dev_video_records(15, 16, size)
            print_fn(f"data: {len(records)} crops of 15 shared dev videos")
            return records
        print_fn(f"data: {missing}; using astronaut crops")
    except ImportError as exc:
        print_fn(f"data: real-crop helper unavailable ({exc}); using astronaut crops")
    from tests.unit.training.faces_fixture import astronaut_records

    return astronaut_records(15, 16, size, np.random.default_rng(0))


def _rate(n_images: int, seconds: float) -> float:
    return n_images / seconds if seconds > 0 else float("nan")


def bench_training(records, threads: int | None, batches: int, print_fn) -> dict:
    from difffake_core.training import PseudoFakePairs, collate_pairs, get_preset
    from difffake_core.training.loop import build_model, sam_train_step, to_input

    config = get_preset("cpu-small")
    threads = threads or config.threads or torch.get_num_threads()
    torch.set_num_threads(threads)
    half = config.batch_size // 2
    dataset = PseudoFakePairs(records, config.input_size, config.seed, config.augment, config.blend)

    def loader(epoch: int):
        dataset.set_epoch(epoch)
        order = np.random.default_rng(epoch).permutation(len(dataset)).tolist()
        return torch.utils.data.DataLoader(
            dataset,
            batch_size=half,
            sampler=order,
            num_workers=config.num_workers,
            collate_fn=collate_pairs,
            drop_last=True,
        )

    # data alone (the first batch pays for the worker start, as in training)
    t = time.perf_counter()
    n = sum(len(labels) for _, labels in itertools.islice(loader(0), batches))
    data_rate = _rate(n, time.perf_counter() - t)

    model, sam = build_model(config)
    model.train()
    images, labels = next(iter(loader(1)))
    x = to_input(model, images, config.channels_last)
    sam_train_step(model, sam, x, labels)  # warm-up
    t = time.perf_counter()
    for _ in range(batches):
        sam_train_step(model, sam, to_input(model, images, config.channels_last), labels)
    step_rate = _rate(batches * len(labels), time.perf_counter() - t)

    t = time.perf_counter()
    n = 0
    for images, labels in itertools.islice(loader(2), batches):
        sam_train_step(model, sam, to_input(model, images, config.channels_last), labels)
        n += len(labels)
    together_rate = _rate(n, time.perf_counter() - t)

    result = {
        "batch_size": config.batch_size,
        "num_workers": config.num_workers,
        "threads": threads,
        "data_images_per_s": data_rate,
        "step_images_per_s": step_rate,
        "together_images_per_s": together_rate,
        "bottleneck": "data" if data_rate < step_rate else "model step",
    }
    print_fn(
        f"training cpu-small ({threads} threads, {config.num_workers} worker): "
        f"data {data_rate:.1f} img/s | step {step_rate:.1f} img/s | together "
        f"{together_rate:.1f} img/s -> bottleneck: {result['bottleneck']}"
    )
    return result


def bench_presets(records, presets: list[str], batches: int, print_fn) -> dict:
    """SAM step images/s of each training preset on one pre-made batch, and each one's
    time per step as a ratio to the first preset's, measured in the same run (each preset
    with its own threads)."""
    from difffake_core.training import PseudoFakePairs, collate_pairs, get_preset
    from difffake_core.training.loop import build_model, sam_train_step, to_input

    rates: dict[str, float] = {}
    for name in presets:
        config = get_preset(name)
        torch.set_num_threads(config.threads or torch.get_num_threads())
        dataset = PseudoFakePairs(records, config.input_size, config.seed, False, config.blend)
        images, labels = collate_pairs([dataset[i] for i in range(config.batch_size // 2)])
        model, sam = build_model(config)
        model.train()
        sam_train_step(model, sam, to_input(model, images, config.channels_last), labels)
        t = time.perf_counter()
        for _ in range(batches):
            sam_train_step(model, sam, to_input(model, images, config.channels_last), labels)
        rates[name] = _rate(batches * len(labels), time.perf_counter() - t)
    base = presets[0]
    ratios = {f"{k}_vs_{base}": rates[base] / v for k, v in rates.items()}
    for name in rates:
        print_fn(f"step {name:>10}: {rates[name]:5.1f} img/s, "
                 f"{rates[base] / rates[name]:.2f}x the time of {base} per step")  # fmt: skip
    return {"step_images_per_s": rates, "time_per_step_ratio": ratios}


def bench_embedding(
    records, threads: int, batches: int, use_compile: bool, print_fn: Callable[..., None]
) -> dict:
    from difffake_core.models.backbones import create_extractor
    from difffake_core.runtime import OnnxRuntime, TorchRuntime

    batch = np.stack([records[i % len(records)].decode() for i in range(32)])
    model = create_extractor("efficientnet_lite0").eval()
    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        runtimes = {
            "torch": lambda: TorchRuntime(model, threads=threads),
            "onnx": lambda: OnnxRuntime(model, os.path.join(tmp, "lite0.onnx"), threads=threads),
        }
        if use_compile:
            runtimes["torch-compile"] = lambda: TorchRuntime(model, compile=True, threads=threads)
        for name, make in runtimes.items():
            t = time.perf_counter()
            runtime = make()
            runtime.embed(batch)  # warm-up (compiles for torch.compile)
            setup = time.perf_counter() - t
            t = time.perf_counter()
            for _ in range(batches):
                runtime.embed(batch)
            results[name] = _rate(batches * len(batch), time.perf_counter() - t)
            print_fn(f"embed {name:>13}: {results[name]:6.1f} img/s (setup+warm-up {setup:.1f} s)")
    ratios = {f"{k}_vs_eager": v / results["torch"] for k, v in results.items() if k != "torch"}
    for key, value in ratios.items():
        print_fn(f"embed {key}: {value:.2f}x")
    return {"batch": 32, "threads": threads, "images_per_s": results, **ratios}


def run(
    print_fn: Callable[..., None] = print,
    train_threads: int | None = None,
    embed_threads: int = 2,
    batches: int = 6,
    use_compile: bool = True,
) -> dict:
    """Measure and print; returns ``{"training": {...}, "embedding": {...}, "load_avg": ...}``.

    ``train_threads`` ``None`` uses the preset's (1 compute thread + 1 data worker);
    embedding uses ``embed_threads`` (serving has no data worker to leave a core to)."""
    load = os.getloadavg()
    print_fn(f"cpus {os.cpu_count()}, load average {load[0]:.1f} (other processes share the CPU)")
    records = _records(224, print_fn)
    prev = torch.get_num_threads()
    try:
        training = bench_training(records, train_threads, batches, print_fn)
        embedding = bench_embedding(
            records, embed_threads, max(2, batches // 2), use_compile, print_fn
        )
    finally:
        torch.set_num_threads(prev)
    return {"training": training, "embedding": embedding, "load_avg": load[0]}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train-threads", type=int, default=None, help="default: the preset's")
    parser.add_argument("--embed-threads", type=int, default=2)
    parser.add_argument("--batches", type=int, default=6)
    parser.add_argument(
        "--no-compile", action="store_true", help="skip torch.compile (slow warm-up)"
    )
    parser.add_argument(
        "--presets",
        help="only compare the SAM step time of these presets, e.g. cpu-small,cpu-medium",
    )
    args = parser.parse_args()
    if args.presets:
        bench_presets(_records(240, print), args.presets.split(","), args.batches, print)
        raise SystemExit(0)
    run(
        train_threads=args.train_threads,
        embed_threads=args.embed_threads,
        batches=args.batches,
        use_compile=not args.no_compile,
    )
