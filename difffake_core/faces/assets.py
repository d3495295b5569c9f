"""Resolution, download and verification of the MediaPipe Face Landmarker model bundle.

Order: explicit path -> ``DIFFFAKE_FACE_MODEL`` environment variable -> the user cache
(``$DIFFFAKE_CACHE`` or ``~/.cache/difffake``) -> download from MediaPipe's published URL into
the cache. Every file is checked against the expected sha256 before use.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.request
from pathlib import Path

from difffake_core.errors import ModelAssetError

FACE_MODEL_URL = (
    "https://storage.googleapis.com/mediapipe-models/face_landmarker/"
    "face_landmarker/float16/1/face_landmarker.task"
)
FACE_MODEL_SHA256 = "64184e229b263107bc2b804c6625db1341ff2bb731874b0bcc2fe6544e0bc9ff"
FACE_MODEL_FILENAME = "face_landmarker.task"
ENV_VAR = "DIFFFAKE_FACE_MODEL"


def cache_dir() -> Path:
    """The user cache folder for downloaded assets."""
    root = os.environ.get("DIFFFAKE_CACHE") or Path.home() / ".cache" / "difffake"
    return Path(root) / "models"


def sha256_of(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def verify_asset(path: str | os.PathLike, expected_sha256: str = FACE_MODEL_SHA256) -> Path:
    """Return ``path`` if it exists and matches ``expected_sha256``, else raise ModelAssetError."""
    path = Path(path)
    if not path.is_file():
        raise ModelAssetError(f"face model file not found: {path}")
    actual = sha256_of(path)
    if actual != expected_sha256:
        raise ModelAssetError(
            f"face model {path} has sha256 {actual}, expected {expected_sha256}: it is not the "
            "MediaPipe Face Landmarker float16 v1 bundle (wrong or corrupted file). Delete it or "
            f"point {ENV_VAR} at the right file."
        )
    return path


def download_asset(url: str, dest: Path, expected_sha256: str, timeout_s: float = 60.0) -> Path:
    """Download ``url`` to ``dest`` atomically and verify its sha256."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=".download-", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout_s) as resp:
            while block := resp.read(1 << 20):
                out.write(block)
        verify_asset(tmp, expected_sha256)
        os.replace(tmp, dest)
    except ModelAssetError:
        raise
    except OSError as exc:
        raise ModelAssetError(
            f"could not download the face model from {url} ({exc}). Without internet, download "
            f"it elsewhere and set {ENV_VAR}=/path/to/{FACE_MODEL_FILENAME}."
        ) from exc
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return dest


def resolve_face_model(path: str | os.PathLike | None = None, download: bool = True) -> Path:
    """Find (or fetch) the verified face model bundle. See module docstring for the order."""
    if path is not None:
        return verify_asset(path)
    env = os.environ.get(ENV_VAR)
    if env:
        return verify_asset(env)
    cached = cache_dir() / FACE_MODEL_FILENAME
    if cached.is_file():
        return verify_asset(cached)
    if not download:
        raise ModelAssetError(
            f"face model not found: pass a path, set {ENV_VAR}, or allow the download to {cached}"
        )
    return download_asset(FACE_MODEL_URL, cached, FACE_MODEL_SHA256)
