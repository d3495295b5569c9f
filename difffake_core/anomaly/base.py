"""The anomaly-model interface, its registry and shared input checks.

Every model follows scikit-learn conventions: ``__init__`` only stores hyperparameters,
``fit(X)`` returns ``self``, fitted state ends in ``_``, and ``score_samples(X)`` returns one
float64 per row where **higher means more normal** (a log-likelihood for the mixtures).

Models never assume pair inputs: the paper's single-frame "Baseline" is the same model fitted
on single-frame embeddings instead of combined pairs.

For persistence without pickle (:mod:`difffake_core.anomaly.persistence`) each model exposes
its fitted state as named arrays plus JSON scalars and can be rebuilt from them.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError

from difffake_core.registry import Registry

ANOMALY_MODELS: Registry[type[AnomalyModel]] = Registry("anomaly model")


def create_anomaly_model(name: str, **kwargs: Any) -> AnomalyModel:
    """Build an unfitted model by registry name, e.g. ``create_anomaly_model("gmm")``.

    Raises:
        UnknownNameError: ``name`` is not registered (the message lists valid names).
    """
    return ANOMALY_MODELS.get(name)(**kwargs)


def check_features(X: Any, n_features: int | None = None, what: str = "X") -> np.ndarray:
    """Validate a feature matrix and return it as float64.

    Args:
        X: shape ``(n_samples, n_features)``.
        n_features: the width the model was fitted on, if fitted.

    Raises:
        ValueError: wrong rank, wrong width, no rows, or non-finite values.
    """
    arr = np.asarray(X)
    if arr.ndim != 2:
        raise ValueError(f"{what} must have shape (n_samples, n_features), got {arr.shape}")
    if n_features is not None and arr.shape[1] != n_features:
        raise ValueError(f"{what} has {arr.shape[1]} features but the model expects {n_features}")
    if arr.shape[0] == 0:
        raise ValueError(f"{what} has no rows (shape {arr.shape})")
    arr = np.asarray(arr, dtype=np.float64)
    bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
    if bad:
        raise ValueError(f"{what} contains {bad} non-finite values (NaN or inf)")
    return arr


class AnomalyModel(BaseEstimator):
    """Base class: a density or support model of normal (real) vectors.

    Subclasses set ``name`` (their registry key) and implement ``fit``, ``score_samples``,
    ``_fitted_state`` and ``_restore_fitted_state``.
    """

    name: ClassVar[str] = ""

    def fit(self, X: np.ndarray, y: None = None) -> AnomalyModel:  # pragma: no cover
        raise NotImplementedError

    def score_samples(self, X: np.ndarray) -> np.ndarray:  # pragma: no cover
        """Shape ``(n_samples, n_features)`` -> ``(n_samples,)`` float64; higher = more normal."""
        raise NotImplementedError

    def _fitted_state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:  # pragma: no cover
        """Fitted state as (named arrays, JSON-serialisable scalars)."""
        raise NotImplementedError

    def _restore_fitted_state(
        self, arrays: dict[str, np.ndarray], scalars: dict[str, Any]
    ) -> None:  # pragma: no cover
        raise NotImplementedError

    def _check_fitted(self) -> None:
        if not hasattr(self, "n_features_in_"):
            raise NotFittedError(
                f"{type(self).__name__} is not fitted; call fit(X) or load_anomaly_model()"
            )
