"""Which crops calibrate the int8 extractor: a seeded draw from real videos only."""

from __future__ import annotations

import numpy as np
import pytest

from difffake_core.quantization import calibration_indices


def _rows():
    # 4 real videos (r0..r3, 10 crops each), 2 fakes (f0, f1, 10 each), 1 unlabelled (u0, 5)
    vids, labels = [], []
    for name, label, n in [("r0", "real", 10), ("f0", "fake", 10), ("r1", "real", 10),
                           ("r2", "real", 10), ("f1", "fake", 10), ("r3", "real", 10),
                           ("u0", None, 5)]:  # fmt: skip
        vids += [name] * n
        labels += [label] * n
    return np.array(vids, object), np.array(labels, object)


def test_only_real_or_unlabelled_rows_are_drawn():
    vids, labels = _rows()
    idx = calibration_indices(vids, labels, n=1000, seed=0)
    assert set(vids[idx]) == {"r0", "r1", "r2", "r3", "u0"}
    assert len(idx) == 45  # every real row when fewer than n exist
    assert np.all(np.diff(idx) > 0)


def test_the_draw_is_seeded_and_spread_over_videos():
    vids, labels = _rows()
    a = calibration_indices(vids, labels, n=10, seed=3)
    assert np.array_equal(a, calibration_indices(vids, labels, n=10, seed=3))
    assert not np.array_equal(a, calibration_indices(vids, labels, n=10, seed=4))
    counts = {v: int((vids[a] == v).sum()) for v in set(vids[a])}
    # 10 crops over 5 real videos: two each, never one video filling the set
    assert counts == {"r0": 2, "r1": 2, "r2": 2, "r3": 2, "u0": 2}


def test_a_corpus_of_fakes_gives_no_calibration_rows_and_lengths_must_match():
    vids = np.array(["f0", "f0", "f1"], object)
    assert len(calibration_indices(vids, ["fake"] * 3, n=8, seed=0)) == 0
    with pytest.raises(ValueError, match="differ in length"):
        calibration_indices(vids, ["real"], n=8, seed=0)
