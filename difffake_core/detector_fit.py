"""Fitting a fused detector on real videos: the split, per-signal settings, fitting,
calibration, an in-corpus sanity figure and the detector card.

Pure numerics on :class:`~difffake_core.signals.FaceSet` lists; the catalog task around it only
loads faces and saves the result. Adding a signal means registering it in
:data:`~difffake_core.signals.SIGNALS` and giving it a default entry in :func:`signal_params`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from difffake_core.detector import Detector, PairSettings
from difffake_core.errors import NotEnoughDataError
from difffake_core.metrics import binary_metrics
from difffake_core.pairs import make_pairs
from difffake_core.signals import (
    DEFAULT_SIGNALS,
    MIN_CALIBRATION,
    FaceSet,
    calibrate_signals,
    fit_signals,
    raw_scores,
)

DEFAULT_ANOMALY_MODEL = "pca_gmm"


def real_video_ids(videos: pd.DataFrame) -> list[str]:
    """Usable real videos of a ``videos`` table (columns ``video_id``, ``status``, ``label``).
    An unlabelled corpus (a folder of footage) counts as real."""
    ok = videos[
        (videos["status"] == "ok") & (videos["label"].isin(["real"]) | videos["label"].isna())
    ]
    return sorted(ok["video_id"])


def split_real_videos(
    videos: pd.DataFrame, val_fraction: float, seed: int
) -> tuple[list[str], list[str]]:
    """(fit, calibrate) real video ids. The corpus's own split wins when it has one
    (train -> fit; val/test -> calibrate); otherwise a seeded split by whole video."""
    real = real_video_ids(videos)
    by_split = videos.set_index("video_id").loc[real, "split"] if real else pd.Series(dtype=object)
    if (
        real
        and by_split.notna().all()
        and by_split.isin(["train"]).any()
        and (by_split != "train").any()
    ):
        fit = sorted(by_split[by_split == "train"].index)
        return fit, sorted(set(real) - set(fit))
    rng = np.random.default_rng(seed)
    order = list(rng.permutation(real))
    n_cal = max(1, int(round(val_fraction * len(order)))) if len(order) > 1 else 0
    return sorted(order[n_cal:]), sorted(order[:n_cal])


MIN_FIT_UNITS = 10  # fewest real units any signal fits on (see UnitSignal.fit)


def track_pairs(track_frames: int, pairs: PairSettings) -> int:
    """Pairs one face track of ``track_frames`` usable sampled frames gives."""
    rng = np.random.default_rng(0)  # the count does not depend on the draw
    return len(make_pairs(track_frames, pairs.strategy, rng, pairs.images_to_pair))


def check_training_data(
    videos: pd.DataFrame,
    track_frames: Mapping[str, int],
    fit_ids: Sequence[str],
    calibrate_ids: Sequence[str],
    pairs: PairSettings,
    min_calibration: int,
    calibration_fraction: float,
) -> dict[str, int]:
    """Refuse, before any training, a corpus too small to fit and calibrate a detector.

    ``track_frames``: ``{video_id: usable sampled frames in its longest face track}``. A
    video is *scorable* when that track gives at least ``pairs.min_pairs`` pairs. Needs at
    least ``min_calibration`` scorable held-out reals and :data:`MIN_FIT_UNITS` pairs over
    the fitting reals. Returns the counts; raises :class:`NotEnoughDataError` saying what was
    found and what is needed.
    """
    statuses = videos["status"].value_counts().to_dict()
    usable = real_video_ids(videos)

    def scorable(ids: Sequence[str]) -> list[str]:
        return [v for v in ids if track_pairs(track_frames.get(v, 0), pairs) >= pairs.min_pairs]

    cal_ok = scorable(calibrate_ids)
    fit_pairs = sum(track_pairs(track_frames.get(v, 0), pairs) for v in fit_ids)
    counts = {"videos": len(videos), "usable_reals": len(usable), "fit": len(fit_ids),
              "calibrate": len(calibrate_ids), "calibrate_scorable": len(cal_ok),
              "fit_pairs": fit_pairs}  # fmt: skip
    problems = []
    if len(cal_ok) < min_calibration:
        needed = math.ceil(min_calibration / calibration_fraction)
        problems.append(
            f"{len(cal_ok)} of the {len(calibrate_ids)} held-out real videos have a face track "
            f"with >= {pairs.min_pairs} frame pairs, at least {min_calibration} are needed to "
            f"calibrate the threshold (at least {needed} usable real videos at "
            f"calibration_fraction={calibration_fraction})"
        )
    if fit_pairs < MIN_FIT_UNITS:
        problems.append(
            f"the {len(fit_ids)} fitting real videos give {fit_pairs} frame pairs, at least "
            f"{MIN_FIT_UNITS} are needed"
        )
    if problems:
        found = ", ".join(f"{n} {s}" for s, n in sorted(statuses.items()))
        raise NotEnoughDataError(
            f"too little usable footage to retrain: {len(videos)} videos listed ({found}), "
            f"{len(usable)} usable real videos; " + "; ".join(problems) + ". Add real videos, "
            "sample more frames (--frames), or lower min_calibration"
        )
    return counts


@dataclass(frozen=True)
class FitSettings:
    """Everything that decides a fitted detector besides its data (each default once)."""

    pairs: PairSettings = field(default_factory=PairSettings)
    anomaly_model: str = DEFAULT_ANOMALY_MODEL
    anomaly_params: Mapping[str, Any] = field(default_factory=dict)
    baseline_model: str | None = DEFAULT_ANOMALY_MODEL
    target_fpr: float = 0.05
    signals: Sequence[str] = DEFAULT_SIGNALS
    signal_overrides: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    fusion_rule: str = "sidak_max"
    min_calibration: int = MIN_CALIBRATION

    def signal_params(self) -> dict[str, dict[str, Any]]:
        """Parameters of the chosen signals (see :func:`signal_params`)."""
        sp = signal_params(
            self.pairs, self.anomaly_model, self.anomaly_params, self.baseline_model,
            self.signal_overrides,
        )  # fmt: skip
        return {k: sp[k] for k in self.signals if k in sp}

    def as_params(self) -> dict[str, Any]:
        """JSON-ready parameters, as recorded in the detector's manifest and fingerprint."""
        return {
            "signals": list(self.signals),
            "signal_params": self.signal_params(),
            "fusion_rule": str(self.fusion_rule),
            "min_calibration": self.min_calibration,
            "target_fpr": self.target_fpr,
            "pairs": dict(self.pairs.__dict__),
        }


