"""Anomaly models: conventions, score direction and agreement with reference formulas."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import multivariate_normal
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.mixture import GaussianMixture
from sklearn.svm import OneClassSVM

from difffake_core.anomaly import ANOMALY_MODELS, create_anomaly_model
from difffake_core.errors import UnknownNameError
from tests.unit.anomaly.conftest import FAST_KWARGS


def test_registry_names() -> None:
    assert set(ANOMALY_MODELS.names()) == {"gmm", "diag_gmm", "pca_gmm", "ocsvm"}
    assert set(FAST_KWARGS) == set(ANOMALY_MODELS.names())
    with pytest.raises(UnknownNameError, match="pca_gmm"):
        create_anomaly_model("isolation_forest")


@pytest.mark.parametrize("name", sorted(FAST_KWARGS))
def test_conventions_and_direction(name: str, clusters) -> None:
    train, outliers = clusters
    model = create_anomaly_model(name, **FAST_KWARGS[name])
    assert model.name == name
    before = dict(vars(model))
    assert before == model.get_params(deep=False)  # __init__ stores hyperparameters only
    with pytest.raises(NotFittedError):
        model.score_samples(train)
    assert model.fit(train) is model
    fitted = set(vars(model)) - set(before)
    assert fitted and all(k.endswith("_") for k in fitted)
    inl = model.score_samples(train)
    out = model.score_samples(outliers)
    assert inl.shape == (len(train),) and inl.dtype == np.float64
    assert np.isfinite(inl).all()
    assert out.max() < np.median(inl)  # higher = more normal
    assert np.array_equal(clone(model).fit(train).score_samples(outliers), out)  # seeded


@pytest.mark.parametrize("name", sorted(FAST_KWARGS))
def test_bad_input_is_refused(name: str, clusters) -> None:
    train, _ = clusters
    model = create_anomaly_model(name, **FAST_KWARGS[name]).fit(train)
    with pytest.raises(ValueError, match="has 5 features but the model expects 8"):
        model.score_samples(train[:, :5])
    bad = train.copy()
    bad[3, 2] = np.nan
    with pytest.raises(ValueError, match="1 non-finite"):
        create_anomaly_model(name).fit(bad)
    with pytest.raises(ValueError, match=r"got \(8,\)"):
        model.score_samples(train[0])


def test_gmm_matches_sklearn_with_paper_settings(clusters) -> None:
    train, outliers = clusters
    model = create_anomaly_model("gmm", random_state=3).fit(train)
    ref = GaussianMixture(
        n_components=3, covariance_type="full", init_params="kmeans", max_iter=250, random_state=3
    ).fit(train)
    assert np.allclose(model.score_samples(outliers), ref.score_samples(outliers))
    assert model.mixture_.covariances_.shape == (3, 8, 8)


def test_diag_gmm_has_diagonal_covariances(clusters) -> None:
    model = create_anomaly_model("diag_gmm").fit(clusters[0])
    assert model.covariance_type == "diag"
    assert model.mixture_.covariances_.shape == (3, 8)


def test_gmm_needs_enough_rows(clusters) -> None:
    with pytest.raises(ValueError, match="at least n_components=3 rows"):
        create_anomaly_model("gmm").fit(clusters[0][:2])


def test_pca_gmm_is_the_equivalent_gaussian_density(clusters) -> None:
    train, outliers = clusters
    model = create_anomaly_model("pca_gmm", pca_components=3, n_components=1).fit(train)
    v, s = model.components_, model.scale_
    m = model.mixture_.means_[0]
    cov_z = model.mixture_.covariances_[0]
    d = train.shape[1]
    mean = model.mean_ + v.T @ (m * s)
    cov = v.T @ (np.diag(s) @ cov_z @ np.diag(s)) @ v + model.residual_variance_ * (
        np.eye(d) - v.T @ v
    )
    x = np.vstack([train[:10], outliers[:5]])
    assert np.allclose(model.score_samples(x), multivariate_normal(mean, cov).logpdf(x))


def test_pca_gmm_residual_catches_off_subspace_deviation(clusters) -> None:
    train, _ = clusters
    with_res = create_anomaly_model("pca_gmm", pca_components=3).fit(train)
    without = clone(with_res).set_params(include_residual=False).fit(train)
    # a direction orthogonal to the kept principal axes
    _, _, vt = np.linalg.svd(with_res.components_)
    off = vt[-1]
    centre = train[:1]
    moved = centre + 10.0 * off
    assert np.allclose(without.score_samples(moved), without.score_samples(centre))
    assert with_res.score_samples(moved)[0] < with_res.score_samples(centre)[0] - 10.0


def test_pca_gmm_explained_variance_fraction(clusters) -> None:
    model = create_anomaly_model("pca_gmm", pca_components=0.9).fit(clusters[0])
    k = model.components_.shape[0]
    assert 1 <= k < 8
    with pytest.raises(ValueError, match="pca_components must be in"):
        create_anomaly_model("pca_gmm", pca_components=50).fit(clusters[0])


@pytest.mark.parametrize(
    ("kernel", "gamma"), [("rbf", "scale"), ("rbf", 0.05), ("poly", "auto"), ("linear", "scale")]
)
def test_ocsvm_scores_match_libsvm(kernel: str, gamma, clusters) -> None:
    train, outliers = clusters
    model = create_anomaly_model("ocsvm", kernel=kernel, gamma=gamma, nu=0.2, coef0=1.0)
    model.fit(train)
    ref = OneClassSVM(kernel=kernel, gamma=gamma, nu=0.2, coef0=1.0).fit(train)
    x = np.vstack([train[:20], outliers])
    assert np.allclose(model.score_samples(x), ref.score_samples(x), rtol=1e-9, atol=1e-9)
    assert np.isclose(model.intercept_, ref.intercept_[0])


def test_single_frame_baseline_needs_no_pairs() -> None:
    """The Baseline fits the same models on raw (unnormalised) single-frame embeddings."""
    rng = np.random.default_rng(0)
    frames = rng.normal(5.0, 3.0, size=(200, 6))
    model = create_anomaly_model("gmm").fit(frames)
    assert model.score_samples(frames[:5]).shape == (5,)
    assert model.score_samples(frames + 50.0).max() < model.score_samples(frames).min()
