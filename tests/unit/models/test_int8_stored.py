"""A calibrated int8 extractor travels inside the detector folder: bytes, checksums, runtime."""

from __future__ import annotations

import json

import numpy as np
import onnxruntime as ort
import pytest
import torch

from difffake_core import runtime as R
from difffake_core.detector import Detector, PairSettings
from difffake_core.detector_fit import FitSettings, fit_detector
from difffake_core.errors import ModelAssetError, UsageError
from difffake_core.quantization import (
    INT8_CARD,
    INT8_DIR,
    INT8_MODEL,
    Int8Settings,
    load_int8,
    quantize_extractor,
    weights_sha256,
)
from difffake_core.signals import build_faceset
from difffake_core.training.checkpoint import save_extractor
from tests.unit.torch_fixtures import tiny_extractor_with_bn_stats

# the default exclusions name EfficientNet nodes the tiny backbone lacks: they are skipped
TINY = Int8Settings(crops=5)


@pytest.fixture(scope="module")
def extractor(tmp_path_factory, tiny_name, photos):
    model = tiny_extractor_with_bn_stats(tiny_name, seed=5)
    folder = save_extractor(model, {}, tmp_path_factory.mktemp("ext") / "extractor")
    int8 = quantize_extractor(model, photos, weights_sha256(folder), TINY)
    return model, folder, int8


def _detector() -> Detector:
    rng = np.random.default_rng(0)

    def faces(i: int):
        v = rng.normal(size=(6, 16)).astype(np.float32)
        return build_faceset(f"v{i}", np.arange(6), np.zeros(6, np.int64), vectors=v)

    settings = FitSettings(pairs=PairSettings(images_to_pair=2, min_pairs=2),
                           signals=("pairs", "frame"), min_calibration=2)  # fmt: skip
    return fit_detector([faces(i) for i in range(12)], [faces(i) for i in range(12, 16)],
                        settings).detector  # fmt: skip


def _cos(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)


def test_quantisation_is_reproducible_and_carded(extractor, photos):
    model, folder, int8 = extractor
    again = quantize_extractor(model, photos, weights_sha256(folder), TINY)
    assert again.onnx == int8.onnx  # same crops, same settings: the same bytes
    card = int8.card
    assert card["onnx_sha256"] == int8.sha256 and card["calibration_crops"] == 5
    assert card["weights_sha256"] == weights_sha256(folder)
    other = quantize_extractor(model, photos[:3], weights_sha256(folder), TINY)
    assert other.card["calibration_sha256"] != card["calibration_sha256"]


def test_detector_round_trip_keeps_the_int8_bytes_and_the_runtime_uses_them(
    tmp_path, extractor, photos
):
    model, folder, int8 = extractor
    det = _detector()
    det.save(tmp_path / "det", extractor_dir=folder, int8=int8)
    loaded = Detector.load(tmp_path / "det")
    stored = tmp_path / "det" / "extractor" / INT8_DIR / INT8_MODEL
    assert stored.read_bytes() == int8.onnx
    assert loaded.card["int8"]["onnx_sha256"] == int8.sha256
    assert loaded.version == det.version

    rt = R.create_runtime("int8-onnx", checkpoint=tmp_path / "det" / "extractor", threads=1)
    assert isinstance(rt, R.OnnxInt8Runtime) and rt.stored is not None
    assert rt.onnx_path is None  # nothing exported or quantised at scoring time
    got = rt.embed(photos)
    session = ort.InferenceSession(int8.onnx, providers=["CPUExecutionProvider"])
    want = session.run(["embeddings"], {"images": model.preprocess(photos).numpy()})[0]
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    fp32 = R.create_runtime("onnx", model=model, onnx_path=tmp_path / "fp32.onnx", threads=1)
    assert _cos(got, fp32.embed(photos)).min() > 0.9


def test_a_tampered_int8_model_is_refused(tmp_path, extractor):
    _, folder, int8 = extractor
    _detector().save(tmp_path / "det", extractor_dir=folder, int8=int8)
    stored = tmp_path / "det" / "extractor" / INT8_DIR / INT8_MODEL
    data = bytearray(stored.read_bytes())
    data[len(data) // 2] ^= 0x01
    stored.write_bytes(bytes(data))
    with pytest.raises(ModelAssetError, match=f"{INT8_DIR}/{INT8_MODEL}.*differs"):
        Detector.load(tmp_path / "det")
    # the runtime checks the card too, without the detector's checksums
    with pytest.raises(ModelAssetError, match="content differs"):
        R.create_runtime("int8-onnx", checkpoint=tmp_path / "det" / "extractor")


def test_int8_of_other_weights_is_refused(tmp_path, extractor):
    model, folder, int8 = extractor
    card = json.loads((folder / "card.json").read_text())
    with torch.no_grad():
        next(model.parameters()).add_(1.0)
    other = save_extractor(model, card, tmp_path / "other")
    with torch.no_grad():
        next(model.parameters()).sub_(1.0)
    with pytest.raises(ValueError, match="other weights"):
        _detector().save(tmp_path / "det", extractor_dir=other, int8=int8)
    # a bare extractor folder whose int8 card names other weights
    (other / INT8_DIR).mkdir()
    (other / INT8_DIR / INT8_MODEL).write_bytes(int8.onnx)
    (other / INT8_DIR / INT8_CARD).write_text(json.dumps(int8.card))
    with pytest.raises(ModelAssetError, match="other weights"):
        load_int8(other)


def test_an_extractor_without_int8_asks_for_a_retrain_or_onnx(tmp_path, extractor):
    model, _, _ = extractor
    bare = save_extractor(model, {}, tmp_path / "bare")
    with pytest.raises(UsageError, match="difffake retrain"):
        R.create_runtime("int8-onnx", checkpoint=bare, onnx_path=tmp_path / "e.onnx")
    with pytest.raises(ModelAssetError, match="no calibrated int8 model"):
        load_int8(bare)
