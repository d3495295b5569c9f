"""Saving signals and the fusion into a detector folder, without pickle.

Layout (one folder per signal, next to ``fusion.json``)::

    signals/<name>/signal.json          registry name, parameters, fitted scalars
    signals/<name>/state.safetensors    fitted arrays of the signal itself (if any)
    signals/<name>/model/               its anomaly model (difffake_core.anomaly.persistence)
    fusion.json + fusion.safetensors    rule, threshold, calibration reference scores

Floats travel as raw float64 buffers (safetensors) or ``repr``-exact JSON, so a loaded
signal scores bit-identically to the one saved.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from safetensors.numpy import load_file, save_file

from difffake_core.anomaly import load_anomaly_model, save_anomaly_model
from difffake_core.errors import ModelAssetError, UnknownNameError
from difffake_core.signals.base import SIGNALS, Signal
from difffake_core.signals.fusion import Fusion, FusionRule

SIGNAL_FORMAT = "difffake-signal/1"
FUSION_FORMAT = "difffake-fusion/1"


def save_signal(signal: Signal, directory: str | Path) -> Path:
    """Write a fitted signal to ``directory`` (created)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    arrays, scalars, model = signal._state()
    if arrays:
        save_file({k: np.ascontiguousarray(v) for k, v in arrays.items()},
                  str(directory / "state.safetensors"))  # fmt: skip
    if model is not None:
        save_anomaly_model(model, directory / "model", overwrite=True)
    meta = {"format": SIGNAL_FORMAT, "name": signal.name, "params": signal.get_params(),
            "scalars": scalars, "arrays": sorted(arrays), "has_model": model is not None}  # fmt: skip
    (directory / "signal.json").write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
    return directory


def load_signal(directory: str | Path) -> Signal:
    """Rebuild a signal saved by :func:`save_signal`.

    Raises:
        ModelAssetError: missing or inconsistent files, unknown signal name.
    """
    directory = Path(directory)
    try:
        meta = json.loads((directory / "signal.json").read_text())
    except (OSError, ValueError) as exc:
        raise ModelAssetError(f"no readable signal.json in {directory}: {exc}") from None
    if meta.get("format") != SIGNAL_FORMAT:
        raise ModelAssetError(f"{directory}: format {meta.get('format')!r}, not {SIGNAL_FORMAT}")
    try:
        signal = SIGNALS.get(meta["name"])(**meta["params"])
    except (UnknownNameError, TypeError, ValueError) as exc:
        raise ModelAssetError(f"{directory}: cannot rebuild signal: {exc}") from None
    arrays = load_file(str(directory / "state.safetensors")) if meta["arrays"] else {}
    if sorted(arrays) != meta["arrays"]:
        raise ModelAssetError(f"{directory}: arrays {sorted(arrays)}, expected {meta['arrays']}")
    model = load_anomaly_model(directory / "model") if meta["has_model"] else None
    signal._restore(arrays, meta["scalars"], model)
    return signal


def save_fusion(fusion: Fusion, directory: str | Path) -> Path:
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    save_file({s: np.ascontiguousarray(fusion.reference[s], np.float64) for s in fusion.signals},
              str(directory / "fusion.safetensors"))  # fmt: skip
    meta: dict[str, Any] = {"format": FUSION_FORMAT, "signals": fusion.signals,
                            "rule": fusion.rule.value, "threshold": fusion.threshold,
                            "target_fpr": fusion.target_fpr, "info": fusion.info}  # fmt: skip
    (directory / "fusion.json").write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
    return directory


def load_fusion(directory: str | Path) -> Fusion:
    directory = Path(directory)
    try:
        meta = json.loads((directory / "fusion.json").read_text())
        reference = load_file(str(directory / "fusion.safetensors"))
    except (OSError, ValueError) as exc:
        raise ModelAssetError(f"no readable fusion in {directory}: {exc}") from None
    if meta.get("format") != FUSION_FORMAT or set(reference) != set(meta["signals"]):
        raise ModelAssetError(f"{directory}: fusion.json and fusion.safetensors disagree")
    return Fusion(list(meta["signals"]), dict(reference), FusionRule(meta["rule"]),
                  meta["threshold"], meta["target_fpr"], meta.get("info", {}))  # fmt: skip
