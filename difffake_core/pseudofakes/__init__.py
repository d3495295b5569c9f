"""Self-blended pseudo-deepfakes (SBI) made from real face crops.

``self_blend(image, landmarks, rng)`` turns one real face crop and its 68 iBUG landmarks
into a :class:`PseudoFake`;
``blend_sequence`` blends consecutive crops of one track with settings that drift smoothly; :class:`SBIConfig` holds every probability and range;
``region_mask`` draws the binary region masks; ``preview_sheet`` writes a contact sheet.
"""

from difffake_core.pseudofakes.blend import (
    BlendDraw,
    PseudoFake,
    blend_images,
    draw_blend,
    render_blend,
    self_blend,
)
from difffake_core.pseudofakes.config import DEFAULT_REGION_WEIGHTS, MaskRegion, SBIConfig
from difffake_core.pseudofakes.masks import DEFAULT_VARIANTS, MASK_VARIANTS, region_mask
from difffake_core.pseudofakes.preview import preview_sheet
from difffake_core.pseudofakes.sequence import blend_sequence, draw_sequence, drift_blend

__all__ = [
    "BlendDraw",
    "DEFAULT_REGION_WEIGHTS",
    "DEFAULT_VARIANTS",
    "MASK_VARIANTS",
    "MaskRegion",
    "PseudoFake",
    "SBIConfig",
    "blend_images",
    "blend_sequence",
    "draw_blend",
    "draw_sequence",
    "drift_blend",
    "preview_sheet",
    "region_mask",
    "render_blend",
    "self_blend",
]
