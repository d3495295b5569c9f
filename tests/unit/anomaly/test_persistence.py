"""Saving and loading fitted models without pickle."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

from difffake_core.anomaly import create_anomaly_model, load_anomaly_model, save_anomaly_model
from difffake_core.anomaly.persistence import ARRAY_FILE, META_FILE
from difffake_core.errors import ModelAssetError
from tests.unit.anomaly.conftest import FAST_KWARGS


@pytest.fixture(scope="module")
def saved_gmm(clusters, tmp_path_factory) -> tuple[object, Path]:
    model = create_anomaly_model("pca_gmm", pca_components=4, random_state=11).fit(clusters[0])
    return model, save_anomaly_model(model, tmp_path_factory.mktemp("m") / "pca_gmm")


def _copy(src: Path, dst: Path) -> Path:
    dst.mkdir()
    for f in (ARRAY_FILE, META_FILE):
        (dst / f).write_bytes((src / f).read_bytes())
    return dst


@pytest.mark.parametrize("name", sorted(FAST_KWARGS))
def test_round_trip_scores_identical(name: str, clusters, tmp_path: Path) -> None:
    train, outliers = clusters
    model = create_anomaly_model(name, **FAST_KWARGS[name]).fit(train)
    path = save_anomaly_model(model, tmp_path / name, metadata={"train_version": "v3", "n": 240})
    loaded = load_anomaly_model(path)
    assert type(loaded) is type(model)
    assert loaded.get_params() == model.get_params()
    x = np.vstack([train, outliers])
    assert np.array_equal(loaded.score_samples(x), model.score_samples(x))
    meta = json.loads((path / META_FILE).read_text())
    assert meta["name"] == name and meta["n_features"] == 8
    assert meta["metadata"] == {"train_version": "v3", "n": 240}
    assert meta["sha256"] == hashlib.sha256((path / ARRAY_FILE).read_bytes()).hexdigest()
    assert {"numpy", "scikit-learn", "safetensors"} <= set(meta["versions"])


def test_loaded_gmm_keeps_sklearn_attributes(saved_gmm) -> None:
    model, path = saved_gmm
    loaded = load_anomaly_model(path)
    for attr in ("weights_", "means_", "covariances_", "precisions_cholesky_", "precisions_"):
        assert np.allclose(getattr(loaded.mixture_, attr), getattr(model.mixture_, attr))
    assert loaded.mixture_.n_iter_ == model.mixture_.n_iter_
    assert loaded.residual_variance_ == model.residual_variance_


def test_tampered_arrays_are_refused(saved_gmm, tmp_path: Path) -> None:
    _, path = saved_gmm
    bad = _copy(path, tmp_path / "bad")
    data = bytearray((bad / ARRAY_FILE).read_bytes())
    data[-3] ^= 0x01  # flip one bit of the last array's buffer
    (bad / ARRAY_FILE).write_bytes(bytes(data))
    with pytest.raises(ModelAssetError, match="sha256.*corrupt or was modified"):
        load_anomaly_model(bad)


def test_rewritten_json_is_caught_by_expected_sha(saved_gmm, tmp_path: Path) -> None:
    _, path = saved_gmm
    pinned = json.loads((path / META_FILE).read_text())["sha256"]
    assert load_anomaly_model(path, expected_sha256=pinned) is not None
    bad = _copy(path, tmp_path / "bad")
    data = bytearray((bad / ARRAY_FILE).read_bytes())
    data[-3] ^= 0x01
    (bad / ARRAY_FILE).write_bytes(bytes(data))
    meta = json.loads((bad / META_FILE).read_text())
    meta["sha256"] = hashlib.sha256(bytes(data)).hexdigest()  # a consistent forgery
    (bad / META_FILE).write_text(json.dumps(meta))
    with pytest.raises(ModelAssetError, match="expected_sha256"):
        load_anomaly_model(bad, expected_sha256=pinned)


def test_declared_shapes_must_match(saved_gmm, tmp_path: Path) -> None:
    _, path = saved_gmm
    bad = _copy(path, tmp_path / "bad")
    meta = json.loads((bad / META_FILE).read_text())
    meta["arrays"]["mean"]["shape"] = [9]
    (bad / META_FILE).write_text(json.dumps(meta))
    with pytest.raises(ModelAssetError, match="declares"):
        load_anomaly_model(bad)


@pytest.mark.parametrize(
    ("key", "value", "match"),
    [
        ("name", "forest", "incomplete or invalid"),
        ("format", "pickle", "is not a difffake-anomaly-model"),
        ("format_version", 99, "format_version 99"),
        ("array_file", "../elsewhere.safetensors", "missing"),
    ],
)
def test_bad_metadata_is_refused(saved_gmm, tmp_path: Path, key: str, value, match: str) -> None:
    _, path = saved_gmm
    bad = _copy(path, tmp_path / "bad")
    meta = json.loads((bad / META_FILE).read_text())
    meta[key] = value
    (bad / META_FILE).write_text(json.dumps(meta))
    with pytest.raises(ModelAssetError, match=match):
        load_anomaly_model(bad)


def test_unknown_hyperparameter_is_refused(saved_gmm, tmp_path: Path) -> None:
    _, path = saved_gmm
    bad = _copy(path, tmp_path / "bad")
    meta = json.loads((bad / META_FILE).read_text())
    meta["hyperparameters"]["exec"] = "os.system('x')"
    (bad / META_FILE).write_text(json.dumps(meta))
    with pytest.raises(ModelAssetError, match="cannot rebuild"):
        load_anomaly_model(bad)


def test_missing_and_unfitted_and_overwrite(saved_gmm, tmp_path: Path) -> None:
    model, path = saved_gmm
    with pytest.raises(ModelAssetError, match="no model.json"):
        load_anomaly_model(tmp_path / "nothing")
    with pytest.raises(NotFittedError):
        save_anomaly_model(create_anomaly_model("gmm"), tmp_path / "unfitted")
    with pytest.raises(FileExistsError, match="overwrite=True"):
        save_anomaly_model(model, path)
    with pytest.raises(TypeError, match="random_state"):
        save_anomaly_model(model.set_params(random_state=np.random.RandomState(0)), tmp_path / "rs")
    model.set_params(random_state=11)
