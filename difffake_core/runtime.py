"""Inference runtimes that turn uint8 face crops into embeddings.

Every runtime satisfies :class:`EmbeddingRuntime`: ``embed(batch)`` with ``batch`` of shape
``(N, H, W, 3)`` uint8 RGB returns ``(N, D)`` float32 pre-logit features of the extractor.

- :class:`TorchRuntime`: eager PyTorch (``inference_mode``), optionally ``torch.compile``.
- :class:`OnnxRuntime`: the embedding graph exported to ONNX (dynamic batch), run by
  onnxruntime on CPU; the ``.onnx`` file is cached next to the checkpoint.
- :class:`OnnxInt8Runtime`: the same graph quantised to int8 by onnxruntime's quantisation
  tools, cached beside the fp32 ``.onnx``. ``"static"`` (QDQ, per-channel weights, activation
  ranges calibrated on real face crops) measured 2.7x fp32's CPU time per crop at cosine
  ~0.99 to fp32; ``"dynamic"`` (``quantize_dynamic``, ranges computed per batch) turns every
  convolution into ``ConvInteger``, which measured 3-4x *slower* than fp32 on this
  EfficientNet at cosine 0.76-0.95 (``benchmarks/bench_scoring.py`` prints both).
- :class:`TensorRTRuntime`: GPU serving through Torch-TensorRT (dynamo, strongly typed,
  rule-based FP16 autocast, dynamic batch), engines cached on disk.
- :class:`CudaRuntime`: eager PyTorch on CUDA under FP16 autocast: a GPU without TensorRT, and
  the fallback (with a warning) when a TensorRT build fails.

:func:`create_runtime` picks one by name; ``"auto"`` = TensorRT when CUDA and
``torch_tensorrt`` are present, else eager CUDA on a GPU, else ONNX on CPU, else (if the ONNX
export fails, e.g. for an operator the exporter lacks, or when there is no checkpoint directory
or ``onnx_path`` to cache the export in) eager torch. ONNX is preferred on CPU because it measured 3.5x eager
torch's throughput for EfficientNet-Lite0 at batch 32 on 2 cores
(``benchmarks/bench_training.py``).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import logging
import os
import warnings
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np
import torch
from torch import nn

from difffake_core.errors import DiffFakeError
from difffake_core.models.backbones import FaceExtractor

log = logging.getLogger(__name__)

ONNX_OPSET = 17
RUNTIME_NAMES = ("auto", "cuda", "int8-onnx", "onnx", "tensorrt", "torch")
QUANTIZATION_MODES = ("static", "dynamic")


class RuntimeUnavailableError(DiffFakeError):
    """The requested runtime cannot run on this machine (package or device missing)."""


@runtime_checkable
class EmbeddingRuntime(Protocol):
    name: str

    def embed(self, batch_uint8_nhwc: np.ndarray) -> np.ndarray:
        """``(N, H, W, 3)`` uint8 -> ``(N, D)`` float32."""
        ...


class EmbeddingGraph(nn.Module):
    """``forward(x) = extractor.embed(x)``: the graph that is exported or compiled."""

    def __init__(self, extractor: FaceExtractor) -> None:
        super().__init__()
        self.extractor = extractor

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.extractor.embed(x)


def _check_batch(batch: np.ndarray) -> np.ndarray:
    batch = np.asarray(batch)
    if batch.ndim != 4 or batch.shape[-1] != 3 or batch.dtype != np.uint8:
        raise ValueError(
            f"expected uint8 images of shape (N, H, W, 3), got {batch.shape} {batch.dtype}"
        )
    return batch


def onnx_input(model: FaceExtractor, batch: np.ndarray) -> np.ndarray:
    """``(N, S, S, 3)`` uint8 -> the network input ``(N, 3, S, S)`` float32, the same values
    as ``model.preprocess`` (same float32 operations in the same order), computed in numpy
    on the calling thread: torch's preprocessing wakes its OpenMP pool, whose spinning
    measured 11 CPU-ms per crop at batch 1 and 1.2 at batch 32 against 0.4-0.6 single-threaded
    on 2 shared cores. Crops of another size go through ``model.preprocess`` (it resizes)."""
    size = model.input_size
    if batch.shape[1:3] != (size, size):
        return model.preprocess(batch).numpy()
    mean = np.asarray(model.spec.mean, np.float32).reshape(1, 3, 1, 1)
    std = np.asarray(model.spec.std, np.float32).reshape(1, 3, 1, 1)
    x = batch.transpose(0, 3, 1, 2).astype(np.float32) / np.float32(255.0)
    return np.ascontiguousarray((x - mean) / std)


def _chunks(n: int, size: int):
    for start in range(0, n, size):
        yield slice(start, min(n, start + size))


class TorchRuntime:
    """Eager PyTorch on CPU or CUDA. ``compile=True`` wraps the graph in ``torch.compile``
    (first call compiles: slow); ``threads`` sets ``torch.set_num_threads`` (process-wide)."""

    def __init__(
        self,
        model: FaceExtractor,
        compile: bool = False,
        threads: int | None = None,
        channels_last: bool = True,
        batch_size: int = 32,
        device: str = "cpu",
    ) -> None:
        if threads:
            torch.set_num_threads(threads)
        self.model = model.eval().to(device)
        self.device = torch.device(device)
        self.channels_last = channels_last
        if channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
        self.batch_size = batch_size
        graph = EmbeddingGraph(self.model).eval()
        self._fn = torch.compile(graph) if compile else graph
        self.name = "torch-compile" if compile else "torch"

    @torch.inference_mode()
    def embed(self, batch_uint8_nhwc: np.ndarray) -> np.ndarray:
        batch = _check_batch(batch_uint8_nhwc)
        out = np.empty((len(batch), self.model.embed_dim), dtype=np.float32)
        for part in _chunks(len(batch), self.batch_size):
            x = self.model.preprocess(batch[part]).to(self.device)
            if self.channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            out[part] = self._fn(x).float().cpu().numpy()
        return out


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]


def export_onnx(model: FaceExtractor, path: str | os.PathLike) -> Path:
    """Export the embedding graph with a dynamic batch axis: input ``images``
    ``(N, 3, S, S)`` float32 normalised, output ``embeddings`` ``(N, D)``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    graph = EmbeddingGraph(model).eval()
    dummy = torch.zeros(2, 3, model.input_size, model.input_size)
    tmp = path.with_suffix(".onnx.tmp")
    # The TorchScript-based exporter (dynamo=False): the torch.export-based one needs
    # onnxscript, which is not a dependency.
    with torch.inference_mode(False), torch.no_grad():
        torch.onnx.export(
            graph,
            (dummy,),
            str(tmp),
            input_names=["images"],
            output_names=["embeddings"],
            dynamic_axes={"images": {0: "batch"}, "embeddings": {0: "batch"}},
            opset_version=ONNX_OPSET,
            dynamo=False,
        )
    os.replace(tmp, path)
    return path


