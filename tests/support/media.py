"""Synthetic test media built from real face photos that ship with scikit-image."""

from __future__ import annotations

import math
from pathlib import Path

import av
import cv2
import numpy as np
import skimage.data

from flows import demo_corpus as synthetic


def astronaut() -> np.ndarray:
    """512x512 RGB portrait (a real photo of a real face)."""
    return skimage.data.astronaut()


def faceless() -> np.ndarray:
    """A real photo with no face in it (coffee cup), 400x600 RGB."""
    return skimage.data.coffee()


def moving_frames(
    image: np.ndarray,
    n: int,
    size: tuple[int, int] = (320, 240),
    seed: int = 0,
    zoom: float = 1.0,
) -> list[np.ndarray]:
    """Frames of ``image`` with camera motion (pan, zoom, small rotation) and light changes.

    ``size`` is (width, height). Returns RGB uint8 frames.
    """
    rng = np.random.default_rng(seed)
    h, w = image.shape[:2]
    out_w, out_h = size
    frames = []
    phase = rng.uniform(0, 2 * math.pi)
    for t in range(n):
        a = 2 * math.pi * t / max(n, 1) + phase
        scale = zoom * (out_h / h) * (1.0 + 0.06 * math.sin(a))
        angle = 3.0 * math.sin(0.7 * a)
        m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, scale)
        m[0, 2] += out_w / 2 - w / 2 + 8 * math.cos(a)
        m[1, 2] += out_h / 2 - h / 2 + 5 * math.sin(a)
        frame = cv2.warpAffine(image, m, (out_w, out_h), borderMode=cv2.BORDER_REFLECT)
        gain = 1.0 + 0.15 * math.sin(1.3 * a)
        frame = np.clip(frame.astype(np.float32) * gain + rng.normal(0, 2, frame.shape), 0, 255)
        frames.append(frame.astype(np.uint8))
    return frames


def write_video(
    path: str | Path,
    frames: list[np.ndarray],
    fps: int = 25,
    codec: str = "libx264",
    crf: int = 23,
    faststart: bool = False,
) -> Path:
    """Encode RGB frames (H and W even) with the product's encoder (crf 23 by default)."""
    return synthetic.write_video(path, frames, fps, crf, codec, faststart)


