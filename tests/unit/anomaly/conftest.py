"""Small synthetic data for the anomaly-model tests."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(scope="session")
def clusters() -> tuple[np.ndarray, np.ndarray]:
    """(train, outliers): 3 tight clusters in 8-d, shape (240, 8), and 20 far rows."""
    rng = np.random.default_rng(7)
    centres = rng.normal(0.0, 4.0, size=(3, 8))
    mix = rng.normal(size=(3, 8, 8)) * 0.3
    label = rng.integers(0, 3, size=240)
    train = centres[label] + np.einsum("nij,nj->ni", mix[label], rng.normal(size=(240, 8)))
    outliers = rng.normal(0.0, 1.0, size=(20, 8)) + 25.0
    return train, outliers


# small, fast settings per registered model
FAST_KWARGS = {
    "gmm": {},
    "diag_gmm": {},
    "pca_gmm": {"pca_components": 5},
    "ocsvm": {"nu": 0.2},
}
