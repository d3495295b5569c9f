"""Saving and loading fitted anomaly models without pickle.

A saved model is a directory with two files:

``arrays.safetensors``
    The fitted arrays (safetensors: a JSON header plus raw buffers; loading it cannot run
    code).
``model.json``
    The registry name, hyperparameters, fitted scalars, ``n_features``, the name, shape and
    dtype of every array, the SHA-256 of ``arrays.safetensors``, library versions, and an
    optional caller ``metadata`` dict (training-data version, threshold, ...).

Loading rebuilds the estimator from these (no refitting), after checking the checksum,
the array names, shapes and dtypes; any mismatch raises :class:`ModelAssetError`. The
checksum catches corruption and edits of the array file alone; pass ``expected_sha256``
(e.g. from a catalog manifest) to also pin the array file against a rewritten JSON.
"""

from __future__ import annotations

import hashlib
import json
import platform
import warnings
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import safetensors
import sklearn
from safetensors.numpy import load_file, save_file

import difffake_core
from difffake_core.anomaly.base import ANOMALY_MODELS, AnomalyModel
from difffake_core.errors import ModelAssetError, UnknownNameError

FORMAT = "difffake-anomaly-model"
FORMAT_VERSION = 1
ARRAY_FILE = "arrays.safetensors"
META_FILE = "model.json"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _jsonable(value: Any, where: str) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_jsonable(v, where) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v, f"{where}.{k}") for k, v in value.items()}
    raise TypeError(f"{where} must be JSON-serialisable, got {type(value).__name__}: {value!r}")


def save_anomaly_model(
    model: AnomalyModel,
    directory: str | Path,
    metadata: Mapping[str, Any] | None = None,
    overwrite: bool = False,
) -> Path:
    """Write a fitted model to ``directory`` (created if needed); returns the directory.

    Raises:
        NotFittedError: the model is not fitted.
        FileExistsError: the directory already holds a model and ``overwrite`` is false.
        TypeError: a hyperparameter or metadata value is not JSON-serialisable (e.g. a
            ``RandomState`` as ``random_state``: use an int seed).
    """
    directory = Path(directory)
    arrays, scalars = model._fitted_state()
    params = _jsonable(model.get_params(deep=False), "hyperparameters")
    meta_extra = _jsonable(dict(metadata or {}), "metadata")
    if not overwrite and (directory / META_FILE).exists():
        raise FileExistsError(f"{directory} already holds a model; pass overwrite=True")
    directory.mkdir(parents=True, exist_ok=True)
    arrays = {k: np.ascontiguousarray(v) for k, v in arrays.items()}
    array_path = directory / ARRAY_FILE
    save_file(arrays, str(array_path))
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "name": model.name,
        "hyperparameters": params,
        "n_features": int(model.n_features_in_),
        "fitted_scalars": _jsonable(scalars, "fitted_scalars"),
        "arrays": {k: {"shape": list(v.shape), "dtype": str(v.dtype)} for k, v in arrays.items()},
        "array_file": ARRAY_FILE,
        "sha256": _sha256(array_path),
        "versions": {
            "difffake": difffake_core.__version__,
            "numpy": np.__version__,
            "scikit-learn": sklearn.__version__,
            "safetensors": safetensors.__version__,
            "python": platform.python_version(),
        },
        "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "metadata": meta_extra,
    }
    (directory / META_FILE).write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
    return directory


def read_model_metadata(directory: str | Path) -> dict[str, Any]:
    """The parsed ``model.json`` of a saved model (no checks on the arrays)."""
    path = Path(directory) / META_FILE
    if not path.is_file():
        raise ModelAssetError(f"no {META_FILE} in {directory}")
    try:
        meta = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ModelAssetError(f"{path} is not valid JSON: {e}") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ModelAssetError(f"{path} is not a {FORMAT} file")
    if meta.get("format_version") != FORMAT_VERSION:
        raise ModelAssetError(
            f"{path} has format_version {meta.get('format_version')!r}; "
            f"this library reads {FORMAT_VERSION}"
        )
    return meta


def load_anomaly_model(directory: str | Path, expected_sha256: str | None = None) -> AnomalyModel:
    """Rebuild a fitted model saved by :func:`save_anomaly_model`, without refitting.

    Raises:
        ModelAssetError: missing files, checksum mismatch (corrupt or tampered arrays),
            unexpected array names/shapes/dtypes, unknown model name or hyperparameters.
    """
    directory = Path(directory)
    meta = read_model_metadata(directory)
    try:
        cls = ANOMALY_MODELS.get(meta["name"])
        declared = meta["arrays"]
        scalars = meta["fitted_scalars"]
        n_features = int(meta["n_features"])
        array_path = directory / meta["array_file"]
    except (KeyError, TypeError, ValueError, UnknownNameError) as e:
        raise ModelAssetError(f"{directory / META_FILE} is incomplete or invalid: {e}") from None
    if not array_path.is_file() or array_path.parent != directory:
        raise ModelAssetError(f"array file {array_path} is missing")
    digest = _sha256(array_path)
    for label, want in (("model.json", meta.get("sha256")), ("expected_sha256", expected_sha256)):
        if want is not None and digest != want:
            raise ModelAssetError(
                f"{array_path} has sha256 {digest}, but {label} says {want}: "
                "the file is corrupt or was modified"
            )
    try:
        arrays = load_file(str(array_path))
    except Exception as e:  # safetensors raises its own error types on malformed headers
        raise ModelAssetError(f"{array_path} cannot be read: {e}") from None
    got = {k: {"shape": list(v.shape), "dtype": str(v.dtype)} for k, v in arrays.items()}
    if got != declared:
        raise ModelAssetError(
            f"{array_path} holds arrays {got}, but model.json declares {declared}"
        )
    versions = meta.get("versions", {})
    if versions.get("scikit-learn") not in (None, sklearn.__version__):
        warnings.warn(
            f"model saved with scikit-learn {versions['scikit-learn']}, "
            f"loading with {sklearn.__version__}",
            stacklevel=2,
        )
    try:
        model = cls(**meta["hyperparameters"])
        model._restore_fitted_state(arrays, scalars)
    except (TypeError, KeyError, ValueError) as e:
        raise ModelAssetError(f"cannot rebuild {meta['name']!r} from {directory}: {e}") from None
    if model.n_features_in_ != n_features:
        raise ModelAssetError(
            f"{directory}: arrays give {model.n_features_in_} features, model.json says {n_features}"
        )
    return model
