"""The TensorRT path up to the compile call, against a fake ``torch_tensorrt`` module.

torch-tensorrt cannot be installed on these CPU machines, so a stand-in module is put into
``sys.modules``; it records every call and asserts nothing itself: the tests assert the exact
arguments the runtime passes (torch-tensorrt 2.14's documented API), the engine cache and the
fallback to eager CUDA. ``benchmarks/gpu_check.py`` exercises the real thing on a GPU.
"""

from __future__ import annotations

import importlib.machinery
import sys
import types
from pathlib import Path

import numpy as np
import pytest
import torch

from difffake_core import runtime as R
from difffake_core.models.backbones import create_extractor

GPU = "NVIDIA H200 sm90"


class FakeInput:
    def __init__(self, min_shape=None, opt_shape=None, max_shape=None, dtype=None):
        self.min_shape, self.opt_shape, self.max_shape = min_shape, opt_shape, max_shape
        self.dtype = dtype


class FakeTorchTensorRT(types.ModuleType):
    """Records ``compile``/``save``/``load``; the "engine" is the eager graph, returning FP16
    as an autocast engine does."""

    def __init__(self, version: str = "2.14.0") -> None:
        super().__init__("torch_tensorrt")
        self.__spec__ = importlib.machinery.ModuleSpec("torch_tensorrt", None)
        self.__version__ = version
        self.Input = FakeInput
        self.compile_calls: list[tuple[object, dict]] = []
        self.save_calls: list[tuple[object, str, dict]] = []
        self.load_calls: list[str] = []
        self.engine_batches: list[int] = []
        self.fail_compile: Exception | None = None
        self.fail_save: Exception | None = None
        self._saved: dict[str, object] = {}

    def compile(self, module, **kwargs):
        self.compile_calls.append((module, kwargs))
        if self.fail_compile is not None:
            raise self.fail_compile

        def engine(x: torch.Tensor) -> torch.Tensor:
            self.engine_batches.append(x.shape[0])
            return module(x).half()

        return engine

    def save(self, module, path, **kwargs):
        self.save_calls.append((module, path, kwargs))
        if self.fail_save is not None:
            raise self.fail_save
        Path(path).write_bytes(b"serialized exported program")
        self._saved[Path(path).name] = module

    def load(self, path):
        self.load_calls.append(path)
        saved_as = Path(path).name.removesuffix(".tmp")
        module = self._saved.get(saved_as) or next(
            m for name, m in self._saved.items() if name.startswith(saved_as)
        )
        return types.SimpleNamespace(module=lambda: module)


@pytest.fixture
def fake_trt(monkeypatch):
    fake = FakeTorchTensorRT()
    monkeypatch.setitem(sys.modules, "torch_tensorrt", fake)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(R, "gpu_identity", lambda device: GPU)
    return fake


@pytest.fixture
def model(tiny_name):
    torch.manual_seed(5)
    return create_extractor(tiny_name, weights="none").eval()


def test_compile_gets_the_documented_fp16_arguments(fake_trt, model, tmp_path):
    rt = R.TensorRTRuntime(model, device="cpu", engine_dir=tmp_path)
    assert rt.name == "tensorrt-fp16" and len(fake_trt.compile_calls) == 1
    module, kwargs = fake_trt.compile_calls[0]
    assert isinstance(module, R.EmbeddingGraph) and module.extractor is rt.model
    assert not module.training
    assert set(kwargs) == {
        "ir",
        "arg_inputs",
        "use_explicit_typing",
        "enable_autocast",
        "autocast_low_precision_type",
    }
    assert kwargs["ir"] == "dynamo"
    assert kwargs["use_explicit_typing"] is True
    assert kwargs["enable_autocast"] is True
    assert kwargs["autocast_low_precision_type"] is torch.float16
    (spec,) = kwargs["arg_inputs"]
    s = model.input_size
    assert isinstance(spec, FakeInput) and spec.dtype is torch.float32
    assert (spec.min_shape, spec.opt_shape, spec.max_shape) == (
        (1, 3, s, s),
        (64, 3, s, s),
        (256, 3, s, s),
    )


def test_fp32_engine_is_strongly_typed_without_autocast(fake_trt, model):
    R.TensorRTRuntime(model, fp16=False, min_batch=2, opt_batch=8, max_batch=16, device="cpu")
    _, kwargs = fake_trt.compile_calls[0]
    assert kwargs["use_explicit_typing"] is True and kwargs["enable_autocast"] is False
    assert "autocast_low_precision_type" not in kwargs and "enabled_precisions" not in kwargs
    (spec,) = kwargs["arg_inputs"]
    assert (spec.min_shape[0], spec.opt_shape[0], spec.max_shape[0]) == (2, 8, 16)


def test_embeddings_are_float32_and_chunked_by_max_batch(fake_trt, model, photos):
    rt = R.TensorRTRuntime(model, min_batch=1, opt_batch=2, max_batch=2, device="cpu")
    out = rt.embed(photos)
    assert out.dtype == np.float32 and out.shape == (5, model.embed_dim)
    assert fake_trt.engine_batches == [2, 2, 1]
    eager = R.TorchRuntime(model, channels_last=False).embed(photos)
    # the fake engine rounds to FP16 like a real FP16 engine's output
    assert np.abs(out - eager).max() <= 1e-2 * np.abs(eager).max()


