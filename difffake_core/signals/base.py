"""The signal interface: one video's faces in, one raw anomaly score (and its evidence) out.

A *signal* is a named detector of one kind of inconsistency with its own model fitted on
real videos only (``fit``), a raw video score where higher is more suspicious (``score``),
and a pickle-free state (named arrays + JSON scalars) so it saves into the detector folder
(:mod:`difffake_core.signals.persistence`). Raw scores of different signals are not
comparable; :mod:`difffake_core.signals.fusion` turns them into percentiles.

Most signals are :class:`UnitSignal`: the video becomes *units* (pairs of frames, single
frames, whole tracks), each a feature row in a face track; an anomaly model of
:mod:`difffake_core.anomaly` is fitted on the units of real videos; a track's raw score is
minus the mean log-likelihood of its units and the video's is its most suspicious track's
(a face swap usually touches one person; averaging over tracks would dilute it).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from difffake_core.anomaly import AnomalyModel, create_anomaly_model
from difffake_core.registry import Registry

SIGNALS: Registry[type[Signal]] = Registry("signal")

STATUS_OK = "ok"
STATUS_MISSING_INPUT = "missing_input"
STATUS_TOO_FEW_UNITS = "too_few_units"
_ROW_FIELDS = ("frame_index", "track_id", "anchor_frame", "timestamp_s", "vectors", "logits",
               "landmarks", "texture")  # fmt: skip


@dataclass(frozen=True)
class FaceSet:
    """The usable faces of one video, ``N`` rows (sampled frames and their neighbours).

    Attributes:
        key: stable id of the content (its sha256, or the video id): seeds any random pairing.
        frame_index: shape ``(N,)`` int64, decoded frame index of each face.
        track_id: shape ``(N,)`` int64, face-track id.
        anchor_frame: shape ``(N,)`` int64, the sampled frame a row belongs to: equal to
            ``frame_index`` for a sampled frame, the sampled frame's index for a neighbour
            decoded next to it (see ``IngestParams.neighbour_offsets``).
        timestamp_s: shape ``(N,)`` float64 seconds, or None.
        vectors: shape ``(N, D)`` float32 embeddings, or None.
        logits: shape ``(N,)`` float32 real-vs-pseudo-fake logits of the extractor
            (positive = fake), or None.
        landmarks: shape ``(N, 68, 2)`` float32 landmarks in *frame* pixels, or None.
        fps: frames per second of the stream (for neighbours without timestamps), or None.
        texture: shape ``(N, F)`` float32 per-crop texture features
            (:mod:`difffake_core.faces.texture`; NaN rows where not measured, e.g. neighbours),
            or None.
    """

    key: str
    frame_index: np.ndarray
    track_id: np.ndarray
    anchor_frame: np.ndarray | None = None
    timestamp_s: np.ndarray | None = None
    vectors: np.ndarray | None = None
    logits: np.ndarray | None = None
    landmarks: np.ndarray | None = None
    fps: float | None = None
    texture: np.ndarray | None = None

    def __post_init__(self) -> None:
        n = len(self.frame_index)
        object.__setattr__(self, "frame_index", np.asarray(self.frame_index, np.int64))
        object.__setattr__(self, "track_id", np.asarray(self.track_id, np.int64))
        anchor = self.frame_index if self.anchor_frame is None else self.anchor_frame
        object.__setattr__(self, "anchor_frame", np.asarray(anchor, np.int64))
        for name in _ROW_FIELDS[1:]:
            value = getattr(self, name)
            if value is not None and len(value) != n:
                raise ValueError(f"FaceSet.{name} has {len(value)} rows, frame_index has {n}")
        if self.landmarks is not None and np.asarray(self.landmarks).shape[1:] != (68, 2):
            raise ValueError(
                f"FaceSet.landmarks must have shape (N, 68, 2), got {np.shape(self.landmarks)}"
            )

    def __len__(self) -> int:
        return len(self.frame_index)

    @property
    def is_sampled(self) -> np.ndarray:
        """Shape ``(N,)`` bool: rows of sampled frames (not neighbours)."""
        return self.anchor_frame == self.frame_index

    def take(self, mask: np.ndarray) -> FaceSet:
        """The rows where ``mask`` (shape ``(N,)`` bool) is true."""
        sub = {
            name: None if getattr(self, name) is None else np.asarray(getattr(self, name))[mask]
            for name in _ROW_FIELDS
        }
        return replace(self, **sub)

    def sampled(self) -> FaceSet:
        return self.take(self.is_sampled)


@dataclass
class SignalScore:
    """One signal's verdict material for one video.

    ``raw``: video score (higher = more suspicious; NaN when not scored). ``tracks``: one
    row per track (``track_id, n_units, raw``). ``units``: one row per unit
    (``track_id, frame_a, frame_b, loglik``; ``frame_b = -1`` for single-frame units).
    """

    raw: float
    status: str
    worst_track: int | None = None
    n_units: int = 0
    tracks: pd.DataFrame = field(default_factory=pd.DataFrame)
    units: pd.DataFrame = field(default_factory=pd.DataFrame)


@dataclass(frozen=True)
class Units:
    """Feature rows of one video: shape ``(U, F)`` with their track and frames."""

    track_id: np.ndarray
    frame_a: np.ndarray
    frame_b: np.ndarray
    X: np.ndarray

    @classmethod
    def empty(cls, width: int = 0) -> Units:
        z = np.zeros(0, np.int64)
        return cls(z, z, z, np.zeros((0, width), np.float64))

    def __len__(self) -> int:
        return len(self.X)

    @classmethod
    def per_track(cls, tracks: list[int], firsts: list[int], lasts: list[int],
                  rows: list[np.ndarray], width: int) -> Units:  # fmt: skip
        """One unit per track: feature ``rows[i]`` of track ``tracks[i]`` spanning frames
        ``firsts[i]..lasts[i]`` (empty, ``width`` features, when there are none)."""
        if not rows:
            return cls.empty(width)
        return cls(np.asarray(tracks, np.int64), np.asarray(firsts, np.int64),
                   np.asarray(lasts, np.int64), np.stack(rows))  # fmt: skip


class Signal:
    """Base class. Subclasses set ``name``, ``requires`` (FaceSet fields they need), and
    implement ``fit``, ``score``, ``get_params``, ``_state`` and ``_restore``."""

    name: ClassVar[str] = ""
    requires: ClassVar[tuple[str, ...]] = ()

    def missing(self, faces: FaceSet) -> list[str]:
        return [r for r in self.requires if getattr(faces, r) is None]

    def fit(self, videos: Sequence[FaceSet]) -> Signal:  # pragma: no cover
        raise NotImplementedError

    def score(self, faces: FaceSet) -> SignalScore:  # pragma: no cover
        raise NotImplementedError

    def get_params(self) -> dict[str, Any]:  # pragma: no cover
        raise NotImplementedError

    def _state(self) -> tuple[dict[str, np.ndarray], dict[str, Any], AnomalyModel | None]:
        """Fitted state: (named arrays, JSON scalars, the anomaly model or None)."""
        raise NotImplementedError  # pragma: no cover

    def _restore(
        self, arrays: dict[str, np.ndarray], scalars: dict[str, Any], model: AnomalyModel | None
    ) -> None:  # pragma: no cover
        raise NotImplementedError


def anomaly_params(name: str, params: dict[str, Any] | None, n_rows: int) -> dict[str, Any]:
    """Hyper-parameters for anomaly model ``name`` fitted on ``n_rows`` rows; for
    ``pca_gmm`` without ``pca_components`` the axes are capped at ``n_rows // 10`` (8..64)
    so three full-covariance components stay well-posed on small real corpora."""
    out = dict(params or {})
    if name == "pca_gmm" and "pca_components" not in out:
        out["pca_components"] = int(min(64, max(8, n_rows // 10), n_rows - 1))
    return out


def empty_units_table() -> pd.DataFrame:
    return pd.DataFrame(
        {"track_id": pd.Series(dtype=np.int64), "frame_a": pd.Series(dtype=np.int64),
         "frame_b": pd.Series(dtype=np.int64), "loglik": pd.Series(dtype=np.float64)}
    )  # fmt: skip


class UnitSignal(Signal):
    """A signal scored by an anomaly model over per-video feature units (see module doc).

    Subclasses implement ``units(faces) -> Units`` and keep ``anomaly_model``,
    ``anomaly_params`` and ``min_units`` among their parameters. ``standardise=True`` scales
    the features by the real units' mean and standard deviation first (for hand-made
    features of mixed units); a NaN feature is replaced by the real mean (neutral).
    """

    standardise: ClassVar[bool] = False
    min_fit_units: ClassVar[int] = 10

    def __init__(self, anomaly_model: str = "pca_gmm", anomaly_params: dict | None = None,
                 min_units: int = 4) -> None:  # fmt: skip
        self.anomaly_model = anomaly_model
        self.anomaly_params = dict(anomaly_params or {})
        self.min_units = min_units

    def get_params(self) -> dict[str, Any]:
        return {"anomaly_model": self.anomaly_model, "anomaly_params": self.anomaly_params,
                "min_units": self.min_units}  # fmt: skip

    def units(self, faces: FaceSet) -> Units:  # pragma: no cover
        raise NotImplementedError

    def _prepare(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, np.float64)
        if not self.standardise:
            return X
        X = np.where(np.isnan(X), self.center_, X)
        return (X - self.center_) / self.spread_

    def fit(self, videos: Sequence[FaceSet]) -> UnitSignal:
        """Fit on the units of real videos.

        Raises:
            ValueError: fewer than ``min_fit_units`` units in all (too few to fit the model).
        """
        parts = [self.units(v) for v in videos if not self.missing(v)]
        parts = [u for u in parts if len(u)]
        n = sum(len(u) for u in parts)
        if n < self.min_fit_units:
            raise ValueError(f"signal {self.name!r}: only {n} real units to fit on, "
                             f"need >= {self.min_fit_units}")  # fmt: skip
        X = np.concatenate([u.X for u in parts]).astype(np.float64)
        if self.standardise:
            with np.errstate(invalid="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN feature
                center = np.nanmean(X, axis=0)
                spread = np.nanstd(X, axis=0)
            self.center_ = np.where(np.isfinite(center), center, 0.0)
            self.spread_ = np.where(np.isfinite(spread) & (spread > 1e-9), spread, 1.0)
        hp = anomaly_params(self.anomaly_model, self.anomaly_params, len(X))
        self.model_ = create_anomaly_model(self.anomaly_model, **hp).fit(self._prepare(X))
        self.n_fit_units_ = int(len(X))
        return self

    def score(self, faces: FaceSet) -> SignalScore:
        if self.missing(faces):
            return SignalScore(np.nan, STATUS_MISSING_INPUT, units=empty_units_table())
        u = self.units(faces)
        if len(u) == 0:
            return SignalScore(np.nan, STATUS_TOO_FEW_UNITS, units=empty_units_table())
        loglik = self.model_.score_samples(self._prepare(u.X))
        units = pd.DataFrame({"track_id": u.track_id, "frame_a": u.frame_a,
                              "frame_b": u.frame_b, "loglik": loglik})  # fmt: skip
        return track_max(units, "loglik", self.min_units, negate=True)

    def _state(self) -> tuple[dict[str, np.ndarray], dict[str, Any], AnomalyModel | None]:
        arrays = {}
        if self.standardise:
            arrays = {"center": self.center_, "spread": self.spread_}
        return arrays, {"n_fit_units": self.n_fit_units_}, self.model_

    def _restore(
        self, arrays: dict[str, np.ndarray], scalars: dict[str, Any], model: AnomalyModel | None
    ) -> None:
        if model is None:
            raise ValueError(f"signal {self.name!r} needs its anomaly model")
        if self.standardise:
            self.center_, self.spread_ = arrays["center"], arrays["spread"]
        self.model_ = model
        self.n_fit_units_ = int(scalars["n_fit_units"])


class TrackFeatureSignal(UnitSignal):
    """A :class:`UnitSignal` with one unit per face track of hand-made features (at least
    ``min_frames`` frames of it), standardised; by default scored by one full-covariance
    Gaussian, regularised (few units: one per real track). Subclasses set
    ``default_min_frames`` and implement ``units``."""

    standardise = True
    min_fit_units = 4
    default_min_frames: ClassVar[int] = 4

    def __init__(self, min_frames: int | None = None, anomaly_model: str = "gmm",
                 anomaly_params: dict | None = None, min_units: int = 1) -> None:  # fmt: skip
        params = {"n_components": 1, "reg_covar": 0.1} if anomaly_params is None else anomaly_params
        super().__init__(anomaly_model, params, min_units)
        self.min_frames = self.default_min_frames if min_frames is None else min_frames

    def get_params(self) -> dict[str, Any]:
        return {"min_frames": self.min_frames, **super().get_params()}


def track_max(units: pd.DataFrame, column: str, min_units: int, negate: bool) -> SignalScore:
    """Per-track mean of ``column`` (negated when ``negate``), video = the worst track with at
    least ``min_units`` units (status ``too_few_units`` when none has)."""
    per = units.groupby("track_id", sort=True)[column].agg(n_units="size", value="mean")
    per["raw"] = -per["value"] if negate else per["value"]
    tracks = per[["n_units", "raw"]].reset_index()
    tracks["n_units"] = tracks["n_units"].astype(np.int64)
    scored = tracks[tracks["n_units"] >= min_units]
    if scored.empty:
        return SignalScore(np.nan, STATUS_TOO_FEW_UNITS, None, len(units), tracks, units)
    worst = scored.loc[scored["raw"].idxmax()]
    return SignalScore(float(worst["raw"]), STATUS_OK, int(worst["track_id"]), len(units),
                       tracks, units)  # fmt: skip


def create_signal(name: str, **params: Any) -> Signal:
    """An unfitted signal by registry name.

    Raises:
        UnknownNameError: ``name`` is not registered (the message lists valid names).
    """
    return SIGNALS.get(name)(**params)
