"""Signals on the extractor's face embeddings: ``pairs``, ``adjacent_pairs`` and ``frame``.

``pairs``
    DiffFake itself: sampled frames of one track are paired (:mod:`difffake_core.pairs`,
    the paper's ``paper`` strategy and ``sq_diff`` by default), each pair combined and
    L2-normalised, and an anomaly model fitted on real pairs. With ``anomaly_model="gmm"``,
    ``images_to_pair=8`` and ``op="sq_diff"`` it is the paper's setting.
``adjacent_pairs``
    The same, but each pair is a sampled frame and a *neighbour* decoded 1-2 frames from
    it (``IngestParams.neighbour_offsets``): sampled frames are seconds apart, so only these
    pairs see frame-to-frame flicker of a swap or a generator. Needs neighbour rows.
``frame``
    The paper's single-frame Baseline: one unit per sampled frame, its L2-normalised
    embedding.
"""

from __future__ import annotations

import numpy as np

from difffake_core.pairs import CombineOp, PairStrategy, build_pairs, combine
from difffake_core.signals.base import SIGNALS, FaceSet, Units, UnitSignal


def l2_rows(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, np.float32)
    norm = np.linalg.norm(x, axis=1, keepdims=True)
    return np.divide(x, norm, out=np.zeros_like(x), where=norm > 0)


@SIGNALS.register("pairs")
class PairsSignal(UnitSignal):
    """DiffFake pairs of sampled frames (see module doc). A track is scored from
    ``min_units`` pairs."""

    name = "pairs"
    requires = ("vectors",)

    def __init__(
        self,
        strategy: str = "paper",
        op: str = "sq_diff",
        images_to_pair: int = 8,
        seed: int = 0,
        anomaly_model: str = "pca_gmm",
        anomaly_params: dict | None = None,
        min_units: int = 4,
    ) -> None:
        super().__init__(anomaly_model, anomaly_params, min_units)
        self.strategy = PairStrategy(strategy).value
        self.op = CombineOp(op).value
        self.images_to_pair = images_to_pair
        self.seed = seed

    def get_params(self) -> dict:
        return {"strategy": self.strategy, "op": self.op, "images_to_pair": self.images_to_pair,
                "seed": self.seed, **super().get_params()}  # fmt: skip

    def units(self, faces: FaceSet) -> Units:
        s = faces.sampled()
        if len(s) < 2:
            return Units.empty()
        ps = build_pairs(
            np.full(len(s), faces.key, dtype=object), s.frame_index, s.vectors, self.strategy,
            self.op, np.random.default_rng(self.seed), self.images_to_pair, group_ids=s.track_id,
        )  # fmt: skip
        return Units(ps.group_id.astype(np.int64), ps.frame_a, ps.frame_b, ps.vectors)


@SIGNALS.register("adjacent_pairs")
class AdjacentPairsSignal(UnitSignal):
    """Each neighbour row paired with its sampled frame in the same track (module doc)."""

    name = "adjacent_pairs"
    requires = ("vectors",)

    def __init__(self, op: str = "sq_diff", anomaly_model: str = "pca_gmm",
                 anomaly_params: dict | None = None, min_units: int = 4) -> None:  # fmt: skip
        super().__init__(anomaly_model, anomaly_params, min_units)
        self.op = CombineOp(op).value

    def get_params(self) -> dict:
        return {"op": self.op, **super().get_params()}

    def units(self, faces: FaceSet) -> Units:
        nb = np.flatnonzero(~faces.is_sampled)
        if nb.size == 0:
            return Units.empty()
        sampled = {
            (int(t), int(f)): i
            for i, (t, f) in enumerate(zip(faces.track_id, faces.frame_index, strict=True))
            if faces.is_sampled[i]
        }
        rows_a, rows_b = [], []
        for i in nb:
            j = sampled.get((int(faces.track_id[i]), int(faces.anchor_frame[i])))
            if j is not None:
                a, b = (j, i) if faces.frame_index[j] < faces.frame_index[i] else (i, j)
                rows_a.append(a)
                rows_b.append(b)
        if not rows_a:
            return Units.empty()
        ra, rb = np.asarray(rows_a), np.asarray(rows_b)
        X = combine(faces.vectors[ra], faces.vectors[rb], self.op)
        return Units(faces.track_id[ra], faces.frame_index[ra], faces.frame_index[rb], X)


@SIGNALS.register("frame")
class FrameSignal(UnitSignal):
    """The single-frame Baseline: L2-normalised embeddings of sampled frames."""

    name = "frame"
    requires = ("vectors",)

    def units(self, faces: FaceSet) -> Units:
        s = faces.sampled()
        if len(s) == 0:
            return Units.empty()
        return Units(s.track_id, s.frame_index, np.full(len(s), -1, np.int64), l2_rows(s.vectors))