def _session_options(threads: int | None, spin: bool = False):
    """onnxruntime session options. ``spin=False`` (default) lets idle pool threads sleep
    instead of busy-waiting for work: the embeddings are the same, and on 2 shared cores it
    measured 7.9-9.3 instead of 10.5-12.9 CPU-ms per crop (fp32 Lite0) and 3.7-4.8 instead of
    6.6-6.8 (int8) at batch 8-64 (``benchmarks/bench_cost.py``), CPU the face stage of the
    next video can use. ``spin=True`` is onnxruntime's default (the path before issue 12)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    if not spin:
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    return options


class OnnxRuntime:
    """The embedding graph run by onnxruntime (CPU).

    ``onnx_path``: where the export is cached. :func:`create_runtime` puts it next to the
    checkpoint, named after a hash of its weights, so a changed checkpoint re-exports.
    """

    name = "onnx"

    def __init__(
        self,
        model: FaceExtractor,
        onnx_path: str | os.PathLike,
        threads: int | None = None,
        batch_size: int = 32,
        spin: bool = False,
    ) -> None:
        import onnxruntime as ort

        self.model = model.eval()
        self.batch_size = batch_size
        self.onnx_path = Path(onnx_path)
        if not self.onnx_path.is_file():
            export_onnx(self.model, self.onnx_path)
        self.session = ort.InferenceSession(
            str(self.onnx_path), _session_options(threads, spin),
            providers=["CPUExecutionProvider"],
        )  # fmt: skip
        self.embed_dim = model.embed_dim

    def embed(self, batch_uint8_nhwc: np.ndarray) -> np.ndarray:
        batch = _check_batch(batch_uint8_nhwc)
        out = np.empty((len(batch), self.embed_dim), dtype=np.float32)
        for part in _chunks(len(batch), self.batch_size):
            x = onnx_input(self.model, batch[part])
            out[part] = self.session.run(["embeddings"], {"images": x})[0]
        return out


def quantized_onnx_path(fp32_path: str | os.PathLike, mode: str, calibration_key: str = "") -> Path:
    """``<fp32 stem>.int8-<mode>[-<calibration key>].onnx`` beside the fp32 export."""
    fp32_path = Path(fp32_path)
    suffix = f"int8-{mode}" + (f"-{calibration_key}" if calibration_key else "")
    return fp32_path.with_name(f"{fp32_path.stem}.{suffix}.onnx")


def calibration_digest(calibration: np.ndarray) -> str:
    """sha256 (12 hex) of a calibration batch: its shape and bytes."""
    digest = hashlib.sha256(str(calibration.shape).encode())
    digest.update(np.ascontiguousarray(calibration).tobytes())
    return digest.hexdigest()[:12]


@contextlib.contextmanager
def _without_preprocess_advice():
    """Drop onnxruntime's root-logger advice to run its pre-processing (shape inference,
    graph fusion) before quantising: our export already folds batch norm into the
    convolutions (the graph is Conv, Clip, Add and pooling), so it would change nothing, and
    the advice reached every ``retrain``'s console twice."""

    class _Drop(logging.Filter):
        def filter(self, record: logging.LogRecord) -> bool:
            return "pre-processing before quantization" not in record.getMessage()

    drop = _Drop()
    root = logging.getLogger()
    root.addFilter(drop)
    try:
        yield
    finally:
        root.removeFilter(drop)


