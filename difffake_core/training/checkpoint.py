"""Checkpoints without pickle: safetensors for tensors, JSON for everything else.

An extractor checkpoint is a directory::

    model.safetensors   the FaceExtractor state dict
    card.json           backbone, preset, config, metrics, seed, versions, embed_dim,
                        input size, mean/std, training_data (filled by the caller)

A training state (to resume) adds ``optimizer.safetensors`` + ``state.json`` next to them.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from difffake_core.errors import ModelAssetError
from difffake_core.models.backbones import FaceExtractor, create_extractor

CARD_FORMAT = "difffake-extractor/1"
MODEL_FILE = "model.safetensors"
CARD_FILE = "card.json"
OPTIMIZER_FILE = "optimizer.safetensors"
STATE_FILE = "state.json"


def package_versions() -> dict[str, str]:
    """Versions that decide whether a checkpoint reproduces: torch, timm, difffake."""
    import timm

    import difffake_core

    return {
        "torch": torch.__version__,
        "timm": timm.__version__,
        "difffake": difffake_core.__version__,
    }


def model_card(model: FaceExtractor, card: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The caller's card fields plus the facts read from ``model`` (which win)."""
    out: dict[str, Any] = {"training_data": {}, "metrics": {}}
    out.update(dict(card or {}))
    spec = model.spec
    out.update(
        format=CARD_FORMAT,
        backbone=spec.name,
        timm_name=spec.timm_name,
        embed_dim=model.embed_dim,
        num_classes=model.num_classes,
        input_size=model.input_size,
        mean=list(spec.mean),
        std=list(spec.std),
        versions=package_versions(),
    )
    return out


def _write_json(path: Path, obj: Any) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(obj, indent=2, sort_keys=True, allow_nan=True))
    os.replace(tmp, path)


def _write_tensors(
    path: Path, tensors: Mapping[str, torch.Tensor], meta: Mapping[str, str]
) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    save_file({k: v.detach().contiguous().cpu() for k, v in tensors.items()}, str(tmp), dict(meta))
    os.replace(tmp, path)


def save_extractor(
    model: FaceExtractor, card: Mapping[str, Any] | None, directory: str | os.PathLike
) -> Path:
    """Write ``model.safetensors`` and ``card.json`` into ``directory``; returns it."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    full = model_card(model, card)
    _write_tensors(directory / MODEL_FILE, model.state_dict(), {"format": CARD_FORMAT})
    _write_json(directory / CARD_FILE, full)
    return directory


def read_card(directory: str | os.PathLike) -> dict[str, Any]:
    path = Path(directory) / CARD_FILE
    if not path.is_file():
        raise ModelAssetError(f"not an extractor checkpoint (no {CARD_FILE}): {directory}")
    card = json.loads(path.read_text())
    if card.get("format") != CARD_FORMAT:
        raise ModelAssetError(
            f"{path}: unsupported checkpoint format {card.get('format')!r}, expected {CARD_FORMAT!r}"
        )
    return card


def load_extractor(directory: str | os.PathLike) -> tuple[FaceExtractor, dict[str, Any]]:
    """Rebuild a saved extractor (in eval mode) and return it with its card."""
    card = read_card(directory)
    model = create_extractor(card["backbone"], weights="none", num_classes=int(card["num_classes"]))
    model.input_size = int(card["input_size"])
    state = load_file(str(Path(directory) / MODEL_FILE), device="cpu")
    model.load_state_dict(state, strict=True)
    return model.eval(), card


def flatten_optimizer(state: Mapping[str, Any]) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Split ``optimizer.state_dict()`` into tensors ``state.<param>.<name>`` and JSON."""
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for pid, entries in state["state"].items():
        for name, value in entries.items():
            if isinstance(value, torch.Tensor):
                tensors[f"state.{pid}.{name}"] = value
            else:
                scalars.setdefault(str(pid), {})[name] = value
    return tensors, {"param_groups": state["param_groups"], "scalars": scalars}


def unflatten_optimizer(tensors: Mapping[str, torch.Tensor], meta: Mapping[str, Any]) -> dict:
    """Inverse of :func:`flatten_optimizer`."""
    state: dict[int, dict[str, Any]] = {}
    for key, value in tensors.items():
        _, pid, name = key.split(".", 2)
        state.setdefault(int(pid), {})[name] = value
    for pid, entries in meta["scalars"].items():
        state.setdefault(int(pid), {}).update(entries)
    return {"state": state, "param_groups": [dict(g) for g in meta["param_groups"]]}


def save_training_state(
    directory: str | os.PathLike,
    model: FaceExtractor,
    card: Mapping[str, Any],
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    state: Mapping[str, Any],
) -> Path:
    """Write a resumable state: model + card, optimizer tensors, and ``state`` (JSON: epoch,
    seeds, history...) plus the scheduler's state. Written to a temporary directory first and
    swapped in, so an interruption leaves the previous state intact."""
    directory = Path(directory)
    tmp = directory.with_name(directory.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    save_extractor(model, card, tmp)
    tensors, opt_meta = flatten_optimizer(optimizer.state_dict())
    _write_tensors(tmp / OPTIMIZER_FILE, tensors, {"format": CARD_FORMAT})
    sched = {k: v for k, v in scheduler.state_dict().items() if k != "lr_lambdas"}
    _write_json(tmp / STATE_FILE, {**state, "optimizer": opt_meta, "scheduler": sched})
    old = directory.with_name(directory.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if directory.exists():
        os.replace(directory, old)
    os.replace(tmp, directory)
    shutil.rmtree(old, ignore_errors=True)
    return directory


def load_training_state(
    directory: str | os.PathLike,
    model: FaceExtractor,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
) -> dict[str, Any]:
    """Restore model, optimizer and scheduler in place; returns the JSON ``state``."""
    directory = Path(directory)
    state = json.loads((directory / STATE_FILE).read_text())
    model.load_state_dict(load_file(str(directory / MODEL_FILE), device="cpu"), strict=True)
    tensors = load_file(str(directory / OPTIMIZER_FILE), device="cpu")
    optimizer.load_state_dict(unflatten_optimizer(tensors, state.pop("optimizer")))
    sched = scheduler.state_dict()
    sched.update(state.pop("scheduler"))
    scheduler.load_state_dict(sched)
    return state
