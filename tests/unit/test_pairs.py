"""Pair strategies, combination ops and pair building."""

from __future__ import annotations

import numpy as np
import pytest

from difffake_core.errors import UnknownNameError
from difffake_core.pairs import CombineOp, PairStrategy, build_pairs, combine, make_pairs


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def _star_centers(pairs: np.ndarray) -> int:
    """Pairs of the paper strategy form stars around partner frames; count the centres."""
    degree = np.bincount(pairs.ravel())
    hubs = set(np.flatnonzero(degree >= 2).tolist())
    for a, b in pairs.tolist():
        assert not (a in hubs and b in hubs), "two partner frames were paired together"
    lone = sum(1 for a, b in pairs.tolist() if a not in hubs and b not in hubs)
    return len(hubs) + lone


@pytest.mark.parametrize(
    ("n", "k", "n_pairs"), [(40, 8, 32), (17, 8, 9), (16, 8, 8), (10, 8, 5), (3, 8, 1), (2, 8, 1)]
)
def test_paper_strategy_counts_and_structure(n: int, k: int, n_pairs: int) -> None:
    pairs = make_pairs(n, PairStrategy.PAPER, rng(), images_to_pair=k)
    assert pairs.shape == (n_pairs, 2)
    assert pairs.dtype == np.int64
    assert np.all(pairs[:, 0] < pairs[:, 1])
    assert pairs.min() >= 0 and pairs.max() < n
    n_partners = k if n > 2 * k else n - n // 2
    assert _star_centers(pairs) <= n_partners
    # every non-partner (base) frame is paired exactly once
    degree = np.bincount(pairs.ravel(), minlength=n)
    assert np.count_nonzero(degree == 1) >= n_pairs


def test_paper_strategy_is_seeded() -> None:
    a = make_pairs(60, "paper", rng(1))
    assert np.array_equal(a, make_pairs(60, "paper", rng(1)))
    assert not np.array_equal(a, make_pairs(60, "paper", rng(2)))


def test_all_and_consecutive() -> None:
    allp = make_pairs(5, "all", rng())
    assert allp.shape == (10, 2)
    assert {tuple(p) for p in allp.tolist()} == {(i, j) for i in range(5) for j in range(i + 1, 5)}
    cons = make_pairs(5, PairStrategy.CONSECUTIVE, rng())
    assert cons.tolist() == [[0, 1], [1, 2], [2, 3], [3, 4]]


@pytest.mark.parametrize("strategy", list(PairStrategy))
@pytest.mark.parametrize("n", [0, 1])
def test_fewer_than_two_frames_gives_empty(strategy: PairStrategy, n: int) -> None:
    pairs = make_pairs(n, strategy, rng())
    assert pairs.shape == (0, 2) and pairs.dtype == np.int64


def test_unknown_strategy_lists_valid_names() -> None:
    with pytest.raises(UnknownNameError, match="consecutive"):
        make_pairs(4, "random", rng())


def test_combine_ops_by_hand() -> None:
    a = np.array([[3.0, 0.0]])
    b = np.array([[0.0, 4.0]])
    assert np.allclose(combine(a, b, CombineOp.DIFF), [[0.6, -0.8]])
    assert np.allclose(combine(a, b, "abs_diff"), [[0.6, 0.8]])
    assert np.allclose(combine(a, b, "sq_diff"), [[9.0, 16.0]] / np.hypot(9.0, 16.0))
    assert np.allclose(combine(a, b, "cube_diff"), [[27.0, -64.0]] / np.hypot(27.0, 64.0))


def test_combine_default_is_sq_diff_unit_norm_float32() -> None:
    x = rng().normal(size=(20, 7))
    y = rng(1).normal(size=(20, 7))
    out = combine(x, y)
    assert out.dtype == np.float32
    assert np.allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-6)
    assert np.allclose(out, combine(x, y, "sq_diff"))
    assert np.all(out >= 0)