def quantize_onnx(
    fp32_path: str | os.PathLike,
    out_path: str | os.PathLike,
    mode: str = "static",
    calibration: np.ndarray | None = None,
    batch_size: int = 8,
    quant_format: str = "qdq",
    per_channel: bool = True,
    calibrate_method: str = "minmax",
    exclude: tuple[str, ...] | list[str] = (),
) -> Path:
    """Write an int8 copy of an fp32 embedding graph (atomically).

    ``"static"``: ``quant_format`` ``"qdq"`` (or ``"qoperator"``), symmetric int8 weights
    (per output channel by default), uint8 activations whose ranges are calibrated
    (``calibrate_method``: ``"minmax"``, ``"percentile"`` or ``"entropy"``) on
    ``calibration``, float32 ``(N, 3, S, S)`` network inputs (already normalised); the nodes
    named in ``exclude`` stay float. ``"dynamic"``: ``quantize_dynamic`` with int8 weights;
    ``calibration`` is not used.
    """
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_dynamic,
        quantize_static,
    )

    if mode not in QUANTIZATION_MODES:
        from difffake_core.errors import UnknownNameError

        raise UnknownNameError("quantization mode", mode, QUANTIZATION_MODES)
    out_path = Path(out_path)
    tmp = out_path.with_name(out_path.name + ".tmp")
    if mode == "dynamic":
        quantize_dynamic(str(fp32_path), str(tmp), weight_type=QuantType.QInt8)
    else:
        if calibration is None or len(calibration) == 0:
            raise ValueError("static int8 quantisation needs calibration inputs (N, 3, S, S)")
        batches = [calibration[i : i + batch_size] for i in range(0, len(calibration), batch_size)]

        class _Reader(CalibrationDataReader):
            def __init__(self) -> None:
                self._it = iter(batches)

            def get_next(self):
                batch = next(self._it, None)
                return None if batch is None else {"images": np.ascontiguousarray(batch)}

        formats = {"qdq": QuantFormat.QDQ, "qoperator": QuantFormat.QOperator}
        methods = {"minmax": CalibrationMethod.MinMax, "percentile": CalibrationMethod.Percentile,
                   "entropy": CalibrationMethod.Entropy}  # fmt: skip
        with _without_preprocess_advice():
            quantize_static(
                str(fp32_path), str(tmp), _Reader(), quant_format=formats[quant_format],
                per_channel=per_channel, weight_type=QuantType.QInt8,
                activation_type=QuantType.QUInt8, calibrate_method=methods[calibrate_method],
                nodes_to_exclude=list(exclude),
            )  # fmt: skip
    os.replace(tmp, out_path)
    return out_path


