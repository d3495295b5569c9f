"""Shot-cut evidence for identity tracks: how much the picture changed, and the face with it.

A cut that puts another person's face where the last one was passes every position, size and
colour gate of :mod:`difffake_core.faces.tracks`. Two cheap cues, each weak alone, tell it
apart from a continuous shot when they agree:

* **the whole frame** (:func:`scene_signature`, :func:`scene_change`): ``1 - NCC`` of two grey
  thumbnails, after the translation that phase correlation finds between them (a pan, a
  handheld shake or a face-centred crop that follows the head is mostly a shift). A global
  change of brightness or colour (a streamer's RGB lights) leaves the grey structure, and so
  the measure, nearly unchanged; a cut replaces the structure. 0 = the same picture, about 1 =
  unrelated pictures (can reach 2 for an inverted one).
* **the face** (:func:`face_texture`, :func:`texture_distance`): uniform local binary
  patterns (LBP, 8 neighbours at radius 1, 58 uniform codes + 1) in a 4 x 4 grid over the face
  warped by a similarity transform of the eyes, nose tip and mouth corners to a 32-pixel
  template, compared by the chi-square distance (0 = identical, 1 = disjoint). LBP histograms
  are the classic extractor-free face descriptor (Ahonen, Hadid and Pietikainen, "Face
  description with local binary patterns", TPAMI 2006): invariant to any monotonic change of
  brightness, and, on a landmark-aligned face, they describe its texture and the shapes of
  brows, eyes, nose and mouth more than the pose.

What the values look like (ingest samples, 32 frames per clip, of the 20 real and 20
DeepFaceLive clips of ``data/dev`` and the 47 reals and 44 fakes of ``data/dev2``, less the two
clips with shot cuts; ``benchmarks/bench_tracks.py`` measures the tracks end to end): over the
4033 links of one person between consecutive sightings, the scene change has a median of 0.02
and a 99th percentile of 0.33 (above 0.5: 0.2% of links), the texture distance a median of
0.14 and a 99th percentile of 0.39 (above 0.33: 1.9%); both above: 3 links, all in one
face-filling crop turning to profile. Between the last face of one real clip and the first
face of another (a cut between two people, all 4422 ordered pairs of the 67 reals) the scene
change is above 0.5 for 97.5% of pairs and the texture distance above 0.33 for 99.9%.
"""

from __future__ import annotations

import cv2
import numpy as np

SCENE_COLUMNS = 64
TEXTURE_SIZE = 32
TEXTURE_GRID = 4

# Template positions (fractions of TEXTURE_SIZE) of the eye centres, nose tip, mouth corners.
_TEMPLATE = np.array([[0.30, 0.36], [0.70, 0.36], [0.50, 0.58], [0.34, 0.76], [0.66, 0.76]])
_NEIGHBOURS = ((0, 0), (0, 1), (0, 2), (1, 2), (2, 2), (2, 1), (2, 0), (1, 0))


def _uniform_codes() -> np.ndarray:
    """Lookup from an 8-bit LBP code to its uniform-pattern bin (58 uniform codes, then 58)."""
    lut = np.full(256, 58, np.int64)
    u = 0
    for v in range(256):
        bits = [(v >> i) & 1 for i in range(8)]
        if sum(bits[i] != bits[(i + 1) % 8] for i in range(8)) <= 2:
            lut[v] = u
            u += 1
    return lut


_UNIFORM = _uniform_codes()
TEXTURE_BINS = 59


def _ncc(a: np.ndarray, b: np.ndarray) -> float | None:
    a = a - a.mean()
    b = b - b.mean()
    den = float(np.sqrt((a * a).sum() * (b * b).sum()))
    if den < 1e-6 * max(a.size, 1):
        return None  # a flat picture: no structure to compare
    return float((a * b).sum()) / den


def scene_signature(frame: np.ndarray, columns: int = SCENE_COLUMNS) -> np.ndarray:
    """Grey thumbnail of a frame, ``columns`` wide (aspect ratio kept), float32.

    ``frame``: ``(H, W, 3)`` uint8 RGB. Returns ``(rows, columns)``.
    """
    h, w = frame.shape[:2]
    rows = max(1, round(columns * h / max(w, 1)))
    small = cv2.resize(np.ascontiguousarray(frame), (columns, rows), interpolation=cv2.INTER_AREA)
    return cv2.cvtColor(small, cv2.COLOR_RGB2GRAY).astype(np.float32)


