"""A real face crop with a plausible 68-point iBUG layout, for the pseudo-fake tests.

The landmarks come from a parametric face template (my own proportions, not a detector)
placed by hand on the face of ``skimage.data.astronaut()``. Only geometric plausibility
matters for the mask tests: each group lies over its facial part.
"""

from __future__ import annotations

import cv2
import numpy as np
from skimage import data

# Astronaut face, measured by eye on the 512x512 image: midpoint between the eye centres,
# and the face width at eye level (jaw side to jaw side), in pixels.
_EYE_MID = (225.0, 102.0)
_FACE_WIDTH = 86.0
# Face box (x0, y0, x1, y1) around forehead..chin, before the 1.3x enlargement.
_FACE_BOX = (178.0, 70.0, 272.0, 185.0)


def face_template() -> np.ndarray:
    """68 points in face-width units, origin between the eye centres, y pointing down.

    Shape: ``(68, 2)`` float64.
    """
    pts = np.zeros((68, 2))
    phi = np.pi * np.arange(17) / 16  # jaw: lower half of an ellipse, ear to ear
    pts[0:17, 0] = -0.5 * np.cos(phi)
    pts[0:17, 1] = -0.02 + 0.95 * np.sin(phi) ** 0.8
    s = np.linspace(0.0, 1.0, 5)  # brows, outer end to inner end on the right brow
    pts[17:22, 0] = -0.40 + 0.30 * s
    pts[17:22, 1] = -0.10 - 0.06 * np.sin(np.pi * (0.3 + 0.7 * s)) - 0.02 * s
    pts[22:27, 0] = -pts[17:22, 0][::-1]
    pts[22:27, 1] = pts[17:22, 1][::-1]
    pts[27:31, 1] = [-0.02, 0.08, 0.17, 0.27]  # nose bridge, x = 0
    pts[31:36, 0] = [-0.11, -0.055, 0.0, 0.055, 0.11]
    pts[31:36, 1] = [0.31, 0.325, 0.335, 0.325, 0.31]
    for start, cx in ((36, -0.24), (42, 0.24)):  # eyes: corner, 2 top, corner, 2 bottom
        off = np.array([[-1, 0], [-1 / 3, -1], [1 / 3, -1], [1, 0], [1 / 3, 1], [-1 / 3, 1]])
        pts[start : start + 6] = np.array([cx, 0.0]) + off * np.array([0.09, 0.035])
    k = np.arange(12) * np.pi / 6  # outer lips: left corner, top left->right, bottom back
    pts[48:60] = np.stack([-0.25 * np.cos(k), 0.50 - 0.09 * np.sin(k)], axis=1)
    k = np.arange(8) * np.pi / 4
    pts[60:68] = np.stack([-0.18 * np.cos(k), 0.50 - 0.04 * np.sin(k)], axis=1)
    return pts


def astronaut_landmarks() -> np.ndarray:
    """The template placed on the full 512x512 astronaut image. Shape ``(68, 2)`` float32."""
    return (face_template() * _FACE_WIDTH + np.array(_EYE_MID)).astype(np.float32)


def astronaut_face_crop(size: int = 224, enlarge: float = 1.3) -> tuple[np.ndarray, np.ndarray]:
    """Square face crop (box enlarged ``enlarge`` times), resized to ``size``.

    Returns ``(image, landmarks)``: ``(size, size, 3)`` uint8 RGB and ``(68, 2)`` float32
    pixel coordinates in the crop.
    """
    x0, y0, x1, y1 = _FACE_BOX
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    side = max(x1 - x0, y1 - y0) * enlarge
    left, top = cx - side / 2, cy - side / 2
    scale = size / side
    m = np.array([[scale, 0.0, -left * scale], [0.0, scale, -top * scale]])
    image = cv2.warpAffine(data.astronaut(), m, (size, size), flags=cv2.INTER_AREA)
    lms = (astronaut_landmarks() - np.array([left, top])) * scale
    return image, lms.astype(np.float32)
