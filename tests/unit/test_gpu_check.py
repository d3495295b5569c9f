"""What of ``benchmarks/gpu_check.py`` can run without a GPU: the refusal and its helpers."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from benchmarks import gpu_check


@pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is present: the check would run")
def test_refuses_without_cuda_and_says_why(capsys):
    assert gpu_check.main([]) == 2
    assert "no CUDA device" in capsys.readouterr().out


def _clips(rng, n_real=6, n_fake=4, frames=8, dim=16):
    clips, vectors = [], []
    for i in range(n_real + n_fake):
        label = int(i >= n_real)
        base = rng.normal(size=dim)
        jitter = 0.05 if label == 0 else 0.6  # fakes: frame-to-frame embeddings disagree
        vectors.append((base + jitter * rng.normal(size=(frames, dim))).astype(np.float32))
        clips.append(
            {"key": f"clip{i}", "label": label, "frames": np.arange(frames) * 3,
             "tracks": np.zeros(frames, np.int64)}
        )  # fmt: skip
    return clips, vectors


def test_pair_error_is_zero_for_identical_and_grows_with_noise():
    rng = np.random.default_rng(0)
    clips, vectors = _clips(rng)
    same = gpu_check.pair_error(clips, vectors, vectors)
    assert same["max_abs"] == 0.0 and same["min_cosine"] == pytest.approx(1.0, abs=1e-6)
    noisy = [v + 1e-2 * rng.normal(size=v.shape).astype(np.float32) for v in vectors]
    err = gpu_check.pair_error(clips, vectors, noisy)
    assert err["max_abs"] > 1e-4 and err["min_cosine"] < 1.0


def test_fit_and_score_separates_unstable_clips():
    clips, vectors = _clips(np.random.default_rng(1))
    scores, auc = gpu_check.fit_and_score(clips, vectors)
    held = [c for i, c in enumerate(clips) if not (c["label"] == 0 and i % 2 == 0)]
    assert len(scores) == len(held) and np.isfinite(scores).all()
    assert auc > 0.5
