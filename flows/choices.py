"""Choice types of the flow configs, derived from the registries (one source of names).

A bad name in ``prefect.yaml``, on the CLI or in Python fails pydantic validation before any
work starts, and the error lists the valid names. Defaults are declared here once.
"""

from __future__ import annotations

from typing import Literal

from data_catalog.adapters import ADAPTERS
from difffake_core.anomaly import ANOMALY_MODELS
from difffake_core.pairs import CombineOp, PairStrategy
from difffake_core.runtime import RUNTIME_NAMES
from difffake_core.training.config import PRESETS


def _literal(names: list[str] | tuple[str, ...]):
    """``Literal["a", "b", ...]`` of ``names`` (registries are filled at import time)."""
    return Literal[tuple(sorted(names))]  # type: ignore[valid-type]


AnomalyModelName = _literal(ANOMALY_MODELS.names())
PresetName = _literal(PRESETS.names())
RuntimeName = _literal(RUNTIME_NAMES)
AdapterName = _literal(ADAPTERS.names())
PairStrategyName = _literal([s.value for s in PairStrategy])
CombineOpName = _literal([o.value for o in CombineOp])

DEFAULT_ANOMALY_MODEL = "pca_gmm"
DEFAULT_PRESET = "cpu-small"
DEFAULT_RUNTIME = "auto"
DEFAULT_ADAPTER = "folder"

__all__ = [
    "DEFAULT_ADAPTER",
    "DEFAULT_ANOMALY_MODEL",
    "DEFAULT_PRESET",
    "DEFAULT_RUNTIME",
    "AdapterName",
    "AnomalyModelName",
    "CombineOpName",
    "PairStrategyName",
    "PresetName",
    "RuntimeName",
]
