"""Train a face feature extractor on real crops vs their self-blended pseudo-fakes.

Layout of ``out_dir``::

    last/                    resumable state, rewritten after every epoch
    checkpoints/epochNNN/    the ``top_k`` epochs by validation AUC (extractor checkpoints)

Determinism: the split, the shuffling, every pseudo-fake and the torch RNG of each epoch are
derived from ``config.seed`` (and the epoch), so a run interrupted and resumed from
``last/`` ends with the same weights as an uninterrupted one.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader

from difffake_core.models.backbones import FaceExtractor, create_extractor, get_backbone_spec
from difffake_core.training.checkpoint import (
    STATE_FILE,
    load_training_state,
    save_extractor,
    save_training_state,
)
from difffake_core.training.config import TrainConfig
from difffake_core.training.data import CropRecord, PseudoFakePairs, collate_pairs, split_by_video
from difffake_core.training.progress import ProgressFn, TrainEvent
from difffake_core.training.sam import SAM, linear_decay, no_running_stats, trainable
from difffake_core.training.temporal import (
    DriftingPseudoFakeSequences,
    collate_sequences,
    temporal_pair_loss,
)

LossFn = Callable[[FaceExtractor, torch.Tensor, torch.Tensor], torch.Tensor]

# Independent random streams derived from the seed.
_SPLIT, _TRAIN, _VAL, _SHUFFLE, _TORCH = range(5)


@dataclass(frozen=True)
class TrainResult:
    """``best_dir``: checkpoint with the highest validation AUC; ``checkpoints``: the kept
    top-k, best first; ``history``: one dict per epoch (epoch, train_loss, val_auc, lr,
    seconds); ``seconds``: wall time of this call."""

    best_dir: Path
    checkpoints: list[Path]
    history: list[dict[str, Any]]
    val_auc: float
    seconds: float
    last_dir: Path


def _torch_seed(seed: int, epoch: int) -> int:
    return int(np.random.default_rng([_TORCH, seed, epoch]).integers(2**62))


def to_input(model: FaceExtractor, images: torch.Tensor, channels_last: bool) -> torch.Tensor:
    x = model.preprocess(images)
    return x.contiguous(memory_format=torch.channels_last) if channels_last else x


def roc_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve of ``scores`` (higher = label 1); NaN with one class only."""
    from sklearn.metrics import roc_auc_score

    labels = np.asarray(labels)
    if labels.min() == labels.max():
        return math.nan
    return float(roc_auc_score(labels, scores))


@torch.inference_mode()
def fake_probabilities(
    model: FaceExtractor, batches: Sequence[tuple[torch.Tensor, torch.Tensor]], channels_last: bool
) -> tuple[np.ndarray, np.ndarray]:
    """p(fake) of every image of ``batches`` (from :func:`collate_pairs`), and the labels."""
    was_training = model.training
    model.eval()
    probs, labels = [], []
    for images, y in batches:
        logits = model(to_input(model, images, channels_last))
        probs.append(torch.softmax(logits.float(), dim=1)[:, 1].numpy())
        labels.append(y.numpy())
    model.train(was_training)
    return np.concatenate(probs), np.concatenate(labels)


def _loader(
    dataset, batch: int, order: list[int] | None, workers: int, drop_last: bool, collate=None
):
    return DataLoader(
        dataset,
        batch_size=batch,
        sampler=order,
        shuffle=False,
        num_workers=workers,
        collate_fn=collate or collate_pairs,
        drop_last=drop_last,
    )


