"""Anomaly models fitted on real pair vectors (or single-frame embeddings for the Baseline).

Registry names: ``gmm`` (paper), ``diag_gmm``, ``pca_gmm`` (production scale), ``ocsvm``.
See :mod:`difffake_core.anomaly.mixture` for when to use which.
"""

from difffake_core.anomaly.base import (
    ANOMALY_MODELS,
    AnomalyModel,
    check_features,
    create_anomaly_model,
)
from difffake_core.anomaly.mixture import (
    DiagonalGaussianMixtureModel,
    GaussianMixtureModel,
    PCAGaussianMixtureModel,
)
from difffake_core.anomaly.ocsvm import OneClassSVMModel
from difffake_core.anomaly.persistence import (
    load_anomaly_model,
    read_model_metadata,
    save_anomaly_model,
)
from difffake_core.anomaly.threshold import calibrate_threshold

__all__ = [
    "ANOMALY_MODELS",
    "AnomalyModel",
    "DiagonalGaussianMixtureModel",
    "GaussianMixtureModel",
    "OneClassSVMModel",
    "PCAGaussianMixtureModel",
    "calibrate_threshold",
    "check_features",
    "create_anomaly_model",
    "load_anomaly_model",
    "read_model_metadata",
    "save_anomaly_model",
]
