"""A small demo corpus built from real face photos that ship with the dependencies.

Reals: each photo filmed by a virtual camera (pan, zoom, small rotation, light changes,
sensor noise, H.264 compression). Fakes: a landmark-driven face swap of another identity onto
those frames (piecewise-affine warp over a Delaunay mesh of the 68 points, colour transfer,
feathered blend), with the per-frame alignment jitter and colour flicker of frame-by-frame
swapping tools. This manipulation is deliberately unlike the training pseudo-fakes (SBI blend
a face with a shifted copy of itself); it gives the demo an honest, if easy, test.

Photos: scikit-image's ``astronaut`` (Eileen Collins, NASA, public domain) and matplotlib's
``grace_hopper`` (US Navy, public domain), plus their mirror images.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from difffake_core.faces.analyzer import FaceAnalyzer


def demo_photos() -> dict[str, np.ndarray]:
    """Real portrait photos (RGB uint8) keyed by identity name."""
    import matplotlib.cbook
    import skimage.data

    with matplotlib.cbook.get_sample_data("grace_hopper.jpg") as f:
        hopper = cv2.cvtColor(cv2.imdecode(np.frombuffer(f.read(), np.uint8), 1), 4)
    astro = skimage.data.astronaut()
    return {
        "astronaut": astro,
        "hopper": hopper,
        "astronaut_mirror": np.ascontiguousarray(astro[:, ::-1]),
        "hopper_mirror": np.ascontiguousarray(hopper[:, ::-1]),
    }


def camera_motion_frames(
    image: np.ndarray, n: int, size: tuple[int, int] = (320, 240), seed: int = 0,
    zoom: float = 1.0, motion: float = 1.0,
) -> list[np.ndarray]:  # fmt: skip
    """``n`` frames of ``image`` seen by a moving camera with light changes and noise.

    ``size`` is (width, height); returns RGB uint8 frames. Deterministic given ``seed``.
    """
    rng = np.random.default_rng(seed)
    h, w = image.shape[:2]
    out_w, out_h = size
    phase = rng.uniform(0, 2 * math.pi)
    speed = rng.uniform(0.6, 1.4)
    frames = []
    for t in range(n):
        a = speed * 2 * math.pi * t / max(n, 1) + phase
        # Fill the frame (no reflected borders: they would add mirrored half-faces).
        scale = zoom * max(out_w / w, out_h / h) * 1.1 * (1.0 + 0.06 * motion * math.sin(a))
        angle = 3.0 * motion * math.sin(0.7 * a)
        m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, scale)
        m[0, 2] += out_w / 2 - w / 2 + 8 * motion * math.cos(a)
        m[1, 2] += out_h / 2 - h / 2 + 5 * motion * math.sin(a)
        frame = cv2.warpAffine(image, m, (out_w, out_h), borderMode=cv2.BORDER_REPLICATE)
        gain = 1.0 + 0.15 * math.sin(1.3 * a)
        noisy = frame.astype(np.float32) * gain + rng.normal(0, 2, frame.shape)
        frames.append(np.clip(noisy, 0, 255).astype(np.uint8))
    return frames


def _triangles(points: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Delaunay triangles (T, 3) of point indices."""
    h, w = shape
    subdiv = cv2.Subdiv2D((0, 0, w, h))
    clipped = np.clip(points, [0, 0], [w - 1, h - 1])
    for x, y in clipped:
        subdiv.insert((float(x), float(y)))
    tris = []
    for x1, y1, x2, y2, x3, y3 in subdiv.getTriangleList():
        idx = []
        for px, py in ((x1, y1), (x2, y2), (x3, y3)):
            d = np.hypot(clipped[:, 0] - px, clipped[:, 1] - py)
            if d.min() > 1.0:
                break
            idx.append(int(d.argmin()))
        if len(idx) == 3 and len(set(idx)) == 3:
            tris.append(idx)
    return np.asarray(tris, np.int64)


def warp_face(
    src: np.ndarray, src_pts: np.ndarray, dst_pts: np.ndarray, dst_shape: tuple[int, int],
    triangles: np.ndarray,
) -> np.ndarray:  # fmt: skip
    """Piecewise-affine warp of ``src`` so ``src_pts`` land on ``dst_pts``. (H, W, 3) out."""
    h, w = dst_shape
    out = np.zeros((h, w, 3), np.float32)
    for tri in triangles:
        s, d = src_pts[tri].astype(np.float32), dst_pts[tri].astype(np.float32)
        x, y, bw, bh = cv2.boundingRect(d)
        if bw <= 0 or bh <= 0:
            continue
        m = cv2.getAffineTransform(s, (d - [x, y]).astype(np.float32))
        patch = cv2.warpAffine(src, m, (bw, bh), flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_REFLECT)  # fmt: skip
        mask = np.zeros((bh, bw), np.float32)
        cv2.fillConvexPoly(mask, np.round(d - [x, y]).astype(np.int32), 1.0)
        x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + bw, w), min(y + bh, h)
        if x1 <= x0 or y1 <= y0:
            continue
        sub_m = mask[y0 - y : y1 - y, x0 - x : x1 - x, None]
        sub_p = patch[y0 - y : y1 - y, x0 - x : x1 - x].astype(np.float32)
        region = out[y0:y1, x0:x1]
        out[y0:y1, x0:x1] = region * (1 - sub_m) + sub_p * sub_m
    return out


@dataclass
class SwapSource:
    """A donor face: photo and its 68 landmarks (pixels)."""

    image: np.ndarray
    landmarks: np.ndarray


