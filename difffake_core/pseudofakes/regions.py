"""Face regions a pseudo-fake blends (shared by the masks and the generator's settings)."""

from __future__ import annotations

import enum


class MaskRegion(enum.StrEnum):
    """Which part of the face is blended (a ``str`` enum: ``MaskRegion("eyes")`` works)."""

    FULL_FACE = "full_face"
    EYES = "eyes"
    MOUTH = "mouth"
    LOWER_HEAD = "lower_head"


def as_region(value: MaskRegion | str) -> MaskRegion:
    """``MaskRegion`` from a member or its value; the error lists the valid values."""
    try:
        return MaskRegion(value)
    except ValueError:
        valid = ", ".join(r.value for r in MaskRegion)
        raise ValueError(f"Unknown mask region {value!r}; valid regions: {valid}") from None
