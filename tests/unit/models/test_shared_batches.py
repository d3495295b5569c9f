"""Crops of several videos embedded in shared batches give each video what its own call
gives, and a failure stays with the video that causes it."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch

from difffake_core import runtime as R
from difffake_core.embedding import SharedBatches, embed_crops
from difffake_core.models.backbones import create_extractor


@pytest.fixture(scope="module")
def runtime(tmp_path_factory, tiny_name):
    torch.manual_seed(2)
    model = create_extractor(tiny_name, weights="none").eval()
    path = tmp_path_factory.mktemp("onnx") / "e.onnx"
    return R.create_runtime("onnx", model=model, onnx_path=path, threads=1)


def _videos(n_videos: int = 6) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [rng.integers(0, 255, (int(rng.integers(1, 9)), 64, 64, 3), np.uint8)
            for _ in range(n_videos)]  # fmt: skip


class _Gate:
    """An embedder that blocks its first call until released, so later callers queue up."""

    def __init__(self, inner, poison: int | None = None) -> None:
        self.inner, self.poison = inner, poison
        self.release = threading.Event()
        self.sizes: list[int] = []

    def embed(self, batch: np.ndarray) -> np.ndarray:
        if not self.sizes:
            self.release.wait(5)
        self.sizes.append(len(batch))
        if self.poison is not None and (batch[:, 0, 0, 0] == self.poison).any():
            raise RuntimeError("native failure on this video's crops")
        return self.inner.embed(batch)


def _score_in_threads(shared: SharedBatches, videos, gate: _Gate):
    results: dict[int, object] = {}

    def work(i: int) -> None:
        try:
            results[i] = shared(list(videos[i]))
        except Exception as exc:  # recorded per video, as score_video records a status
            results[i] = exc

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(videos))]
    threads[0].start()
    while not gate.sizes and not shared._busy:
        pass  # the first caller is inside its (blocked) batch
    for t in threads[1:]:
        t.start()
    while len(shared._pending) < len(videos) - 1:
        threading.Event().wait(0.01)
    gate.release.set()
    for t in threads:
        t.join(10)
    return results


def test_shared_batches_give_each_video_its_own_embeddings(runtime):
    videos = _videos()
    alone = [embed_crops(runtime, list(v), 64) for v in videos]
    gate = _Gate(runtime)
    shared = SharedBatches(gate, 64, max_batch=64)
    results = _score_in_threads(shared, videos, gate)
    for i, v in enumerate(videos):
        assert results[i].shape == (len(v), alone[i].shape[1])
        np.testing.assert_allclose(results[i], alone[i], rtol=1e-5, atol=1e-6)
    # the five videos that queued behind the first went in one batch
    assert len(gate.sizes) == 2 and gate.sizes[1] == sum(len(v) for v in videos[1:])


def test_a_failing_video_fails_alone(runtime):
    videos = _videos()
    videos[3][:, 0, 0, 0] = 7  # marks video 3's crops for the failing embedder
    for i, v in enumerate(videos):
        if i != 3:
            v[:, 0, 0, 0] = 100
    gate = _Gate(runtime, poison=7)
    shared = SharedBatches(gate, 64)
    results = _score_in_threads(shared, videos, gate)
    assert isinstance(results[3], RuntimeError)
    for i, v in enumerate(videos):
        if i != 3:
            np.testing.assert_allclose(results[i], embed_crops(runtime, list(v), 64),
                                       rtol=1e-5, atol=1e-6)  # fmt: skip


def test_a_lone_caller_and_empty_input(runtime):
    shared = SharedBatches(runtime, 64, max_batch=4)
    v = _videos(1)[0]
    np.testing.assert_allclose(shared(list(v)), embed_crops(runtime, list(v), 64), rtol=1e-5,
                               atol=1e-6)  # fmt: skip
    assert shared([]).shape == (0, 0)
    with pytest.raises(ValueError):
        shared([np.zeros((10, 10), np.uint8)])  # a malformed crop fails in the caller
