"""Shared fixtures: synthetic media from real photos, the shared dev set when present."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tasks import _env  # noqa: F401  (Prefect defaults)

SHARED = Path(__file__).resolve().parents[2] / "shared"
SHARED_MODEL = SHARED / "models" / "face_landmarker.task"
SHARED_DEV = SHARED / "data" / "dev"
SHARED_DEV2 = SHARED / "data" / "dev2"

if "DIFFFAKE_FACE_MODEL" not in os.environ and SHARED_MODEL.is_file():
    os.environ["DIFFFAKE_FACE_MODEL"] = str(SHARED_MODEL)


def _have_face_model() -> bool:
    from difffake_core.errors import ModelAssetError
    from difffake_core.faces.assets import resolve_face_model

    try:
        resolve_face_model(download=False)
        return True
    except ModelAssetError:
        return False


@pytest.fixture(scope="session")
def face_model() -> str:
    """Path of the Face Landmarker bundle (skips when it is not available offline)."""
    if not _have_face_model():
        pytest.skip("face model not available: set DIFFFAKE_FACE_MODEL (CI uses ../shared)")
    from difffake_core.faces.assets import resolve_face_model

    return str(resolve_face_model(download=False))


@pytest.fixture(scope="session")
def shared_dev() -> Path:
    if not (SHARED_DEV / "real").is_dir():
        pytest.skip(f"shared dev set not present at {SHARED_DEV}")
    return SHARED_DEV


@pytest.fixture(scope="session")
def shared_dev2() -> Path:
    if not (SHARED_DEV2 / "real").is_dir():
        pytest.skip(f"shared dev2 set not present at {SHARED_DEV2}")
    return SHARED_DEV2


@pytest.fixture(scope="session")
def media(tmp_path_factory) -> dict[str, Path]:
    """Test videos: a talking head with camera motion, light changes and compression, a WebM
    (VP9) copy, a faceless clip, and the bad files of :func:`make_bad_files`."""
    from tests.support.media import (
        astronaut,
        faceless,
        make_bad_files,
        moving_frames,
        write_video,
    )

    folder = tmp_path_factory.mktemp("media")
    head = moving_frames(astronaut(), 40, seed=0)
    out = {
        "talking_head": write_video(folder / "talking_head.mp4", head, crf=28),
        "webm": write_video(folder / "talking_head.webm", head[:20], codec="libvpx-vp9"),
        # MPEG-TS (broadcast archives): decord cannot decode it, PyAV takes over.
        "mpegts": write_video(folder / "talking_head.ts", head[:20]),
        "faceless": write_video(folder / "faceless.mp4", moving_frames(faceless(), 20, seed=1)),
    }
    out.update(make_bad_files(folder / "bad", out["talking_head"]))
    return out


@pytest.fixture(scope="session")
def prefect_harness():
    """One Prefect test server for the whole session (only for tests that run whole flows)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=180):
        yield
