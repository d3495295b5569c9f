"""One-class SVM anomaly model (``ocsvm``), an option in the paper.

Training uses scikit-learn's libsvm ``OneClassSVM``; the fitted model is kept only as its
support vectors, dual coefficients, intercept and resolved kernel parameters, and scores
are computed here from those arrays, so a model loaded from disk scores exactly like the
one that was fitted, without pickle.

Cost: libsvm training is roughly quadratic in the number of rows (kernel evaluations of
``d``-dimensional rows), and scoring costs ``n_support * d`` per row. At 1792 dims it is
fine for a few thousand pairs but slow (minutes) above roughly 10k pairs; subsample the
training pairs or prefer ``pca_gmm`` at paper scale (about 23k pairs).

``score_samples`` equals scikit-learn's ``OneClassSVM.score_samples``:
``sum_i dual_coef_i * K(support_vector_i, x)``; higher = more normal. Rows with
``score_samples(x) + intercept_ < 0`` are outside the learned support.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.metrics.pairwise import pairwise_kernels
from sklearn.svm import OneClassSVM

from difffake_core.anomaly.base import ANOMALY_MODELS, AnomalyModel, check_features

_KERNELS = ("rbf", "linear", "poly", "sigmoid")
_CHUNK_ROWS = 4096


@ANOMALY_MODELS.register("ocsvm")
class OneClassSVMModel(AnomalyModel):
    """One-class SVM (default: RBF kernel, ``nu=0.1``, ``gamma="scale"``).

    Args:
        nu: upper bound on the fraction of training rows outside the support, in (0, 1].
        kernel: one of "rbf", "linear", "poly", "sigmoid".
        gamma: "scale" (``1 / (d * X.var())``), "auto" (``1 / d``) or a positive float.
        degree, coef0: polynomial / sigmoid kernel parameters (as libsvm).
        tol, shrinking, cache_size, max_iter: libsvm solver settings.

    Fitted attributes: ``support_vectors_`` (s, d), ``dual_coef_`` (s,), ``intercept_``
    (float), ``gamma_`` (float), ``n_features_in_``.
    """

    name = "ocsvm"

    def __init__(
        self,
        nu: float = 0.1,
        kernel: str = "rbf",
        gamma: str | float = "scale",
        degree: int = 3,
        coef0: float = 0.0,
        tol: float = 1e-3,
        shrinking: bool = True,
        cache_size: float = 500.0,
        max_iter: int = -1,
    ) -> None:
        self.nu = nu
        self.kernel = kernel
        self.gamma = gamma
        self.degree = degree
        self.coef0 = coef0
        self.tol = tol
        self.shrinking = shrinking
        self.cache_size = cache_size
        self.max_iter = max_iter

    def _resolve_gamma(self, X: np.ndarray) -> float:
        if self.gamma == "scale":
            var = float(X.var())
            return 1.0 / (X.shape[1] * var) if var > 0 else 1.0
        if self.gamma == "auto":
            return 1.0 / X.shape[1]
        if isinstance(self.gamma, str) or not float(self.gamma) > 0:
            raise ValueError(
                f"gamma must be 'scale', 'auto' or a positive float, got {self.gamma!r}"
            )
        return float(self.gamma)

    def fit(self, X: np.ndarray, y: None = None) -> OneClassSVMModel:
        """Fit on normal rows, shape ``(n_samples, n_features)``. Slow above ~10k rows."""
        if self.kernel not in _KERNELS:
            raise ValueError(f"kernel must be one of {_KERNELS}, got {self.kernel!r}")
        X = check_features(X)
        gamma = self._resolve_gamma(X)
        svm = OneClassSVM(
            kernel=self.kernel,
            nu=self.nu,
            gamma=gamma,
            degree=self.degree,
            coef0=self.coef0,
            tol=self.tol,
            shrinking=self.shrinking,
            cache_size=self.cache_size,
            max_iter=self.max_iter,
        ).fit(X)
        self.support_vectors_ = np.ascontiguousarray(svm.support_vectors_, dtype=np.float64)
        self.dual_coef_ = np.ascontiguousarray(svm.dual_coef_.ravel(), dtype=np.float64)
        self.intercept_ = float(svm.intercept_[0])
        self.gamma_ = gamma
        self.n_features_in_ = X.shape[1]
        return self

    def _kernel_params(self) -> dict[str, float]:
        if self.kernel == "rbf":
            return {"gamma": self.gamma_}
        if self.kernel == "poly":
            return {"gamma": self.gamma_, "degree": self.degree, "coef0": self.coef0}
        if self.kernel == "sigmoid":
            return {"gamma": self.gamma_, "coef0": self.coef0}
        return {}

    def score_samples(self, X: np.ndarray) -> np.ndarray:
        """``(n_samples, n_features)`` -> ``(n_samples,)`` float64; higher = more normal."""
        self._check_fitted()
        X = check_features(X, self.n_features_in_)
        params = self._kernel_params()
        out = np.empty(X.shape[0], dtype=np.float64)
        for start in range(0, X.shape[0], _CHUNK_ROWS):
            chunk = X[start : start + _CHUNK_ROWS]
            k = pairwise_kernels(chunk, self.support_vectors_, metric=self.kernel, **params)
            out[start : start + len(chunk)] = k @ self.dual_coef_
        return out

    def _fitted_state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        self._check_fitted()
        arrays = {"support_vectors": self.support_vectors_, "dual_coef": self.dual_coef_}
        return arrays, {"intercept": self.intercept_, "gamma": self.gamma_}

    def _restore_fitted_state(self, arrays: dict[str, np.ndarray], scalars: dict[str, Any]) -> None:
        sv = np.asarray(arrays["support_vectors"], dtype=np.float64)
        coef = np.asarray(arrays["dual_coef"], dtype=np.float64)
        if sv.ndim != 2 or coef.shape != (sv.shape[0],):
            raise ValueError(f"inconsistent SVM arrays: support {sv.shape}, dual_coef {coef.shape}")
        self.support_vectors_, self.dual_coef_ = sv, coef
        self.intercept_ = float(scalars["intercept"])
        self.gamma_ = float(scalars["gamma"])
        self.n_features_in_ = int(sv.shape[1])