def write_audio_only(path: str | Path, seconds: float = 1.0) -> Path:
    path = Path(path)
    rate = 16000
    with av.open(str(path), "w") as container:
        stream = container.add_stream("aac", rate=rate)
        t = np.arange(int(rate * seconds)) / rate
        samples = (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
        for start in range(0, len(samples), 1024):
            chunk = samples[start : start + 1024][None, :]
            frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="mono")
            frame.sample_rate = rate
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def make_bad_files(folder: str | Path, good_video: Path) -> dict[str, Path]:
    """Files every ingest must survive, keyed by the status they should get."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    data = Path(good_video).read_bytes()
    files = {}
    files["empty_file"] = folder / "empty.mp4"
    files["empty_file"].write_bytes(b"")
    files["corrupt_truncated"] = folder / "truncated.mp4"  # moov atom lost
    files["corrupt_truncated"].write_bytes(data[: len(data) // 3])
    files["corrupt_garbage"] = folder / "garbage.mp4"  # ftyp header, then noise
    rng = np.random.default_rng(1)
    files["corrupt_garbage"].write_bytes(data[:32] + rng.bytes(20000))
    files["not_a_video"] = folder / "notes.mp4"
    files["not_a_video"].write_text("this is a text file, not a video\n")
    files["audio_only"] = write_audio_only(folder / "audio.m4a")
    files["too_few_frames"] = write_video(folder / "one_frame.mp4", moving_frames(astronaut(), 1))
    return files


# -- faces in larger scenes ------------------------------------------------------------------
def grace_hopper() -> np.ndarray:
    """600x512 RGB portrait of Grace Hopper (a second real face; ships with matplotlib)."""
    import matplotlib.cbook
    import skimage.io

    path = matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)
    return np.ascontiguousarray(skimage.io.imread(path)[..., :3])


def scene_background(name: str = "coffee", size: tuple[int, int] = (1920, 1080)) -> np.ndarray:
    """A real photo without a face (``coffee``, ``rocket``, ``gravel``...), resized to
    ``size`` (width, height): the backdrop for pasted faces. RGB uint8."""
    image = getattr(skimage.data, name)()
    if image.ndim == 2:
        image = np.stack([image] * 3, -1)
    return cv2.resize(np.ascontiguousarray(image[..., :3]), size, interpolation=cv2.INTER_LINEAR)


def place_face(
    canvas: np.ndarray,
    photo: np.ndarray,
    face_box: np.ndarray,
    face_height: float,
    centre: tuple[float, float],
    margin: float = 1.9,
) -> tuple[np.ndarray, np.ndarray]:
    """Paste the head of ``photo`` into ``canvas``, scaled so that its face is ``face_height``
    pixels tall and centred at ``centre`` (x, y).

    ``face_box``: the face's (x0, y0, x1, y1) in ``photo`` (from the analyzer). The head is cut
    as a soft-edged ellipse ``margin`` times the face box, so several people can share a frame.
    Returns the new frame and the face box expected in it (float64 ``(4,)``).
    """
    fb = np.asarray(face_box, np.float64)
    k = face_height / (fb[3] - fb[1])
    interp = cv2.INTER_AREA if k < 1 else cv2.INTER_LINEAR
    scaled = cv2.resize(photo, None, fx=k, fy=k, interpolation=interp).astype(np.float32)
    fx, fy = (fb[0] + fb[2]) / 2 * k, (fb[1] + fb[3]) / 2 * k
    dx, dy = centre[0] - fx, centre[1] - fy
    ox, oy = int(round(dx)), int(round(dy))
    h, w = scaled.shape[:2]
    alpha = np.zeros((h, w), np.float32)
    axes = (int(margin * (fb[2] - fb[0]) * k / 2), int(margin * (fb[3] - fb[1]) * k / 2))
    cv2.ellipse(alpha, (int(round(fx)), int(round(fy))), axes, 0, 0, 360, 1.0, -1)
    feather = max(1, int(face_height * 0.08)) * 2 + 1
    alpha = cv2.GaussianBlur(alpha, (feather, feather), 0)[..., None]
    out = canvas.astype(np.float32)
    H, W = out.shape[:2]
    x0, y0, x1, y1 = max(ox, 0), max(oy, 0), min(ox + w, W), min(oy + h, H)
    if x1 > x0 and y1 > y0:
        src = scaled[y0 - oy : y1 - oy, x0 - ox : x1 - ox]
        a = alpha[y0 - oy : y1 - oy, x0 - ox : x1 - ox]
        out[y0:y1, x0:x1] = a * src + (1 - a) * out[y0:y1, x0:x1]
    box = fb * k + [ox, oy, ox, oy]
    return np.clip(out, 0, 255).astype(np.uint8), box


def turn_face(image: np.ndarray, landmarks478: np.ndarray, yaw_deg: float) -> np.ndarray:
    """Re-render the face of a photo turned ``yaw_deg`` degrees about the vertical axis.

    ``landmarks478``: ``(478, 3)`` mesh of the face in ``image`` (x, y pixels, z depth in the
    same unit). The mesh is rotated in 3-D and every visible triangle of it is texture-mapped
    (far triangles first); the original face area is inpainted first, so the result is one
    turned face with the photo's hair and background around it.
    """
    from mediapipe.tasks.python.vision import FaceLandmarksConnections

    edges = [(c.start, c.end) for c in FaceLandmarksConnections.FACE_LANDMARKS_TESSELATION]
    tris = np.array(edges, int).reshape(-1, 3, 2)[:, :, 0]
    pts = np.asarray(landmarks478, np.float64)
    c = pts.mean(0)
    x, y, z = (pts - c).T
    t = math.radians(yaw_deg)
    dst = np.stack([x * math.cos(t) + z * math.sin(t) + c[0], y + c[1]], 1)
    depth = -x * math.sin(t) + z * math.cos(t)
    hull = cv2.convexHull(pts[:, :2].astype(np.float32)).astype(np.int32)
    mask = np.zeros(image.shape[:2], np.uint8)
    cv2.fillConvexPoly(mask, hull, 255)
    out = cv2.inpaint(image, cv2.dilate(mask, np.ones((9, 9), np.uint8)), 5, cv2.INPAINT_TELEA)
    H, W = out.shape[:2]

    def orientation(p: np.ndarray) -> float:
        (ax, ay), (bx, by) = p[1] - p[0], p[2] - p[0]
        return float(np.sign(ax * by - ay * bx))

    for k in np.argsort(-depth[tris].mean(1)):  # far triangles first
        s, d = pts[tris[k], :2], dst[tris[k]]
        if orientation(s) != orientation(d):
            continue  # turned away from the camera
        x0, y0 = np.floor(d.min(0)).astype(int)
        x1, y1 = np.ceil(d.max(0)).astype(int) + 1
        m = cv2.getAffineTransform(s.astype(np.float32), (d - [x0, y0]).astype(np.float32))
        patch = cv2.warpAffine(image, m, (x1 - x0, y1 - y0), borderMode=cv2.BORDER_REFLECT)
        tri_mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
        cv2.fillConvexPoly(tri_mask, np.round(d - [x0, y0]).astype(np.int32), 1)
        X0, Y0, X1, Y1 = max(x0, 0), max(y0, 0), min(x1, W), min(y1, H)
        if X1 <= X0 or Y1 <= Y0:
            continue
        sel = tri_mask[Y0 - y0 : Y1 - y0, X0 - x0 : X1 - x0].astype(bool)
        out[Y0:Y1, X0:X1][sel] = patch[Y0 - y0 : Y1 - y0, X0 - x0 : X1 - x0][sel]
    return out


# -- shot cuts from real clips ---------------------------------------------------------------
def read_frames(path: str | Path, count: int) -> list[np.ndarray]:
    """The first ``count`` frames of a video (RGB uint8)."""
    frames = []
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            frames.append(frame.to_ndarray(format="rgb24"))
            if len(frames) == count:
                break
    return frames


def join_clips(first: Path, second: Path, out: Path, count: int = 100) -> tuple[Path, int]:
    """A video of (up to) ``count`` frames of ``first`` then of ``second`` (scaled to the
    first one's size): one hard shot cut. Returns the path and the cut's frame index (the
    first frame of ``second``)."""
    a = read_frames(first, count)
    h, w = a[0].shape[:2]
    h, w = h - h % 2, w - w % 2
    b = [cv2.resize(f, (w, h), interpolation=cv2.INTER_AREA) for f in read_frames(second, count)]
    return write_video(out, [f[:h, :w] for f in a] + b, crf=18), len(a)
