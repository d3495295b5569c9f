"""The 68-point layout on real photos: points in anatomically sensible order and places."""

import csv

import numpy as np
import pytest
import skimage.io

from difffake_core.faces.analyzer import FaceAnalyzer
from difffake_core.faces.layout68 import MEDIAPIPE_TO_68, REGIONS_68, to_68
from tests.support.media import astronaut, faceless


@pytest.fixture(scope="module")
def analyzer(face_model):
    with FaceAnalyzer(face_model) as a:
        yield a


def test_index_table_is_68_distinct_mesh_vertices():
    assert len(MEDIAPIPE_TO_68) == 68 and len(set(MEDIAPIPE_TO_68)) == 68
    assert all(0 <= i < 478 for i in MEDIAPIPE_TO_68)
    assert sum(s.stop - s.start for s in REGIONS_68.values()) == 68
    with pytest.raises(ValueError, match="478"):
        to_68(np.zeros((10, 2)))


def check_anatomy(p: np.ndarray) -> None:
    """Assertions that hold for any roughly frontal, upright face. ``p``: (68, 2)."""
    eye_l, eye_r = p[36:42].mean(0), p[42:48].mean(0)
    eye_y = (eye_l[1] + eye_r[1]) / 2
    mouth = p[48:68].mean(0)
    # Left-to-right order along the face.
    assert p[0, 0] < p[8, 0] < p[16, 0]
    assert p[36, 0] < p[39, 0] < p[42, 0] < p[45, 0]  # eye corners
    assert p[17, 0] < p[21, 0] < p[22, 0] < p[26, 0]  # brow ends
    assert p[31, 0] < p[33, 0] < p[35, 0]  # nostrils
    assert p[48, 0] < p[51, 0] < p[54, 0]  # mouth corners and top centre
    # Top-to-bottom order.
    assert p[17:27, 1].mean() < eye_y < p[30, 1] < mouth[1] < p[8, 1]
    assert p[27, 1] < p[28, 1] < p[29, 1] < p[30, 1]  # nose bridge runs down
    assert p[51, 1] < p[62, 1] <= p[66, 1] + 1 < p[57, 1] + 1  # lips: outer top, inner, bottom
    face_h = p[8, 1] - p[17:27, 1].mean()
    assert p[8, 1] >= p[:17, 1].max() - 0.05 * face_h  # chin is (about) the jaw's lowest point
    # Nose tip between the eyes, mouth centred under it.
    assert eye_l[0] < p[30, 0] < eye_r[0]
    assert abs(mouth[0] - p[30, 0]) < 0.25 * (eye_r[0] - eye_l[0]) + 2
    # Eyes are open-ish ellipses: upper lid above lower lid.
    assert p[37, 1] < p[41, 1] and p[44, 1] < p[46, 1]


def test_astronaut_landmarks_are_anatomical(analyzer):
    faces, seen = analyzer.analyze(astronaut())
    assert seen == 1 and len(faces) == 1
    f = faces[0]
    assert f.score > 0.8
    check_anatomy(f.landmarks68)
    # Landmarks lie inside the face box; the face is the astronaut's (upper middle of photo).
    assert np.all(f.landmarks68 >= f.box[:2] - 1) and np.all(f.landmarks68 <= f.box[2:] + 1)
    assert 150 < f.landmarks68[30, 0] < 300 and 60 < f.landmarks68[30, 1] < 200


def test_no_face_in_a_faceless_photo(analyzer):
    faces, seen = analyzer.analyze(faceless())
    assert faces == [] and seen == 0


def test_bad_frame_shape_is_refused(analyzer):
    with pytest.raises(ValueError, match="got"):
        analyzer.analyze(np.zeros((10, 10), np.uint8))


@pytest.mark.shared
def test_shared_photos_landmarks_are_anatomical(analyzer, shared_dev):
    images = shared_dev / "images"
    with open(images / "manifest.csv") as f:
        rows = list(csv.DictReader(f))
    checked = 0
    for row in rows:
        img = skimage.io.imread(images / row["path"])
        if img.ndim == 2 or img.shape[2] != 3:
            img = img[..., :3] if img.ndim == 3 else np.stack([img] * 3, -1)
        faces, _ = analyzer.analyze(np.ascontiguousarray(img.astype(np.uint8)))
        if not faces or abs(faces[0].yaw) > 25 or abs(faces[0].roll) > 20:
            continue  # profile or tilted heads: the frontal-order checks do not apply
        check_anatomy(faces[0].landmarks68)
        checked += 1
    assert checked >= 0.6 * len(rows), f"only {checked}/{len(rows)} photos were frontal faces"