def test_combine_zero_row_stays_zero() -> None:
    x = np.ones((2, 3))
    y = np.array([[1.0, 1.0, 1.0], [0.0, 1.0, 1.0]])
    out = combine(x, y, "diff")
    assert not np.isnan(out).any()
    assert np.array_equal(out[0], np.zeros(3))
    assert np.allclose(out[1], [1.0, 0.0, 0.0])


def test_combine_shape_mismatch() -> None:
    with pytest.raises(ValueError, match=r"\(2, 3\)"):
        combine(np.ones((2, 3)), np.ones((3, 3)))


def _toy(n_per: int = 12, dim: int = 5):
    r = rng(3)
    vids, gids, frames = [], [], []
    for v in ("vid_b", "vid_a"):
        for g in (0, 1):
            for f in r.permutation(n_per) * 3:  # unsorted frame numbers
                vids.append(v)
                gids.append(g)
                frames.append(int(f))
    vectors = r.normal(size=(len(vids), dim)).astype(np.float32)
    return np.array(vids), np.array(gids), np.array(frames), vectors


def test_build_pairs_stays_inside_groups_and_matches_rows() -> None:
    vids, gids, frames, vectors = _toy()
    ps = build_pairs(
        vids, frames, vectors, "paper", "sq_diff", rng(), images_to_pair=4, group_ids=gids
    )
    assert len(ps) == 4 * (12 - 4)
    assert np.array_equal(vids[ps.row_a], vids[ps.row_b])
    assert np.array_equal(gids[ps.row_a], gids[ps.row_b])
    assert np.array_equal(ps.video_id, vids[ps.row_a])
    assert np.array_equal(ps.group_id, gids[ps.row_a])
    assert np.array_equal(ps.frame_a, frames[ps.row_a])
    assert np.array_equal(ps.frame_b, frames[ps.row_b])
    assert np.all(ps.frame_a < ps.frame_b)
    assert np.allclose(ps.vectors, combine(vectors[ps.row_a], vectors[ps.row_b], "sq_diff"))
    assert list(dict.fromkeys(ps.video_id.tolist())) == ["vid_a", "vid_b"]  # sorted groups


def test_build_pairs_deterministic_and_batch_independent() -> None:
    vids, gids, frames, vectors = _toy()
    kw = {"strategy": "paper", "op": "diff", "images_to_pair": 3, "group_ids": gids}
    one = build_pairs(vids, frames, vectors, rng=rng(5), **kw)
    two = build_pairs(vids, frames, vectors, rng=rng(5), **kw)
    assert np.array_equal(one.row_a, two.row_a) and np.array_equal(one.row_b, two.row_b)
    other = build_pairs(vids, frames, vectors, rng=rng(6), **kw)
    assert not np.array_equal(one.row_b, other.row_b)
    keep = vids == "vid_a"
    alone = build_pairs(
        vids[keep], frames[keep], vectors[keep], "paper", "diff", rng(5), 3, gids[keep]
    )
    sel = one.video_id == "vid_a"
    assert np.array_equal(alone.frame_a, one.frame_a[sel])
    assert np.array_equal(alone.frame_b, one.frame_b[sel])
    assert np.allclose(alone.vectors, one.vectors[sel])


def test_build_pairs_duplicate_frame_needs_groups() -> None:
    vids = np.array(["v", "v", "v"])
    frames = np.array([0, 5, 5])
    with pytest.raises(ValueError, match="frame 5 appears twice.*group_ids"):
        build_pairs(vids, frames, np.ones((3, 2)), "all", "diff", rng())
    ps = build_pairs(vids, frames, np.eye(3), "all", "diff", rng(), group_ids=[0, 0, 1])
    assert len(ps) == 1 and ps.frame_a.tolist() == [0] and ps.frame_b.tolist() == [5]


def test_build_pairs_empty_and_bad_lengths() -> None:
    ps = build_pairs(np.array(["v"]), [0], np.ones((1, 4)), "consecutive", "diff", rng())
    assert len(ps) == 0 and ps.vectors.shape == (0, 4)
    with pytest.raises(ValueError, match="frame_indices"):
        build_pairs(["v", "v"], [0], np.ones((2, 4)), "all", "diff", rng())