class OnnxInt8Runtime(OnnxRuntime):
    """The embedding graph quantised to int8 (see the module docstring), run by onnxruntime.

    ``stored``: a calibrated int8 graph made at detector fit time
    (:class:`~difffake_core.quantization.Int8Model`, verified by
    :func:`~difffake_core.quantization.load_int8`): run as is, nothing is exported or
    quantised. Otherwise ``onnx_path`` is the fp32 export (made if missing) and the int8 copy
    is cached beside it, named by mode and, for ``"static"``, by a digest of the calibration
    crops, so other calibration data never reuses a stale copy. ``calibration``:
    ``(N, S, S, 3)`` uint8 face crops (static mode; a few hundred crops of real faces).
    """

    def __init__(
        self,
        model: FaceExtractor,
        onnx_path: str | os.PathLike | None = None,
        calibration: np.ndarray | None = None,
        mode: str = "static",
        threads: int | None = None,
        batch_size: int = 32,
        stored=None,
        spin: bool = False,
    ) -> None:
        import onnxruntime as ort

        self.model = model.eval()
        self.batch_size = batch_size
        self.embed_dim = model.embed_dim
        self.mode = mode
        self.name = "int8-onnx" if mode == "static" else "int8-onnx-dynamic"
        options = _session_options(threads, spin)
        if stored is not None:
            self.fp32_path, self.onnx_path, self.stored = None, None, stored
            self.session = ort.InferenceSession(
                stored.onnx, options, providers=["CPUExecutionProvider"]
            )
            return
        self.stored = None
        if onnx_path is None:
            raise ValueError("OnnxInt8Runtime needs onnx_path (the fp32 export) or stored")
        self.fp32_path = Path(onnx_path)
        if not self.fp32_path.is_file():
            export_onnx(self.model, self.fp32_path)
        key = ""
        inputs = None
        if mode == "static":
            if calibration is None:
                from difffake_core.errors import UsageError

                raise UsageError(
                    "the int8-onnx runtime (static) needs calibration face crops (N, S, S, 3) "
                    "uint8, or an extractor that carries a calibrated int8 model (detectors "
                    "made by `difffake retrain` do); otherwise use runtime 'onnx' (or "
                    "mode='dynamic', measured slower than fp32 on this extractor)"
                )
            calibration = _check_batch(calibration)
            key = calibration_digest(calibration)
            inputs = self.model.preprocess(calibration).numpy()
        self.onnx_path = quantized_onnx_path(self.fp32_path, mode, key)
        if not self.onnx_path.is_file():
            quantize_onnx(self.fp32_path, self.onnx_path, mode, inputs)
        self.session = ort.InferenceSession(
            str(self.onnx_path), options, providers=["CPUExecutionProvider"]
        )


def tensorrt_available() -> bool:
    """Whether ``torch_tensorrt`` is installed and a CUDA device is visible."""
    return torch.cuda.is_available() and importlib.util.find_spec("torch_tensorrt") is not None


def _import_tensorrt():
    if importlib.util.find_spec("torch_tensorrt") is None:
        raise RuntimeUnavailableError(
            "the TensorRT runtime needs the torch-tensorrt package, which is not installed: "
            "pip install difffake[gpu] (NVIDIA GPU with CUDA and TensorRT required); "
            "on a CPU machine use runtime 'onnx' or 'torch'"
        )
    if not torch.cuda.is_available():
        raise RuntimeUnavailableError(
            "the TensorRT runtime needs a CUDA GPU, and torch sees none "
            f"(torch {torch.__version__}, CUDA build {torch.version.cuda}); "
            "use runtime 'onnx' or 'torch' on CPU"
        )
    import torch_tensorrt

    return torch_tensorrt