def face_swap(
    frame: np.ndarray, frame_pts: np.ndarray, donor: SwapSource, rng: np.random.Generator,
    jitter: float = 0.02, flicker: float = 0.06,
) -> np.ndarray:  # fmt: skip
    """Swap ``donor``'s inner face onto ``frame`` whose 68 landmarks are ``frame_pts``."""
    h, w = frame.shape[:2]
    size = float(np.ptp(frame_pts[:, 0]) + np.ptp(frame_pts[:, 1])) / 2
    centre = frame_pts.mean(0)
    # Per-frame alignment error of frame-by-frame swapping: shift and scale wobble.
    target = centre + (frame_pts - centre) * (1 + rng.normal(0, jitter / 2))
    target = target + rng.normal(0, jitter * size, 2)
    tris = _triangles(target, (h, w))
    warped = warp_face(donor.image, donor.landmarks, target, (h, w), tris)
    hull = cv2.convexHull(np.round(target[list(range(0, 27))]).astype(np.int32))
    mask = np.zeros((h, w), np.float32)
    cv2.fillConvexPoly(mask, hull, 1.0)
    k = max(3, int(size * 0.08) | 1)
    mask = cv2.erode(mask, np.ones((k, k), np.uint8))
    mask = cv2.GaussianBlur(mask, (0, 0), size * 0.04 + 0.5)[..., None]
    # Colour transfer inside the mask, with per-frame flicker.
    inside = mask[..., 0] > 0.5
    if inside.sum() > 10:
        f_lab = cv2.cvtColor(frame, cv2.COLOR_RGB2LAB).astype(np.float32)
        w_lab = cv2.cvtColor(np.clip(warped, 0, 255).astype(np.uint8), cv2.COLOR_RGB2LAB)
        w_lab = w_lab.astype(np.float32)
        for c in range(3):
            fm, fs = f_lab[..., c][inside].mean(), f_lab[..., c][inside].std() + 1e-3
            wm, ws = w_lab[..., c][inside].mean(), w_lab[..., c][inside].std() + 1e-3
            gain = 1 + rng.normal(0, flicker)
            w_lab[..., c] = (w_lab[..., c] - wm) * (fs / ws) * gain + fm
        warped = cv2.cvtColor(np.clip(w_lab, 0, 255).astype(np.uint8), cv2.COLOR_LAB2RGB)
        warped = warped.astype(np.float32)
    out = frame.astype(np.float32) * (1 - mask) + warped * mask
    return np.clip(out, 0, 255).astype(np.uint8)


def write_video(
    path: str | Path,
    frames: list[np.ndarray],
    fps: int = 25,
    crf: int = 20,
    codec: str = "libx264",
    faststart: bool = False,
) -> Path:
    """Encode RGB frames (even height and width) with PyAV; ``crf`` applies to libx264."""
    import av

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    h, w = frames[0].shape[:2]
    options = {"movflags": "faststart"} if faststart else {}
    with av.open(str(path), "w", options=options) as container:
        stream = container.add_stream(codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        if codec == "libx264":
            stream.options = {"crf": str(crf), "preset": "veryfast"}
        for f in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(f, format="rgb24")))
        container.mux(stream.encode())
    return path


def make_demo_corpus(
    out_dir: str | Path,
    analyzer: FaceAnalyzer,
    train_per_identity: int = 4,
    test_real_per_identity: int = 2,
    fakes_per_identity: int = 3,
    n_frames: int = 40,
    size: tuple[int, int] = (320, 240),
    seed: int = 0,
) -> dict[str, Path]:
    """Write a training corpus of reals and a labelled test corpus; returns both roots.

    ``train/real/*.mp4``: ``train_per_identity`` real videos per identity.
    ``test/real/*.mp4``: other real videos of the same people (new camera paths).
    ``test/fake/*.mp4``: each identity's face swapped onto ``fakes_per_identity`` videos of
    another person. Deterministic given ``seed``.
    """
    out = Path(out_dir)
    photos = demo_photos()
    donors = {}
    for name, img in photos.items():
        faces, _ = analyzer.analyze(img)
        if not faces:
            raise RuntimeError(f"no face found in demo photo {name!r}")
        donors[name] = SwapSource(img, faces[0].landmarks68.astype(np.float64))
    rng = np.random.default_rng(seed)
    names = sorted(photos)
    for i, name in enumerate(names):
        for k in range(train_per_identity + test_real_per_identity):
            frames = camera_motion_frames(photos[name], n_frames, size, seed=seed + 100 * i + k)
            split = "train" if k < train_per_identity else "test"
            write_video(out / split / "real" / f"{name}_{k:02d}.mp4", frames,
                      crf=int(rng.integers(18, 28)))  # fmt: skip
        person = name.split("_")[0]
        base = next(n for n in names[i + 1 :] + names[:i] if n.split("_")[0] != person)
        for k in range(fakes_per_identity):
            frames = camera_motion_frames(
                photos[base], n_frames, size, seed=seed + 7000 + 100 * i + k
            )
            swapped = []
            for f in frames:
                faces, _ = analyzer.analyze(f)
                if faces:
                    f = face_swap(f, faces[0].landmarks68.astype(np.float64), donors[name], rng)
                swapped.append(f)
            write_video(out / "test" / "fake" / f"{name}_on_{base}_{k:02d}.mp4", swapped,
                      crf=int(rng.integers(18, 28)))  # fmt: skip
    return {"train": out / "train", "test": out / "test"}
