"""Detection signals, each fitted on real videos only, and their fusion.

Registry names (:data:`SIGNALS`): ``pairs`` (DiffFake), ``adjacent_pairs`` (neighbouring
decoded frames), ``sbi_head`` (the extractor's own logit), ``landmark_dynamics`` (landmark
trajectories), ``frame`` (the paper's single-frame Baseline), ``texture`` (face sharpness,
noise and colour against its surroundings, per crop). :data:`DEFAULT_SIGNALS` is the
fused set a detector uses unless told otherwise. See :mod:`.fusion` for the fused score.
"""

from difffake_core.signals.base import (
    SIGNALS,
    FaceSet,
    Signal,
    SignalScore,
    TrackFeatureSignal,
    Units,
    UnitSignal,
    anomaly_params,
    create_signal,
)
from difffake_core.signals.embedding_signals import AdjacentPairsSignal, FrameSignal, PairsSignal
from difffake_core.signals.fit import calibrate_signals, fit_signals, raw_scores
from difffake_core.signals.fusion import (
    MIN_CALIBRATION,
    CalibrationError,
    Fusion,
    FusionRule,
    calibrate_fusion,
    combine_percentiles,
    driving_signal,
    percentile,
)
from difffake_core.signals.inputs import build_faceset, frame_landmarks
from difffake_core.signals.landmarks import LandmarkDynamicsSignal
from difffake_core.signals.persistence import load_fusion, load_signal, save_fusion, save_signal
from difffake_core.signals.sbi_head import SbiHeadSignal, classifier_weights, head_logits
from difffake_core.signals.texture import TextureSignal

DEFAULT_SIGNALS = ("pairs", "adjacent_pairs", "sbi_head", "landmark_dynamics", "frame")

__all__ = [
    "DEFAULT_SIGNALS",
    "MIN_CALIBRATION",
    "SIGNALS",
    "AdjacentPairsSignal",
    "CalibrationError",
    "FaceSet",
    "FrameSignal",
    "Fusion",
    "FusionRule",
    "LandmarkDynamicsSignal",
    "PairsSignal",
    "SbiHeadSignal",
    "Signal",
    "SignalScore",
    "TextureSignal",
    "TrackFeatureSignal",
    "UnitSignal",
    "Units",
    "anomaly_params",
    "calibrate_fusion",
    "calibrate_signals",
    "fit_signals",
    "raw_scores",
    "classifier_weights",
    "build_faceset",
    "combine_percentiles",
    "frame_landmarks",
    "create_signal",
    "driving_signal",
    "head_logits",
    "load_fusion",
    "load_signal",
    "percentile",
    "save_fusion",
    "save_signal",
]