def signal_params(
    pairs: PairSettings,
    anomaly_model: str,
    anomaly_params: Mapping[str, Any] | None,
    baseline_model: str | None,
    overrides: Mapping[str, Mapping[str, Any]] | None,
) -> dict[str, dict[str, Any]]:
    """Per-signal parameters: ``pairs`` from the pair settings and anomaly model (the
    paper's setting stays selectable), ``adjacent_pairs`` and ``frame`` with the same
    anomaly model (``frame`` with ``baseline_model``), then the caller's overrides."""
    am = {"anomaly_model": anomaly_model, "anomaly_params": dict(anomaly_params or {})}
    out: dict[str, dict[str, Any]] = {
        "pairs": {"strategy": pairs.strategy, "op": pairs.op, "seed": pairs.seed,
                  "images_to_pair": pairs.images_to_pair, "min_units": pairs.min_pairs, **am},
        "adjacent_pairs": {"op": pairs.op, "min_units": pairs.min_pairs, **am},
        "frame": {**am, "anomaly_model": baseline_model or anomaly_model,
                  "min_units": pairs.min_pairs},
        "sbi_head": {"min_units": pairs.min_pairs},
        "landmark_dynamics": {},
        "texture": {},
    }  # fmt: skip
    for name, extra in (overrides or {}).items():
        out.setdefault(name, {}).update(extra)
    return out


@dataclass
class FitResult:
    """A fitted detector and the figures recorded with it (``metadata``: JSON-ready)."""

    detector: Detector
    metadata: dict[str, Any]


def _auc(real: np.ndarray, fake: np.ndarray) -> float | None:
    r, f = real[np.isfinite(real)], fake[np.isfinite(fake)]
    if not (r.size and f.size):
        return None
    return binary_metrics(np.r_[np.zeros(r.size), np.ones(f.size)], np.r_[r, f])["roc_auc"]


def fit_detector(
    fit_faces: Sequence[FaceSet],
    calibrate_faces: Sequence[FaceSet],
    settings: FitSettings,
    fake_faces: Sequence[FaceSet] = (),
    card: Mapping[str, Any] | None = None,
) -> FitResult:
    """Fit every signal of ``settings`` on the real ``fit_faces``, calibrate the fusion on the
    real ``calibrate_faces``; ``fake_faces`` (optional) only feed an in-corpus AUC of the
    calibration reals against them (``in_corpus_auc``, and per signal). ``card`` is extended
    with the settings and figures and travels with the detector."""
    chosen = list(settings.signals)
    fitted, skipped = fit_signals(fit_faces, chosen, settings.signal_params())
    fusion = calibrate_signals(
        fitted, calibrate_faces, settings.fusion_rule, settings.target_fpr,
        settings.min_calibration,
    )  # fmt: skip
    metadata: dict[str, Any] = {
        "threshold": fusion.threshold,
        "target_fpr": settings.target_fpr,
        "calibration_videos": fusion.info["calibration_videos"],
        "calibration_fpr": fusion.info["calibration_fpr_loo"],
        "fit_videos": len(fit_faces),
        "signals": list(fitted),
        "signals_left_out": skipped,
        "fusion_rule": fusion.rule.value,
    }
    if fake_faces:  # an in-corpus sanity figure: calibration reals vs the corpus's fakes
        real_raw, fake_raw = raw_scores(fitted, calibrate_faces), raw_scores(fitted, fake_faces)
        metadata["in_corpus_auc"] = _auc(
            fusion.score(real_raw)["fake_score"], fusion.score(fake_raw)["fake_score"]
        )
        per_signal = {s: _auc(real_raw[s], fake_raw[s]) for s in fitted}
        metadata["in_corpus_auc_per_signal"] = {
            k: v for k, v in per_signal.items() if v is not None
        }
    det_card = dict(card or {})
    det_card.update(
        anomaly_model=settings.anomaly_model,
        baseline_model=settings.baseline_model,
        validation=metadata,
    )
    detector = Detector(anomaly=None, threshold=fusion.threshold, pairs=settings.pairs,
                        card=det_card, signals=fitted, fusion=fusion)  # fmt: skip
    return FitResult(detector=detector, metadata=metadata)
