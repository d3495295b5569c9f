"""A tiny timm backbone registered for tests: ``test_efficientnet`` (100k parameters) at 64 px."""

from __future__ import annotations

from difffake_core.models.backbones import BACKBONES, BackboneSpec

TINY = "tiny_test_efficientnet"


def ensure_tiny_backbone() -> str:
    """Register the tiny spec once; returns its name."""
    if TINY not in BACKBONES:
        BACKBONES.add(
            TINY,
            BackboneSpec(
                name=TINY,
                timm_name="test_efficientnet",
                embed_dim=256,
                default_weights="none",
                input_size=64,
            ),
        )
    return TINY
