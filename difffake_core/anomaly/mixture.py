"""Gaussian-mixture anomaly models: ``gmm``, ``diag_gmm`` and ``pca_gmm``.

``score_samples`` is the log-likelihood of each row (higher = more normal).

======== ============================== ================================ =====================
name     model                          cost (n rows, d dims, k kept)    use when
======== ============================== ================================ =====================
gmm      full-covariance mixture in     ~n*d^2 per EM iteration; d^2/2   reproducing the paper;
         the input space (paper: 3      params per component. 23k x 1792: d up to a few hundred
         components, k-means init)      ~30 s per EM iteration, 65-90 s
                                        for 2 iterations (1 core)
diag_gmm diagonal-covariance mixture    ~n*d per iteration; 2-4 s at     quick baseline;
                                        23k x 1792                       ignores correlations
pca_gmm  PCA (whitened) to k dims, full d^3 + n*d^2 once (3 s at 23k x   production scale:
         mixture there, plus an         1792), then ~n*k^2 per iteration large d (1792), tens
         isotropic Gaussian residual    (0.2 s at k=64, 0.5 s at 128,    of thousands of pairs
         outside the subspace (PPCA)    2 s at 256)
======== ============================== ================================ =====================

Measured by ``benchmarks/bench_anomaly.py`` on one CPU core. With ``max_iter=250`` the
worst case of ``pca_gmm`` at k=64 stays under a minute; the 1792-d ``gmm`` needs about
d^2/2 = 1.6M covariance parameters per component from ~23k rows, so it leans on
``reg_covar`` wherever the data have low effective rank, and each EM iteration costs as
much as fitting ``pca_gmm`` from scratch several times over.

``random_state`` is an int seed: scikit-learn does not accept a ``numpy.random.Generator``;
derive it from yours with ``int(rng.integers(2**31))``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.decomposition import PCA
from sklearn.mixture import GaussianMixture

from difffake_core.anomaly.base import ANOMALY_MODELS, AnomalyModel, check_features

_MIXTURE_ARRAYS = ("weights_", "means_", "covariances_", "precisions_cholesky_")


def _mixture_state(gm: GaussianMixture, prefix: str) -> tuple[dict[str, np.ndarray], dict]:
    arrays = {prefix + k.rstrip("_"): np.ascontiguousarray(getattr(gm, k)) for k in _MIXTURE_ARRAYS}
    scalars = {
        prefix + "converged": bool(gm.converged_),
        prefix + "n_iter": int(gm.n_iter_),
        prefix + "lower_bound": float(gm.lower_bound_),
    }
    return arrays, scalars


def _restore_mixture(
    gm: GaussianMixture, arrays: dict[str, np.ndarray], scalars: dict[str, Any], prefix: str
) -> GaussianMixture:
    """Set a fitted state on an unfitted ``GaussianMixture`` (its documented attributes)."""
    for k in _MIXTURE_ARRAYS:
        setattr(gm, k, np.asarray(arrays[prefix + k.rstrip("_")], dtype=np.float64))
    chol = gm.precisions_cholesky_
    if gm.covariance_type == "full":
        gm.precisions_ = np.einsum("kij,klj->kil", chol, chol)
    elif gm.covariance_type == "tied":
        gm.precisions_ = chol @ chol.T
    else:
        gm.precisions_ = chol**2
    gm.converged_ = bool(scalars[prefix + "converged"])
    gm.n_iter_ = int(scalars[prefix + "n_iter"])
    gm.lower_bound_ = float(scalars[prefix + "lower_bound"])
    gm.n_features_in_ = int(gm.means_.shape[1])
    return gm


class _MixtureParams(AnomalyModel):
    """Shared mixture hyperparameters -> a ``GaussianMixture``."""

    n_components: int
    covariance_type: str
    max_iter: int
    reg_covar: float
    tol: float
    n_init: int
    init_params: str
    random_state: int | None

    def _new_mixture(self) -> GaussianMixture:
        return GaussianMixture(
            n_components=self.n_components,
            covariance_type=self.covariance_type,
            max_iter=self.max_iter,
            reg_covar=self.reg_covar,
            tol=self.tol,
            n_init=self.n_init,
            init_params=self.init_params,
            random_state=self.random_state,
        )

    def _check_rows(self, X: np.ndarray) -> None:
        if X.shape[0] < self.n_components:
            raise ValueError(
                f"need at least n_components={self.n_components} rows to fit, got {X.shape[0]}"
            )


@ANOMALY_MODELS.register("gmm")
class GaussianMixtureModel(_MixtureParams):
    """Gaussian mixture in the input space (the paper's model).

    Defaults are the paper's: 3 components, full covariance, k-means initialisation,
    ``max_iter=250``; ``reg_covar`` is scikit-learn's default 1e-6.

    Fitted attributes: ``mixture_`` (a fitted ``sklearn.mixture.GaussianMixture``),
    ``n_features_in_``.
    """

    name = "gmm"

    def __init__(
        self,
        n_components: int = 3,
        covariance_type: str = "full",
        max_iter: int = 250,
        reg_covar: float = 1e-6,
        tol: float = 1e-3,
        n_init: int = 1,
        init_params: str = "kmeans",
        random_state: int | None = 0,
    ) -> None:
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.max_iter = max_iter
        self.reg_covar = reg_covar
        self.tol = tol
        self.n_init = n_init
        self.init_params = init_params
        self.random_state = random_state

    def fit(self, X: np.ndarray, y: None = None) -> GaussianMixtureModel:
        """Fit on normal rows, shape ``(n_samples, n_features)``."""
        X = check_features(X)
        self._check_rows(X)
        self.mixture_ = self._new_mixture().fit(X)
        self.n_features_in_ = X.shape[1]
        return self

    def score_samples(self, X: np.ndarray) -> np.ndarray:
        """Log-likelihood per row: ``(n_samples, n_features)`` -> ``(n_samples,)`` float64."""
        self._check_fitted()
        X = check_features(X, self.n_features_in_)
        return np.asarray(self.mixture_.score_samples(X), dtype=np.float64)

    def _fitted_state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        self._check_fitted()
        return _mixture_state(self.mixture_, "mixture.")

    def _restore_fitted_state(self, arrays: dict[str, np.ndarray], scalars: dict[str, Any]) -> None:
        self.mixture_ = _restore_mixture(self._new_mixture(), arrays, scalars, "mixture.")
        self.n_features_in_ = self.mixture_.n_features_in_


@ANOMALY_MODELS.register("diag_gmm")
class DiagonalGaussianMixtureModel(GaussianMixtureModel):
    """``gmm`` with diagonal covariances: cheap (linear in d) but blind to correlations."""

    name = "diag_gmm"

    def __init__(
        self,
        n_components: int = 3,
        covariance_type: str = "diag",
        max_iter: int = 250,
        reg_covar: float = 1e-6,
        tol: float = 1e-3,
        n_init: int = 1,
        init_params: str = "kmeans",
        random_state: int | None = 0,
    ) -> None:
        super().__init__(
            n_components, covariance_type, max_iter, reg_covar, tol, n_init, init_params,
            random_state,
        )  # fmt: skip


@ANOMALY_MODELS.register("pca_gmm")
class PCAGaussianMixtureModel(_MixtureParams):
    """PCA-whitened Gaussian mixture with a probabilistic-PCA residual term.

    Rows are centred and projected on the top ``pca_components`` principal axes, each axis
    divided by its standard deviation (whitening, so ``reg_covar`` is relative to unit
    variance), and a full-covariance mixture is fitted there. With ``include_residual`` the
    part of a row *outside* the subspace is scored under an isotropic Gaussian whose
    variance is the mean discarded eigenvalue (Tipping & Bishop's PPCA noise), so
    deviations in directions real pairs never use still lower the score. The score is a
    proper log-density in the input space::

        log p(x) = log GMM(z) - sum(log scale_) - 0.5 * (|r|^2 / s2 + (d - k) * log(2 pi s2))

    with ``z = (x - mean_) @ components_.T / scale_``, ``r`` the residual, ``s2`` =
    ``residual_variance_`` (floored at ``reg_covar`` times the mean kept eigenvalue).

    Args:
        pca_components: int number of axes, or a float in (0, 1): keep enough axes to
            explain that fraction of variance.
        include_residual: add the residual term (recommended; off = subspace only).
        svd_solver: passed to ``sklearn.decomposition.PCA``. The default eigendecomposes
            the ``d x d`` covariance: exact, and the fastest when rows outnumber features
            (3 s for 23k x 1792 on one core, against 7 s randomized and 18 s full SVD).
        Other arguments: as :class:`GaussianMixtureModel`.

    Fitted attributes: ``mean_`` (d,), ``components_`` (k, d), ``scale_`` (k,),
    ``residual_variance_`` (float), ``mixture_``, ``n_features_in_``.
    """

    name = "pca_gmm"

    def __init__(
        self,
        pca_components: int | float = 64,
        n_components: int = 3,
        covariance_type: str = "full",
        max_iter: int = 250,
        reg_covar: float = 1e-6,
        tol: float = 1e-3,
        n_init: int = 1,
        init_params: str = "kmeans",
        include_residual: bool = True,
        svd_solver: str = "covariance_eigh",
        random_state: int | None = 0,
    ) -> None:
        self.pca_components = pca_components
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.max_iter = max_iter
        self.reg_covar = reg_covar
        self.tol = tol
        self.n_init = n_init
        self.init_params = init_params
        self.include_residual = include_residual
        self.svd_solver = svd_solver
        self.random_state = random_state

    def fit(self, X: np.ndarray, y: None = None) -> PCAGaussianMixtureModel:
        """Fit on normal rows, shape ``(n_samples, n_features)``."""
        X = check_features(X)
        self._check_rows(X)
        if X.shape[0] < 2:
            raise ValueError(f"need at least 2 rows to fit a PCA, got {X.shape[0]}")
        k = self.pca_components
        if isinstance(k, (int, np.integer)) and not 1 <= k <= min(X.shape):
            raise ValueError(f"pca_components must be in [1, {min(X.shape)}] here, got {k}")
        pca = PCA(n_components=k, svd_solver=self.svd_solver, random_state=self.random_state)
        pca.fit(X)
        variances = np.asarray(pca.explained_variance_, dtype=np.float64)
        self.mean_ = np.asarray(pca.mean_, dtype=np.float64)
        self.components_ = np.asarray(pca.components_, dtype=np.float64)
        self.scale_ = np.sqrt(np.maximum(variances, np.finfo(np.float64).tiny))
        # PPCA noise: the mean of the d - k discarded eigenvalues (zeros included), whatever
        # the solver; floored so a rank-deficient training set cannot give zero variance
        n_rest = X.shape[1] - variances.size
        total = float(np.sum(np.var(X, axis=0, ddof=1)))
        rest = (total - float(variances.sum())) / n_rest if n_rest else 0.0
        self.residual_variance_ = max(rest, self.reg_covar * float(np.mean(variances)))
        self.n_features_in_ = X.shape[1]
        Z, _ = self._project(X)
        self.mixture_ = self._new_mixture().fit(Z)
        return self

    def _project(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Whitened coordinates ``(n, k)`` and squared residual norms ``(n,)``."""
        centred = X - self.mean_
        coords = centred @ self.components_.T
        residual = centred - coords @ self.components_
        return coords / self.scale_, np.einsum("ij,ij->i", residual, residual)

    def score_samples(self, X: np.ndarray) -> np.ndarray:
        """Log-density per row: ``(n_samples, n_features)`` -> ``(n_samples,)`` float64."""
        self._check_fitted()
        X = check_features(X, self.n_features_in_)
        Z, r2 = self._project(X)
        ll = self.mixture_.score_samples(Z) - float(np.sum(np.log(self.scale_)))
        n_residual_dims = self.n_features_in_ - self.components_.shape[0]
        if self.include_residual and n_residual_dims > 0:
            s2 = self.residual_variance_
            ll = ll - 0.5 * (r2 / s2 + n_residual_dims * np.log(2.0 * np.pi * s2))
        return np.asarray(ll, dtype=np.float64)

    def _fitted_state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        self._check_fitted()
        arrays, scalars = _mixture_state(self.mixture_, "mixture.")
        arrays.update(mean=self.mean_, components=self.components_, scale=self.scale_)
        scalars["residual_variance"] = float(self.residual_variance_)
        return arrays, scalars

    def _restore_fitted_state(self, arrays: dict[str, np.ndarray], scalars: dict[str, Any]) -> None:
        self.mean_ = np.asarray(arrays["mean"], dtype=np.float64)
        self.components_ = np.asarray(arrays["components"], dtype=np.float64)
        self.scale_ = np.asarray(arrays["scale"], dtype=np.float64)
        self.residual_variance_ = float(scalars["residual_variance"])
        self.mixture_ = _restore_mixture(self._new_mixture(), arrays, scalars, "mixture.")
        if self.components_.shape != (self.scale_.size, self.mean_.size):
            raise ValueError(
                f"inconsistent PCA arrays: components {self.components_.shape}, "
                f"scale {self.scale_.shape}, mean {self.mean_.shape}"
            )
        self.n_features_in_ = int(self.mean_.size)