class CudaRuntime(TorchRuntime):
    """Eager PyTorch on a CUDA device under ``torch.autocast`` (FP16 by default): the GPU
    runtime of a machine without TensorRT, and the fallback when a TensorRT build fails.
    Embeddings come back float32 whatever the compute precision."""

    def __init__(
        self,
        model: FaceExtractor,
        fp16: bool = True,
        batch_size: int = 64,
        device: str = "cuda:0",
        channels_last: bool = True,
    ) -> None:
        super().__init__(model, batch_size=batch_size, device=device, channels_last=channels_last)
        self.fp16 = fp16
        self.name = "cuda-fp16" if fp16 else "cuda"

    def embed(self, batch_uint8_nhwc: np.ndarray) -> np.ndarray:
        # autocast only on CUDA tensors; on another device (tests) the eager fp32 path runs
        use_autocast = self.fp16 and self.device.type == "cuda"
        with torch.autocast(
            device_type=self.device.type, dtype=torch.float16, enabled=use_autocast
        ):
            return super().embed(batch_uint8_nhwc)


def weights_digest(model: nn.Module) -> str:
    """sha256 (16 hex) over the model's state dict: parameter names, dtypes, shapes, bytes."""
    digest = hashlib.sha256()
    for key, value in sorted(model.state_dict().items()):
        tensor = value.detach().to("cpu").contiguous()
        digest.update(f"{key}|{tensor.dtype}|{tuple(tensor.shape)}".encode())
        digest.update(tensor.view(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()[:16]


def gpu_identity(device: str | torch.device) -> str:
    """``"<GPU name> sm<major><minor>"`` of a CUDA device: TensorRT engines are built for one
    GPU model and compute capability and must not be reused on another."""
    index = torch.device(device).index or 0
    major, minor = torch.cuda.get_device_capability(index)
    return f"{torch.cuda.get_device_name(index)} sm{major}{minor}"


def engine_cache_key(
    weights: str,
    trt_version: str,
    gpu: str,
    batch_range: tuple[int, int, int],
    input_size: int,
    fp16: bool,
) -> str:
    """Name of a cached engine: every input that makes a built engine invalid is in it."""
    parts = (weights, trt_version, gpu, "x".join(map(str, batch_range)), str(input_size))
    material = "|".join((*parts, "fp16" if fp16 else "fp32"))
    return hashlib.sha256(material.encode()).hexdigest()[:20]


def _check_batch_range(min_batch: int, opt_batch: int, max_batch: int) -> None:
    if not 1 <= min_batch <= opt_batch <= max_batch:
        raise ValueError(
            f"need 1 <= min_batch <= opt_batch <= max_batch, got {min_batch, opt_batch, max_batch}"
        )


class TensorRTRuntime:
    """The embedding graph compiled by Torch-TensorRT (dynamo IR) for batches of
    ``min_batch..max_batch`` (tuned for ``opt_batch``); larger inputs go in chunks of
    ``max_batch``. Input float32 ``(N, 3, S, S)``, output cast to float32 ``(N, D)``.

    Precision follows torch-tensorrt 2.14's documented mechanism: the network is strongly
    typed (``use_explicit_typing=True``) and FP16 comes from its rule-based autocast
    (``enable_autocast=True, autocast_low_precision_type=torch.float16``), which keeps
    overflow-prone layers in FP32. ``enabled_precisions`` is deprecated on the dynamo path and
    is not passed. Pair arithmetic (``difffake_core.pairs``) runs in float32/float64 on the
    float32 embeddings, never in FP16.

    With ``engine_dir``, the compiled program is saved there with
    ``torch_tensorrt.save(..., output_format="exported_program")`` under a name keyed by the
    weights hash, the torch-tensorrt version, the GPU name/compute capability, the batch range,
    the input size and the precision; a later runtime with the same key loads it with
    ``torch_tensorrt.load`` instead of rebuilding (minutes for B4).
    """

    def __init__(
        self,
        model: FaceExtractor,
        min_batch: int = 1,
        opt_batch: int = 64,
        max_batch: int = 256,
        fp16: bool = True,
        device: str = "cuda:0",
        engine_dir: str | os.PathLike | None = None,
    ) -> None:
        _check_batch_range(min_batch, opt_batch, max_batch)
        torch_tensorrt = _import_tensorrt()
        self.model = model.eval().to(device)
        self.device = torch.device(device)
        self.max_batch = max_batch
        self.fp16 = fp16
        self.name = "tensorrt-fp16" if fp16 else "tensorrt-fp32"
        size = model.input_size
        self.input_spec = torch_tensorrt.Input(
            min_shape=(min_batch, 3, size, size),
            opt_shape=(opt_batch, 3, size, size),
            max_shape=(max_batch, 3, size, size),
            dtype=torch.float32,
        )
        self.engine_path: Path | None = None
        self.loaded_from_cache = False
        if engine_dir is not None:
            key = engine_cache_key(
                weights_digest(self.model),
                str(torch_tensorrt.__version__),
                gpu_identity(self.device),
                (min_batch, opt_batch, max_batch),
                size,
                fp16,
            )
            self.engine_path = Path(engine_dir) / f"embed-{size}px-{key}.ep"
        if self.engine_path is not None and self.engine_path.is_file():
            loaded = torch_tensorrt.load(str(self.engine_path))
            self._fn = loaded.module() if hasattr(loaded, "module") else loaded
            self.loaded_from_cache = True
            return
        precision = (
            {"enable_autocast": True, "autocast_low_precision_type": torch.float16}
            if fp16
            else {"enable_autocast": False}
        )
        with torch.no_grad():
            self._fn = torch_tensorrt.compile(
                EmbeddingGraph(self.model).eval(),
                ir="dynamo",
                arg_inputs=[self.input_spec],
                use_explicit_typing=True,
                **precision,
            )
        if self.engine_path is not None:
            self._save(torch_tensorrt)

    def _save(self, torch_tensorrt) -> None:
        """Write the engine atomically; a failed save costs a rebuild next time, nothing more."""
        path = self.engine_path
        tmp = path.with_name(path.name + ".tmp")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # Input objects with min/opt/max let save() keep the batch axis dynamic
            torch_tensorrt.save(
                self._fn, str(tmp), output_format="exported_program", arg_inputs=[self.input_spec]
            )
            os.replace(tmp, path)
        except Exception as exc:  # disk full, serialisation gaps: serving still works
            log.warning("could not cache the TensorRT engine at %s: %s", path, exc)
            tmp.unlink(missing_ok=True)

    @torch.inference_mode()
    def embed(self, batch_uint8_nhwc: np.ndarray) -> np.ndarray:
        batch = _check_batch(batch_uint8_nhwc)
        out = np.empty((len(batch), self.model.embed_dim), dtype=np.float32)
        for part in _chunks(len(batch), self.max_batch):
            x = self.model.preprocess(batch[part]).to(self.device, non_blocking=True)
            out[part] = self._fn(x).float().cpu().numpy()
        return out


def _tensorrt_or_cuda(model: FaceExtractor, **kwargs) -> EmbeddingRuntime:
    """TensorRT; on a CUDA machine where torch-tensorrt is missing or its build fails, eager
    CUDA (FP16 autocast) with a warning: a scoring run never dies of a compiler gap. Without
    CUDA the TensorRT error (what is missing, what to use instead) propagates."""
    _check_batch_range(
        kwargs.get("min_batch", 1), kwargs.get("opt_batch", 64), kwargs.get("max_batch", 256)
    )
    if not torch.cuda.is_available():
        return TensorRTRuntime(model, **kwargs)
    try:
        return TensorRTRuntime(model, **kwargs)
    except RuntimeUnavailableError as exc:
        reason = str(exc)
    except Exception as exc:  # TensorRT build failures are many and version-specific
        reason = f"the TensorRT build failed ({type(exc).__name__}: {exc})"
    message = f"{reason}; serving with eager CUDA (autocast FP16) instead"
    log.warning(message)
    warnings.warn(message, RuntimeWarning, stacklevel=3)
    cuda_kwargs = {k: kwargs[k] for k in ("fp16", "device") if k in kwargs}
    return CudaRuntime(model, **cuda_kwargs)


def onnx_cache_path(checkpoint_dir: str | os.PathLike, input_size: int) -> Path:
    """``<checkpoint>/embed-<S>px-<weights hash>.onnx``."""
    from difffake_core.training.checkpoint import MODEL_FILE

    directory = Path(checkpoint_dir)
    return directory / f"embed-{input_size}px-{_file_digest(directory / MODEL_FILE)}.onnx"


def _stored_int8(checkpoint: str | os.PathLike | None):
    """The verified int8 model stored in ``checkpoint``, or None when it has none."""
    from difffake_core.quantization import has_int8, load_int8

    if checkpoint is None or not has_int8(checkpoint):
        return None
    return load_int8(checkpoint)


def create_runtime(
    name: str,
    model: FaceExtractor | None = None,
    checkpoint: str | os.PathLike | None = None,
    onnx_path: str | os.PathLike | None = None,
    threads: int | None = None,
    batch_size: int = 32,
    engine_dir: str | os.PathLike | None = None,
    **kwargs,
) -> EmbeddingRuntime:
    """Build runtime ``name`` (``"torch"``, ``"onnx"``, ``"int8-onnx"``, ``"cuda"``,
    ``"tensorrt"`` or ``"auto"``) for ``model`` or for the extractor saved in ``checkpoint`` (a directory from
    ``save_extractor``). The ONNX file goes to ``onnx_path``, else next to ``checkpoint``;
    with neither, ``"onnx"`` raises. TensorRT engines are cached in ``engine_dir`` (default:
    ``tensorrt/`` in the user cache). ``kwargs`` go to the runtime class (``"int8-onnx"``:
    ``calibration`` crops and ``mode``, see :class:`OnnxInt8Runtime`). ``"int8-onnx"`` without
    ``calibration`` runs the calibrated int8 model stored in ``checkpoint`` (``int8/``, made
    at detector fit time, see :mod:`difffake_core.quantization`) after verifying it."""
    if name not in RUNTIME_NAMES:
        from difffake_core.errors import UnknownNameError

        raise UnknownNameError("runtime", name, RUNTIME_NAMES)
    if model is None:
        if checkpoint is None:
            raise ValueError("create_runtime needs a model or a checkpoint directory")
        from difffake_core.training.checkpoint import load_extractor

        model, _ = load_extractor(checkpoint)
    if onnx_path is None and checkpoint is not None:
        onnx_path = onnx_cache_path(checkpoint, model.input_size)

    if name in ("auto", "tensorrt") and engine_dir is None:
        from difffake_core.faces.assets import cache_dir

        engine_dir = cache_dir().parent / "tensorrt"
    if name == "auto":
        if tensorrt_available():
            return _tensorrt_or_cuda(model, engine_dir=engine_dir, **kwargs)
        if torch.cuda.is_available():
            log.info("CUDA without torch-tensorrt: eager CUDA runtime (autocast FP16)")
            return CudaRuntime(model, **kwargs)
        if onnx_path is not None:
            try:
                return OnnxRuntime(model, onnx_path, threads=threads, batch_size=batch_size)
            except Exception as exc:  # exporter gaps are many and version-specific
                log.warning("ONNX export/run failed (%s); falling back to eager torch", exc)
        return TorchRuntime(model, threads=threads, batch_size=batch_size, **kwargs)
    if name == "tensorrt":
        return _tensorrt_or_cuda(model, engine_dir=engine_dir, **kwargs)
    if name == "cuda":
        return CudaRuntime(model, **kwargs)
    if name == "int8-onnx" and "calibration" not in kwargs and kwargs.get("mode") != "dynamic":
        stored = _stored_int8(checkpoint)
        if stored is not None:
            return OnnxInt8Runtime(model, threads=threads, batch_size=batch_size, stored=stored,
                                   spin=kwargs.get("spin", False))  # fmt: skip
    if name in ("onnx", "int8-onnx"):
        if onnx_path is None:
            raise ValueError(
                f"the {name} runtime needs onnx_path or a checkpoint directory to cache the "
                "export in"
            )
        if name == "int8-onnx":
            return OnnxInt8Runtime(model, onnx_path, threads=threads, batch_size=batch_size,
                                   **kwargs)  # fmt: skip
        return OnnxRuntime(model, onnx_path, threads=threads, batch_size=batch_size, **kwargs)
    return TorchRuntime(model, threads=threads, batch_size=batch_size, **kwargs)
