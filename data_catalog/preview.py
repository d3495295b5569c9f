"""Contact sheets of face crops with their 68 landmarks drawn, for a person to look at."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

# Colours (RGB) per landmark region: jaw, brows, nose, eyes, mouth.
REGION_COLOURS = (
    (slice(0, 17), (255, 255, 0)),
    (slice(17, 27), (255, 128, 0)),
    (slice(27, 36), (0, 255, 255)),
    (slice(36, 48), (0, 255, 0)),
    (slice(48, 68), (255, 0, 255)),
)


def draw_landmarks(image: np.ndarray, landmarks: np.ndarray, radius: int = 1) -> np.ndarray:
    """Copy of ``image`` (H, W, 3) RGB with ``landmarks`` (68, 2) drawn by region."""
    out = image.copy()
    for sl, colour in REGION_COLOURS:
        for x, y in landmarks[sl]:
            cv2.circle(out, (int(round(x)), int(round(y))), radius, colour, -1, cv2.LINE_AA)
    return out


def contact_sheet(
    tiles: list[np.ndarray], captions: list[str] | None = None, columns: int = 8, tile: int = 160
) -> np.ndarray:
    """Grid of RGB tiles with optional captions. Returns an (H, W, 3) uint8 image."""
    if not tiles:
        raise ValueError("no tiles to draw")
    rows = (len(tiles) + columns - 1) // columns
    cap_h = 14 if captions else 0
    sheet = np.full((rows * (tile + cap_h), columns * tile, 3), 32, np.uint8)
    for i, img in enumerate(tiles):
        r, c = divmod(i, columns)
        y, x = r * (tile + cap_h), c * tile
        sheet[y : y + tile, x : x + tile] = cv2.resize(img, (tile, tile))
        if captions:
            cv2.putText(
                sheet, captions[i][:26], (x + 2, y + tile + 11), cv2.FONT_HERSHEY_SIMPLEX,
                0.33, (230, 230, 230), 1, cv2.LINE_AA,
            )  # fmt: skip
    return sheet


def write_png(path: str | Path, image: np.ndarray) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), cv2.cvtColor(image, cv2.COLOR_RGB2BGR)):
        raise OSError(f"could not write {path}")
    return path
