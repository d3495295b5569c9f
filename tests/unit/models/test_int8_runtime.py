"""The int8 ONNX runtime: quantised copies cached beside the fp32 export, agreement with fp32."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from difffake_core import runtime as R
from difffake_core.errors import UnknownNameError, UsageError
from difffake_core.models.backbones import create_extractor
from tests.unit.torch_fixtures import tiny_extractor_with_bn_stats


@pytest.fixture(scope="module")
def tiny_model(tiny_name):
    return tiny_extractor_with_bn_stats(tiny_name, seed=5)


def _cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)


def test_static_int8_is_cached_beside_fp32_and_keyed_by_calibration(tmp_path, tiny_model, photos,
                                                                   caplog):  # fmt: skip
    fp32_path = tmp_path / "embed.onnx"
    with caplog.at_level(logging.WARNING):
        rt = R.create_runtime("int8-onnx", model=tiny_model, onnx_path=fp32_path,
                              calibration=photos, threads=1)  # fmt: skip
    # onnxruntime's advice to pre-process first is dropped (the export has no BN to fold)
    assert not [r for r in caplog.records if "pre-processing" in r.getMessage()]
    assert isinstance(rt, R.OnnxInt8Runtime) and rt.name == "int8-onnx"
    assert fp32_path.is_file() and rt.onnx_path.parent == tmp_path
    assert rt.onnx_path.name.startswith("embed.int8-static-")
    out = rt.embed(photos)
    assert out.shape == (5, 256) and out.dtype == np.float32 and np.isfinite(out).all()
    stamp = rt.onnx_path.stat().st_mtime_ns
    again = R.create_runtime("int8-onnx", model=tiny_model, onnx_path=fp32_path,
                             calibration=photos, threads=1)  # fmt: skip
    assert again.onnx_path == rt.onnx_path and rt.onnx_path.stat().st_mtime_ns == stamp
    other = R.create_runtime("int8-onnx", model=tiny_model, onnx_path=fp32_path,
                             calibration=photos[:3], threads=1)  # fmt: skip
    assert other.onnx_path != rt.onnx_path
    # int8 approximates fp32 on the photos it was calibrated on
    ref = R.create_runtime("onnx", model=tiny_model, onnx_path=fp32_path, threads=1).embed(photos)
    assert _cosine(out, ref).min() > 0.9


def test_dynamic_mode_and_clear_errors(tmp_path, tiny_model, photos):
    rt = R.create_runtime("int8-onnx", model=tiny_model, onnx_path=tmp_path / "e.onnx",
                          mode="dynamic", threads=1)  # fmt: skip
    assert rt.name == "int8-onnx-dynamic" and rt.onnx_path.name == "e.int8-dynamic.onnx"
    assert rt.embed(photos[:2]).shape == (2, 256)
    with pytest.raises(UsageError, match="calibration face crops"):
        R.create_runtime("int8-onnx", model=tiny_model, onnx_path=tmp_path / "e.onnx")
    with pytest.raises(UnknownNameError, match="dynamic, static"):
        R.quantize_onnx(tmp_path / "e.onnx", tmp_path / "x.onnx", mode="float8")


@pytest.mark.shared
@pytest.mark.slow
def test_lite0_int8_agrees_with_fp32_on_real_face_crops(tmp_path, shared_dev):
    """Cosine per crop between int8 and fp32 embeddings of real face crops (dev clips), the
    int8 model calibrated as ``retrain`` does, on real crops of other clips (dev2's)."""
    from benchmarks.bench_cost import SHARED_DEV2, int8_from, real_crops
    from difffake_core.faces.analyzer import FaceAnalyzer
    from difffake_core.ingest import IngestParams, process_video
    from difffake_core.quantization import Int8Settings

    model = create_extractor("efficientnet_lite0", weights="default").eval()
    clips = sorted((shared_dev / "real").glob("*.mp4"))[::5]
    clips += sorted((shared_dev / "fake").glob("*.mp4"))[::5]
    with FaceAnalyzer() as analyzer:
        crops = [r.image for c in clips for r in process_video(
            str(c), IngestParams(n_frames=6), analyzer, encode=False).rows if r.status == "ok"]  # fmt: skip
    batch = np.stack(crops)
    fp32 = R.OnnxRuntime(model, tmp_path / "lite0.onnx").embed(batch)
    images, rows = real_crops(SHARED_DEV2, 8, limit=6)
    int8 = R.OnnxInt8Runtime(model, stored=int8_from(model, images, rows, Int8Settings()))
    cos = _cosine(int8.embed(batch), fp32)
    assert len(cos) >= 40
    assert cos.mean() > 0.97 and cos.min() > 0.9, (cos.mean(), cos.min())
