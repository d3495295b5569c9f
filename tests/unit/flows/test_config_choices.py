"""Every choice field of the flow configs is checked against its registry at validation."""

from __future__ import annotations

import copy
import importlib
from pathlib import Path

import pytest
import yaml

from data_catalog.adapters import ADAPTERS
from difffake_core.anomaly import ANOMALY_MODELS
from difffake_core.pairs import CombineOp, PairStrategy
from difffake_core.runtime import RUNTIME_NAMES
from difffake_core.training.config import PRESETS
from flows.runners import RunnerName

SPEC = yaml.safe_load((Path(__file__).resolve().parents[3] / "prefect.yaml").read_text())

# (dotted field path inside a deployment's `config`, the valid names)
CHOICES = {
    "adapter": ADAPTERS.names(),
    "runtime": list(RUNTIME_NAMES),
    "preset": PRESETS.names(),
    "anomaly_model": ANOMALY_MODELS.names(),
    "baseline_model": ANOMALY_MODELS.names(),
    "pairs.strategy": [s.value for s in PairStrategy],
    "pairs.op": [o.value for o in CombineOp],
    "runner": [r.value for r in RunnerName],
}


def _fields(model_cls) -> set[str]:
    out = set(model_cls.model_fields)
    if "pairs" in out:
        out |= {"pairs.strategy", "pairs.op"}
    return out


def _cases():
    for dep in SPEC["deployments"]:
        module, attr = dep["entrypoint"].split(":")
        flow = getattr(importlib.import_module(module), attr)
        config_cls = flow.fn.__annotations__["config"]
        if isinstance(config_cls, str):
            config_cls = getattr(importlib.import_module(module), config_cls)
        for field in sorted(_fields(config_cls) & set(CHOICES)):
            yield pytest.param(dep, flow, field, id=f"{dep['name']}:{field}")


@pytest.mark.parametrize(("dep", "flow", "field"), list(_cases()))
def test_a_typo_in_prefect_yaml_fails_validation_listing_the_valid_names(dep, flow, field):
    params = copy.deepcopy(dep.get("parameters", {}))
    node = params.setdefault("config", {})
    *parents, leaf = field.split(".")
    for p in parents:
        node = node.setdefault(p, {})
    node[leaf] = "no-such-name"
    with pytest.raises(Exception) as err:
        flow.validate_parameters(params)
    text = str(err.value)
    assert f"config.{field}" in text
    for name in CHOICES[field]:
        assert name in text, (field, name)


def test_the_deployments_cover_every_registry_choice():
    covered = {case.values[2] for case in _cases()}
    assert covered == set(CHOICES)


def test_pair_settings_coerce_to_their_enums_and_fingerprint_as_before():
    import json

    from difffake_core.detector import PairSettings
    from flows.retrain_detector import RetrainConfig

    cfg = RetrainConfig(root="x", pairs={"strategy": "all", "op": "abs_diff"})
    assert cfg.pairs.strategy is PairStrategy.ALL and cfg.pairs.op is CombineOp.ABS_DIFF
    assert json.dumps(cfg.pairs.__dict__) == json.dumps(
        {"strategy": "all", "op": "abs_diff", "images_to_pair": 8, "seed": 0, "min_pairs": 4}
    )
    assert PairSettings() == PairSettings(strategy="paper", op="sq_diff")


@pytest.mark.parametrize(
    ("argv", "field"),
    [
        (["retrain", "{root}", "--model", "pca_gmn"], "anomaly_model"),
        (["score", "{root}", "--runtime", "trt"], "runtime"),
        (["retrain", "{root}", "--preset", "cpu"], "preset"),
    ],
)
def test_a_typo_on_the_cli_prints_the_valid_names_and_exits_2(tmp_path, capsys, argv, field):
    from flows.cli import main

    argv = [a.format(root=tmp_path) for a in argv] + ["--catalog", str(tmp_path / "cat")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {field}: Input should be")
    assert not (tmp_path / "cat").exists() or not any((tmp_path / "cat").iterdir())
