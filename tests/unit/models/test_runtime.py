from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from difffake_core import runtime as R
from difffake_core.errors import UnknownNameError
from difffake_core.models.backbones import create_extractor
from difffake_core.training.checkpoint import save_extractor
from tests.unit.torch_fixtures import tiny_extractor_with_bn_stats


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory, tiny_name):
    model = tiny_extractor_with_bn_stats(tiny_name, seed=3)
    return save_extractor(model, {}, tmp_path_factory.mktemp("ckpt"))


def _relative_error(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a - b).max() / np.abs(b).max())


def test_onnx_matches_torch_on_real_photos(tiny_checkpoint, photos):
    torch_rt = R.create_runtime("torch", checkpoint=tiny_checkpoint, threads=1)
    onnx_rt = R.create_runtime("onnx", checkpoint=tiny_checkpoint, threads=1)
    assert isinstance(onnx_rt, R.OnnxRuntime) and isinstance(torch_rt, R.EmbeddingRuntime)
    a, b = torch_rt.embed(photos), onnx_rt.embed(photos)
    assert a.shape == b.shape == (5, 256) and a.dtype == b.dtype == np.float32
    assert np.abs(a).max() > 0
    assert _relative_error(b, a) < 1e-4
    # the export is cached next to the checkpoint, named after the weights
    cached = list(tiny_checkpoint.glob("embed-64px-*.onnx"))
    assert cached == [onnx_rt.onnx_path]


@pytest.mark.parametrize("name", ["torch", "onnx"])
def test_batch_of_one_agrees_with_batch_of_n(tiny_checkpoint, photos, name):
    rt = R.create_runtime(name, checkpoint=tiny_checkpoint, batch_size=2)  # 5 -> chunks 2,2,1
    together = rt.embed(photos)
    alone = np.concatenate([rt.embed(photos[i : i + 1]) for i in range(len(photos))])
    assert _relative_error(alone, together) < 1e-5
    # different photos give different embeddings
    assert np.abs(together[0] - together[1]).max() > 1e-3


def test_runtime_rejects_bad_batches(tiny_checkpoint, photos):
    rt = R.create_runtime("torch", checkpoint=tiny_checkpoint)
    with pytest.raises(ValueError, match=r"\(N, H, W, 3\)"):
        rt.embed(photos.astype(np.float32))


def test_unknown_runtime_lists_valid_names(tiny_checkpoint):
    with pytest.raises(UnknownNameError, match="onnx, tensorrt, torch"):
        R.create_runtime("openvino", checkpoint=tiny_checkpoint)


@pytest.mark.skipif(
    R.tensorrt_available(), reason="torch_tensorrt and CUDA are present: nothing to refuse"
)
def test_tensorrt_refuses_clearly_without_gpu_stack(tiny_checkpoint):
    with pytest.raises(R.RuntimeUnavailableError) as err:
        R.create_runtime("tensorrt", checkpoint=tiny_checkpoint)
    message = str(err.value)
    if importlib.util.find_spec("torch_tensorrt") is None:
        assert "pip install difffake[gpu]" in message and "CUDA" in message
    else:
        assert "CUDA GPU" in message


@pytest.mark.skipif(R.tensorrt_available(), reason="auto picks TensorRT on this machine")
def test_auto_uses_onnx_on_cpu_and_falls_back_to_torch(tiny_checkpoint, monkeypatch, photos):
    assert R.create_runtime("auto", checkpoint=tiny_checkpoint).name == "onnx"

    def broken_export(model, path):
        raise RuntimeError("unsupported operator")

    monkeypatch.setattr(R, "export_onnx", broken_export)
    model = create_extractor("tiny_test_efficientnet", weights="none")
    fallback = R.create_runtime("auto", model=model, onnx_path=tiny_checkpoint / "other.onnx")
    assert fallback.name == "torch"
    assert fallback.embed(photos[:2]).shape == (2, 256)


@pytest.mark.slow
def test_lite0_runtimes_agree_on_real_photos(tmp_path):
    import cv2
    from skimage import data

    photos = np.stack(
        [cv2.resize(im, (224, 224)) for im in (data.astronaut(), data.chelsea(), data.coffee())]
    )
    model = create_extractor("efficientnet_lite0").eval()
    eager = R.TorchRuntime(model, threads=1).embed(photos)
    onnx = R.OnnxRuntime(model, tmp_path / "lite0.onnx", threads=1).embed(photos)
    compiled = R.TorchRuntime(model, compile=True, threads=1).embed(photos)
    assert _relative_error(onnx, eager) < 1e-4
    assert _relative_error(compiled, eager) < 1e-4


def test_onnx_input_equals_the_model_preprocessing(tiny_name, photos):
    from difffake_core.runtime import onnx_input

    model = create_extractor(tiny_name, weights="none").eval()
    want = model.preprocess(photos).numpy()
    got = onnx_input(model, photos)
    assert got.shape == want.shape and got.dtype == np.float32 and got.flags.c_contiguous
    np.testing.assert_array_equal(got, want)
    # another size is resized by the model's own preprocessing
    big = np.repeat(np.repeat(photos, 2, axis=1), 2, axis=2)
    np.testing.assert_array_equal(onnx_input(model, big), model.preprocess(big).numpy())
