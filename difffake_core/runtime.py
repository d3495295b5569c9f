"""Inference runtimes that turn uint8 face crops into embeddings.

Every runtime satisfies :class:`EmbeddingRuntime`: ``embed(batch)`` with ``batch`` of shape
``(N, H, W, 3)`` uint8 RGB returns ``(N, D)`` float32 pre-logit features of the extractor.

- :class:`TorchRuntime`: eager PyTorch (``inference_mode``), optionally ``torch.compile``.
- :class:`OnnxRuntime`: the embedding graph exported to ONNX (dynamic batch), run by
  onnxruntime on CPU; the ``.onnx`` file is cached next to the checkpoint.
- :class:`TensorRTRuntime`: GPU serving through Torch-TensorRT (FP16, dynamic batch).

:func:`create_runtime` picks one by name; ``"auto"`` = TensorRT when CUDA and
``torch_tensorrt`` are present, else ONNX on CPU, else (if the ONNX export fails, e.g. for an
operator the exporter lacks, or when there is no checkpoint directory or ``onnx_path`` to
cache the export in) eager torch. ONNX is preferred on CPU because it measured 3.5x eager
torch's throughput for EfficientNet-Lite0 at batch 32 on 2 cores
(``benchmarks/bench_training.py``).
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np
import torch
from torch import nn

from difffake_core.errors import DiffFakeError
from difffake_core.models.backbones import FaceExtractor

log = logging.getLogger(__name__)

ONNX_OPSET = 17
RUNTIME_NAMES = ("auto", "onnx", "tensorrt", "torch")


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
    ) -> None:
        import onnxruntime as ort

        self.model = model.eval()
        self.batch_size = batch_size
        self.onnx_path = Path(onnx_path)
        if not self.onnx_path.is_file():
            export_onnx(self.model, self.onnx_path)
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(
            str(self.onnx_path), options, providers=["CPUExecutionProvider"]
        )
        self.embed_dim = model.embed_dim

    def embed(self, batch_uint8_nhwc: np.ndarray) -> np.ndarray:
        batch = _check_batch(batch_uint8_nhwc)
        out = np.empty((len(batch), self.embed_dim), dtype=np.float32)
        for part in _chunks(len(batch), self.batch_size):
            x = self.model.preprocess(batch[part]).numpy()
            out[part] = self.session.run(["embeddings"], {"images": x})[0]
        return out


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


class TensorRTRuntime:
    """The embedding graph compiled by Torch-TensorRT (dynamo IR) for batches of
    ``min_batch..max_batch`` (tuned for ``opt_batch``); FP16 kernels allowed, float32 in/out.
    Larger inputs are split into chunks of ``max_batch``."""

    name = "tensorrt"

    def __init__(
        self,
        model: FaceExtractor,
        min_batch: int = 1,
        opt_batch: int = 32,
        max_batch: int = 64,
        fp16: bool = True,
        device: str = "cuda:0",
    ) -> None:
        if not 1 <= min_batch <= opt_batch <= max_batch:
            raise ValueError(
                f"need 1 <= min_batch <= opt_batch <= max_batch, got {min_batch, opt_batch, max_batch}"
            )
        torch_tensorrt = _import_tensorrt()
        self.model = model.eval().to(device)
        self.device = torch.device(device)
        self.max_batch = max_batch
        size = model.input_size
        spec = torch_tensorrt.Input(
            min_shape=(min_batch, 3, size, size),
            opt_shape=(opt_batch, 3, size, size),
            max_shape=(max_batch, 3, size, size),
            dtype=torch.float32,
        )
        precisions = {torch.half} if fp16 else {torch.float32}
        with torch.no_grad():
            self._fn = torch_tensorrt.compile(
                EmbeddingGraph(self.model).eval(),
                ir="dynamo",
                inputs=[spec],
                enabled_precisions=precisions,
            )

    @torch.inference_mode()
    def embed(self, batch_uint8_nhwc: np.ndarray) -> np.ndarray:
        batch = _check_batch(batch_uint8_nhwc)
        out = np.empty((len(batch), self.model.embed_dim), dtype=np.float32)
        for part in _chunks(len(batch), self.max_batch):
            x = self.model.preprocess(batch[part]).to(self.device, non_blocking=True)
            out[part] = self._fn(x).float().cpu().numpy()
        return out


def onnx_cache_path(checkpoint_dir: str | os.PathLike, input_size: int) -> Path:
    """``<checkpoint>/embed-<S>px-<weights hash>.onnx``."""
    from difffake_core.training.checkpoint import MODEL_FILE

    directory = Path(checkpoint_dir)
    return directory / f"embed-{input_size}px-{_file_digest(directory / MODEL_FILE)}.onnx"


def create_runtime(
    name: str,
    model: FaceExtractor | None = None,
    checkpoint: str | os.PathLike | None = None,
    onnx_path: str | os.PathLike | None = None,
    threads: int | None = None,
    batch_size: int = 32,
    **kwargs,
) -> EmbeddingRuntime:
    """Build runtime ``name`` (``"torch"``, ``"onnx"``, ``"tensorrt"`` or ``"auto"``) for
    ``model`` or for the extractor saved in ``checkpoint`` (a directory from
    ``save_extractor``). The ONNX file goes to ``onnx_path``, else next to ``checkpoint``;
    with neither, ``"onnx"`` raises. ``kwargs`` go to the runtime class."""
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

    if name == "auto":
        if tensorrt_available():
            return TensorRTRuntime(model, **kwargs)
        if onnx_path is not None:
            try:
                return OnnxRuntime(model, onnx_path, threads=threads, batch_size=batch_size)
            except Exception as exc:  # exporter gaps are many and version-specific
                log.warning("ONNX export/run failed (%s); falling back to eager torch", exc)
        return TorchRuntime(model, threads=threads, batch_size=batch_size, **kwargs)
    if name == "tensorrt":
        return TensorRTRuntime(model, **kwargs)
    if name == "onnx":
        if onnx_path is None:
            raise ValueError(
                "the onnx runtime needs onnx_path or a checkpoint directory to cache the export in"
            )
        return OnnxRuntime(model, onnx_path, threads=threads, batch_size=batch_size)
    return TorchRuntime(model, threads=threads, batch_size=batch_size, **kwargs)
