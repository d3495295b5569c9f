"""The 478-point MediaPipe face mesh mapped onto the 68-point iBUG/dlib layout.

Index ``k`` of :data:`MEDIAPIPE_TO_68` is the mesh vertex used as 68-point landmark ``k``.
"Left"/"right" below are image sides for a frontal face (the subject's right is image left).

==========  =======  ==========================================================
68 points   region   MediaPipe mesh vertices
==========  =======  ==========================================================
0-16        jaw      127 234 93 58 172 136 149 148 | 152 | 377 378 365 397 288 323 454 356
17-21       brow L   70 63 105 66 107 (outer -> inner)
22-26       brow R   336 296 334 293 300 (inner -> outer)
27-30       nose     168 197 5 4 (bridge, top -> tip)
31-35       nostrils 75 97 2 326 305 (left -> right)
36-41       eye L    33 160 158 133 153 144 (outer corner, top, top, inner, bottom, bottom)
42-47       eye R    362 385 387 263 373 380 (inner corner, top, top, outer, bottom, bottom)
48-59       lips out 61 39 37 0 267 269 291 405 314 17 84 181 (left corner, clockwise)
60-67       lips in  78 82 13 312 308 317 14 87
==========  =======  ==========================================================

The jaw uses the mesh's face-oval vertices, mirrored pairwise (127<->356, 234<->454, ...), so
point 8 is the chin (152) and 0/16 sit at eye level on the face contour as in dlib.
"""

from __future__ import annotations

import numpy as np

MEDIAPIPE_TO_68: tuple[int, ...] = (
    # jaw 0-16
    127, 234, 93, 58, 172, 136, 149, 148, 152, 377, 378, 365, 397, 288, 323, 454, 356,
    # brows 17-26
    70, 63, 105, 66, 107, 336, 296, 334, 293, 300,
    # nose 27-35
    168, 197, 5, 4, 75, 97, 2, 326, 305,
    # eyes 36-47
    33, 160, 158, 133, 153, 144, 362, 385, 387, 263, 373, 380,
    # mouth 48-67
    61, 39, 37, 0, 267, 269, 291, 405, 314, 17, 84, 181, 78, 82, 13, 312, 308, 317, 14, 87,
)  # fmt: skip

REGIONS_68: dict[str, slice] = {
    "jaw": slice(0, 17),
    "brows": slice(17, 27),
    "nose": slice(27, 36),
    "eyes": slice(36, 48),
    "mouth": slice(48, 68),
}


def to_68(landmarks478: np.ndarray) -> np.ndarray:
    """Select the 68-point layout. ``(478, C)`` -> ``(68, C)``."""
    if landmarks478.ndim != 2 or landmarks478.shape[0] < 468:
        raise ValueError(f"expected mesh landmarks of shape (478, C), got {landmarks478.shape}")
    return landmarks478[list(MEDIAPIPE_TO_68)]
