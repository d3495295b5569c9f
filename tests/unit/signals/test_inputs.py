"""Landmarks stored in crop pixels come back to frame pixels for the landmark signal."""

import numpy as np
import pytest

from difffake_core.faces.crop import crop_face
from difffake_core.signals import build_faceset, frame_landmarks


@pytest.mark.parametrize("face_px, tol", [(80, 1e-3), (400, 1.5)])  # crop upscaled / downscaled
def test_frame_landmarks_invert_the_crop(face_px, tol):
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 255, size=(720, 1280, 3), dtype=np.uint8)
    box = np.array([300.0, 150.0, 300.0 + face_px, 150.0 + face_px])
    lm = box[:2] + rng.uniform(0, face_px, size=(68, 2))
    crop = crop_face(frame, box, lm, 224, 1.3)
    back = frame_landmarks(crop.landmarks.reshape(1, -1), crop.box[None], 224)
    np.testing.assert_allclose(back[0], lm, atol=tol)


def test_build_faceset_keeps_missing_inputs_missing():
    fs = build_faceset("k", np.arange(3), np.zeros(3), vectors=np.ones((3, 4)),
                       logits=np.array([0.1, np.nan, 0.2]))  # fmt: skip
    assert fs.landmarks is None and fs.logits is None and fs.vectors.shape == (3, 4)
    assert fs.is_sampled.all()