def scene_change(a: np.ndarray, b: np.ndarray, max_shift: float = 0.25) -> float:
    """``1 - NCC`` of two :func:`scene_signature` thumbnails, the better of unshifted and
    shifted by the translation phase correlation finds (at most ``max_shift`` of each side).

    Returns 0.0 (no evidence of a cut) when either picture is flat (a black frame).
    """
    if a.shape != b.shape:
        b = cv2.resize(b, (a.shape[1], a.shape[0]), interpolation=cv2.INTER_AREA)
    best = _ncc(a, b)
    if best is None:
        return 0.0
    h, w = a.shape
    if h >= 4 and w >= 4:
        (dx, dy), _ = cv2.phaseCorrelate(a, b, cv2.createHanningWindow((w, h), cv2.CV_32F))
        ix, iy = round(dx), round(dy)
        if (ix or iy) and abs(ix) <= max_shift * w and abs(iy) <= max_shift * h:
            # b(x + ix, y + iy) ~ a(x, y), over the overlap
            x0, x1 = max(0, -ix), min(w, w - ix)
            y0, y1 = max(0, -iy), min(h, h - iy)
            shifted = _ncc(a[y0:y1, x0:x1], b[y0 + iy : y1 + iy, x0 + ix : x1 + ix])
            if shifted is not None:
                best = max(best, shifted)
    return 1.0 - best


def _similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares similarity transform (2 x 3) taking ``src`` points onto ``dst``."""
    ms, md = src.mean(0), dst.mean(0)
    zs = (src[:, 0] - ms[0]) + 1j * (src[:, 1] - ms[1])
    zd = (dst[:, 0] - md[0]) + 1j * (dst[:, 1] - md[1])
    a = complex(np.conj(zs) @ zd) / max(float((np.abs(zs) ** 2).sum()), 1e-12)
    rot = np.array([[a.real, -a.imag], [a.imag, a.real]])
    return np.hstack([rot, (md - rot @ ms)[:, None]])


def aligned_face(frame: np.ndarray, landmarks68: np.ndarray, size: int = TEXTURE_SIZE):
    """The face warped to the ``size`` x ``size`` template (grey uint8).

    Only the region around the landmarks is read; a large face is first shrunk with area
    averaging to twice the template's scale, so the warp does not alias.
    """
    p = np.asarray(landmarks68, np.float64)[:, :2]
    src = np.array([p[36:42].mean(0), p[42:48].mean(0), p[30], p[48], p[54]])
    m = _similarity(src, _TEMPLATE * size)
    scale = float(np.hypot(m[0, 0], m[1, 0]))
    h, w = frame.shape[:2]
    extent = p.max(0) - p.min(0)
    x0, y0 = np.maximum(np.floor(p.min(0) - 0.5 * extent).astype(int), 0)
    x1, y1 = np.minimum(np.ceil(p.max(0) + 0.5 * extent).astype(int), (w, h))
    if x1 - x0 < 2 or y1 - y0 < 2:  # landmarks outside the frame: the frame's edge pixels
        x0, y0, x1, y1 = 0, 0, w, h
    grey = cv2.cvtColor(np.ascontiguousarray(frame[y0:y1, x0:x1]), cv2.COLOR_RGB2GRAY)
    kx = ky = 1.0
    if scale < 0.5:
        nw, nh = max(2, round((x1 - x0) * 2 * scale)), max(2, round((y1 - y0) * 2 * scale))
        grey = cv2.resize(grey, (nw, nh), interpolation=cv2.INTER_AREA)
        kx, ky = nw / (x1 - x0), nh / (y1 - y0)
    # frame -> region pixels: q = diag(kx, ky) (p - (x0, y0)); the warp needs region -> template
    to_region = np.array([[kx, 0.0, -kx * x0], [0.0, ky, -ky * y0], [0.0, 0.0, 1.0]])
    m = m @ np.linalg.inv(to_region)
    return cv2.warpAffine(
        grey, m, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )


def face_texture(frame: np.ndarray, landmarks68: np.ndarray) -> np.ndarray:
    """Uniform-LBP histograms of the aligned face (see the module docstring).

    ``frame``: ``(H, W, 3)`` uint8 RGB; ``landmarks68``: ``(68, 2)`` frame pixels. Returns
    float32 ``(TEXTURE_GRID ** 2 * 59,)``, each cell's histogram summing to ``1 / 16``.
    """
    x = cv2.GaussianBlur(aligned_face(frame, landmarks68), (3, 3), 0).astype(np.int16)
    n = x.shape[0] - 2
    centre = x[1:-1, 1:-1]
    code = np.zeros((n, n), np.int64)
    for bit, (dy, dx) in enumerate(_NEIGHBOURS):
        code |= (x[dy : dy + n, dx : dx + n] >= centre).astype(np.int64) << bit
    g = TEXTURE_GRID
    cell = (np.arange(n) * g // n)[:, None] * g + (np.arange(n) * g // n)[None, :]
    hist = np.bincount((cell * TEXTURE_BINS + _UNIFORM[code]).ravel(), minlength=g * g * 59)
    counts = np.bincount(cell.ravel(), minlength=g * g).astype(np.float64)
    hist = hist.reshape(g * g, TEXTURE_BINS) / counts[:, None] / (g * g)
    return hist.reshape(-1).astype(np.float32)


def texture_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Chi-square distance ``0.5 * sum((a - b)^2 / (a + b))`` of two :func:`face_texture`
    histograms: 0 for identical, 1 for disjoint."""
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    s = a + b
    nz = s > 0
    return float(0.5 * (((a - b) ** 2)[nz] / s[nz]).sum())