def cross_entropy_loss(model: FaceExtractor, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The frame-only loss: real-vs-fake cross-entropy of every image."""
    return F.cross_entropy(model(x), y)


def temporal_loss(weight: float, temperature: float) -> LossFn:
    """Cross-entropy of every image plus ``weight`` times :func:`temporal_pair_loss` on a
    :func:`~difffake_core.training.temporal.collate_sequences` batch."""

    def loss(model: FaceExtractor, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        logits, embeddings = model.logits_and_embed(x)
        pair = temporal_pair_loss(embeddings, temperature)
        return F.cross_entropy(logits, y) + weight * pair

    return loss


def sam_train_step(
    model: FaceExtractor,
    sam: SAM,
    x: torch.Tensor,
    y: torch.Tensor,
    loss_fn: LossFn = cross_entropy_loss,
) -> float:
    """One SAM update on batch ``x`` ``(N, 3, S, S)`` with labels ``y`` ``(N,)``; returns the
    loss at the unperturbed weights. The second pass leaves batch-norm statistics alone."""
    loss = loss_fn(model, x, y)
    loss.backward()
    sam.first_step()
    with no_running_stats(model):
        loss_fn(model, x, y).backward()
    sam.second_step()
    return float(loss.detach())


def build_model(config: TrainConfig) -> tuple[FaceExtractor, SAM]:
    """The extractor of ``config`` (2-class head, early groups frozen, seeded with
    ``config.seed``) and its SAM optimizer over SGD on the trainable parameters."""
    torch.manual_seed(config.seed)
    model = create_extractor(config.backbone, config.weights, num_classes=2)
    model.input_size = config.input_size or model.spec.input_size
    if config.freeze_groups:
        model.freeze_groups(config.freeze_groups)
    if config.channels_last:
        model = model.to(memory_format=torch.channels_last)
    base = torch.optim.SGD(trainable(model.parameters()), lr=config.lr, momentum=config.momentum)
    return model, SAM(base, rho=config.sam_rho)


def _card(config: TrainConfig, entry: Mapping[str, Any], data: Mapping[str, Any]) -> dict:
    return {
        "preset": config.preset,
        "config": config.to_dict(),
        "seed": config.seed,
        "metrics": {k: entry[k] for k in ("epoch", "train_loss", "val_auc")},
        "training_data": dict(data),
    }


def _datasets(records: Sequence[CropRecord], config: TrainConfig):
    """Training and validation datasets (split by video) and the steps per epoch.

    Training items are real/fake pairs of one crop, or with ``temporal_weight > 0`` two-frame
    drifting sequences (then a batch holds ``batch_size / 4`` items, the same number of
    images). Validation is always frame-level, so its AUC compares across settings."""
    size = config.input_size or get_backbone_spec(config.backbone).input_size
    train_idx, val_idx = split_by_video(
        [r.video_id for r in records],
        config.val_fraction,
        np.random.default_rng([_SPLIT, config.seed]),
    )
    train = [records[i] for i in train_idx]
    val = [records[i] for i in val_idx]
    if config.temporal:
        train_ds = DriftingPseudoFakeSequences(train, size, config.seed, config.temporal_drift,
                                               config.augment, config.blend, _TRAIN)  # fmt: skip
    else:
        train_ds = PseudoFakePairs(train, size, config.seed, config.augment, config.blend, _TRAIN)
    val_ds = PseudoFakePairs(val, size, config.seed, False, config.blend, _VAL)
    # One epoch shows every training crop about once in both modes (a two-frame item shows
    # two crops), so a temporal run costs the same as a frame-only one.
    half = config.batch_size // 2
    steps = len(train_ds) // half
    if config.steps_per_epoch is not None:
        steps = min(steps, config.steps_per_epoch)
    if steps < 1:
        raise ValueError(
            f"{len(train_ds)} training crops cannot fill one batch of {half} real crops "
            f"(batch_size={config.batch_size})"
        )
    return train_ds, val_ds, steps


def _items_per_batch(config: TrainConfig) -> int:
    """Dataset items per batch: real/fake pairs (2 images) or two-frame sequences (4)."""
    return config.batch_size // (4 if config.temporal else 2)


def _train_epoch(model, sam, scheduler, dataset, config, epoch, steps, progress) -> float:
    """One epoch of SAM steps; returns the mean training loss."""
    torch.manual_seed(_torch_seed(config.seed, epoch))
    dataset.set_epoch(epoch)
    order = np.random.default_rng([_SHUFFLE, config.seed, epoch]).permutation(len(dataset))
    temporal = config.temporal
    collate = collate_sequences if temporal else collate_pairs
    loss_fn = (
        temporal_loss(config.temporal_weight, config.temporal_temperature)
        if temporal
        else cross_entropy_loss
    )
    loader = _loader(dataset, _items_per_batch(config), order.tolist(), config.num_workers, True,
                     collate)  # fmt: skip
    model.train()
    losses: list[float] = []
    for step, (images, labels) in enumerate(loader):
        if step >= steps:
            break
        x = to_input(model, images, config.channels_last)
        losses.append(sam_train_step(model, sam, x, labels, loss_fn))
        scheduler.step()
        if progress:
            mean = float(np.mean(losses))
            progress(TrainEvent("step", epoch, config.epochs, step, steps, mean))
    return float(np.mean(losses))


def train_extractor(
    records: Sequence[CropRecord],
    config: TrainConfig,
    out_dir: str | os.PathLike,
    progress: ProgressFn | None = None,
    training_data: Mapping[str, Any] | None = None,
    resume: bool = True,
) -> TrainResult:
    """Fine-tune ``config.backbone`` to tell real crops from their pseudo-fakes.

    ``records``: real face crops of several videos; whole videos are held out for
    validation. ``training_data`` is copied into every checkpoint card (dataset names and
    versions). With ``resume`` and a ``last/`` state in ``out_dir`` (same config), training
    continues after its epoch. Returns a :class:`TrainResult`.
    """
    t0 = time.perf_counter()
    out = Path(out_dir)
    last_dir = out / "last"
    data = dict(training_data or {})
    config_json = json.loads(json.dumps(config.to_dict()))
    prev_threads = torch.get_num_threads()
    prev_det = torch.are_deterministic_algorithms_enabled()
    if config.threads:
        torch.set_num_threads(config.threads)
    torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        train_ds, val_ds, steps = _datasets(records, config)
        model, sam = build_model(config)
        scheduler = torch.optim.lr_scheduler.LambdaLR(
            sam.base, linear_decay(config.epochs * steps, config.decay_start)
        )
        history: list[dict[str, Any]] = []
        kept: list[dict[str, Any]] = []  # {"epoch", "val_auc", "dir"}
        start = 0
        if resume and (last_dir / STATE_FILE).is_file():
            state = load_training_state(last_dir, model, sam.base, scheduler)
            if state["config"] != config_json:
                raise ValueError(
                    f"cannot resume {last_dir}: it was trained with a different config "
                    f"({state['config']}); use another out_dir or resume=False"
                )
            history, kept, start = state["history"], state["kept"], state["epoch"] + 1

        val_batches = None
        for epoch in range(start, config.epochs):
            t_epoch = time.perf_counter()
            loss = _train_epoch(model, sam, scheduler, train_ds, config, epoch, steps, progress)
            if val_batches is None:  # identical every epoch: generate once
                val_loader = _loader(
                    val_ds, config.batch_size // 2, None, config.num_workers, False
                )
                val_batches = list(val_loader)
            probs, labels = fake_probabilities(model, val_batches, config.channels_last)
            auc = roc_auc(labels, probs)
            lr = float(sam.base.param_groups[0]["lr"])
            entry = {"epoch": epoch, "train_loss": loss, "val_auc": auc, "lr": lr}
            entry["seconds"] = time.perf_counter() - t_epoch
            history.append(entry)
            kept = _update_top_k(model, kept, entry, config, out, data)
            seeds = {"seed": config.seed, "torch_epoch_seed": _torch_seed(config.seed, epoch)}
            state = {"epoch": epoch, "config": config_json, "history": history, "kept": kept}
            card = _card(config, entry, data)
            save_training_state(
                last_dir, model, card, sam.base, scheduler, {**state, "seeds": seeds}
            )
            if progress:
                progress(TrainEvent("epoch", epoch, config.epochs, steps - 1, steps, loss, auc, lr))
    finally:
        torch.set_num_threads(prev_threads)
        torch.use_deterministic_algorithms(prev_det)
        if progress:
            progress(TrainEvent("end", 0, config.epochs))
    ranked = _ranked(kept)
    return TrainResult(
        best_dir=out / ranked[0]["dir"],
        checkpoints=[out / k["dir"] for k in ranked],
        history=history,
        val_auc=float(ranked[0]["val_auc"]),
        seconds=time.perf_counter() - t0,
        last_dir=last_dir,
    )


def _ranked(kept: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Best first: higher AUC, then the earlier epoch; NaN AUC ranks last."""
    return sorted(kept, key=lambda k: (-np.nan_to_num(k["val_auc"], nan=-1.0), k["epoch"]))


def _update_top_k(model, kept, entry, config, out: Path, data) -> list[dict[str, Any]]:
    candidate = {
        "epoch": entry["epoch"],
        "val_auc": entry["val_auc"],
        "dir": f"checkpoints/epoch{entry['epoch']:03d}",
    }
    ranked = _ranked([*kept, candidate])
    survivors, dropped = ranked[: config.top_k], ranked[config.top_k :]
    if candidate in survivors:
        save_extractor(model, _card(config, entry, data), out / candidate["dir"])
    for gone in dropped:
        shutil.rmtree(out / gone["dir"], ignore_errors=True)
    return survivors
