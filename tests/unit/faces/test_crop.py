import numpy as np
import pytest

from difffake_core.faces.crop import crop_box, crop_face, decode_crop, encode_crop


def test_crop_box_is_square_enlarged_and_inside_frame():
    box = crop_box(np.array([100, 100, 200, 180]), (480, 640), 1.3)
    assert box[2] - box[0] == pytest.approx(130) and box[3] - box[1] == pytest.approx(130)
    assert (box[0] + box[2]) / 2 == pytest.approx(150)
    near_edge = crop_box(np.array([0, 0, 100, 100]), (480, 640), 1.3)
    assert near_edge[0] == 0 and near_edge[1] == 0 and near_edge[2] == pytest.approx(130)
    huge = crop_box(np.array([0, 0, 600, 470]), (480, 640), 1.3)
    assert huge[3] - huge[1] == pytest.approx(480) and huge[2] <= 640


@pytest.mark.parametrize("side", [60, 400])  # upscaled and downscaled crops
def test_landmarks_follow_the_crop(side):
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 255, (600, 800, 3), dtype=np.uint8)
    pts = np.array([[300.0, 250.0], [300.0 + side / 2, 250.0 + side / 3]])
    frame[250, 300] = [255, 0, 0]
    face_box = np.array([300, 250, 300 + side, 250 + side], float)
    c = crop_face(frame, face_box, pts, size=224, scale=1.3)
    assert c.image.shape == (224, 224, 3)
    k = 224 / (c.box[2] - c.box[0])
    expected = (pts - c.box[:2]) * k
    np.testing.assert_allclose(c.landmarks, expected, atol=1.0 + k)


def test_png_roundtrip_is_lossless_and_jpeg_close():
    img = np.random.default_rng(0).integers(0, 255, (32, 32, 3), dtype=np.uint8)
    assert np.array_equal(decode_crop(encode_crop(img, "png")), img)
    smooth = np.tile(np.linspace(0, 255, 32, dtype=np.uint8)[None, :, None], (32, 1, 3))
    assert np.abs(decode_crop(encode_crop(smooth, "jpeg")).astype(int) - smooth).mean() < 3
    with pytest.raises(ValueError, match="webp"):
        encode_crop(img, "webp")
    with pytest.raises(ValueError):
        decode_crop(b"not an image")