def test_engine_is_saved_as_exported_program_and_reloaded(fake_trt, model, tmp_path, photos):
    first = R.TensorRTRuntime(model, device="cpu", engine_dir=tmp_path)
    assert not first.loaded_from_cache
    (saved_module, saved_path, save_kwargs) = fake_trt.save_calls[0]
    assert save_kwargs == {"output_format": "exported_program", "arg_inputs": [first.input_spec]}
    assert saved_path.endswith(".tmp")  # written aside, then renamed
    assert sorted(p.name for p in tmp_path.iterdir()) == [first.engine_path.name]
    assert first.engine_path.suffix == ".ep"

    second = R.TensorRTRuntime(model, device="cpu", engine_dir=tmp_path)
    assert len(fake_trt.compile_calls) == 1, "a cached engine must not be rebuilt"
    assert second.loaded_from_cache and fake_trt.load_calls == [str(first.engine_path)]
    assert np.array_equal(second.embed(photos[:3]), first.embed(photos[:3]))


def test_engine_cache_key_covers_what_invalidates_an_engine(fake_trt, model, tmp_path, monkeypatch):
    base = dict(weights="w1", trt_version="2.14.0", gpu=GPU, batch_range=(1, 64, 256))
    key = R.engine_cache_key(**base, input_size=224, fp16=True)
    for change in (
        {"weights": "w2"},
        {"trt_version": "2.15.0"},
        {"gpu": "NVIDIA A100 sm80"},
        {"batch_range": (1, 64, 512)},
    ):
        assert R.engine_cache_key(**{**base, **change}, input_size=224, fp16=True) != key
    assert R.engine_cache_key(**base, input_size=380, fp16=True) != key
    assert R.engine_cache_key(**base, input_size=224, fp16=False) != key

    a = R.TensorRTRuntime(model, device="cpu", engine_dir=tmp_path)
    monkeypatch.setattr(R, "gpu_identity", lambda device: "NVIDIA L4 sm89")
    b = R.TensorRTRuntime(model, device="cpu", engine_dir=tmp_path)
    assert a.engine_path != b.engine_path and len(fake_trt.compile_calls) == 2
    with torch.no_grad():
        next(model.parameters()).add_(1.0)  # new weights, same architecture
    c = R.TensorRTRuntime(model, device="cpu", engine_dir=tmp_path)
    assert c.engine_path not in (a.engine_path, b.engine_path)


def test_weights_digest_follows_the_weights(model):
    before = R.weights_digest(model)
    assert before == R.weights_digest(model)
    with torch.no_grad():
        next(model.parameters()).mul_(1.5)
    assert R.weights_digest(model) != before


def test_failed_compile_falls_back_to_eager_cuda_with_a_warning(fake_trt, model, photos):
    fake_trt.fail_compile = RuntimeError("no converter for aten::weird_op")
    with pytest.warns(RuntimeWarning, match="TensorRT build failed.*weird_op.*eager CUDA"):
        rt = R.create_runtime("tensorrt", model=model, device="cpu")
    assert isinstance(rt, R.CudaRuntime)
    eager = R.TorchRuntime(model, channels_last=False).embed(photos)
    assert np.allclose(rt.embed(photos), eager, atol=1e-5)


def test_failed_save_keeps_serving_and_leaves_no_partial_file(fake_trt, model, tmp_path):
    fake_trt.fail_save = OSError(28, "No space left on device")
    rt = R.TensorRTRuntime(model, device="cpu", engine_dir=tmp_path)
    assert list(tmp_path.iterdir()) == []
    assert rt.embed(np.zeros((1, 64, 64, 3), np.uint8)).shape == (1, model.embed_dim)


def test_auto_prefers_tensorrt_when_present(fake_trt, model, tmp_path):
    rt = R.create_runtime("auto", model=model, device="cpu", engine_dir=tmp_path)
    assert isinstance(rt, R.TensorRTRuntime)
    assert rt.engine_path is not None and rt.engine_path.parent == tmp_path


def test_cuda_machine_without_tensorrt_serves_eager_cuda(monkeypatch, model):
    monkeypatch.setitem(sys.modules, "torch_tensorrt", None)  # import would fail
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(R.importlib.util, "find_spec", lambda name: None)
    assert isinstance(R.create_runtime("auto", model=model, device="cpu"), R.CudaRuntime)
    with pytest.warns(RuntimeWarning, match="torch-tensorrt package"):
        rt = R.create_runtime("tensorrt", model=model, device="cpu")
    assert rt.name == "cuda-fp16"


def test_bad_batch_range_is_an_error_not_a_fallback(fake_trt, model):
    with pytest.raises(ValueError, match="min_batch <= opt_batch"):
        R.create_runtime("tensorrt", model=model, device="cpu", opt_batch=512, max_batch=256)
