"""The environment and package boundaries users rely on."""

import importlib.metadata
import subprocess
import sys

import pytest


def test_difffake_core_never_imports_prefect_or_the_catalog():
    code = (
        "import sys, pkgutil, importlib, difffake_core\n"
        "for m in pkgutil.walk_packages(difffake_core.__path__, 'difffake_core.'):\n"
        "    importlib.import_module(m.name)\n"
        "bad = sorted(k for k in sys.modules if k.split('.')[0] in ('prefect', 'data_catalog', 'tasks', 'flows'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "", f"difffake_core imported: {out.stdout.strip()}"


def test_exactly_one_opencv_distribution_and_cv2_works():
    dists = {d.metadata["Name"].lower() for d in importlib.metadata.distributions()}
    opencv = sorted(d for d in dists if d.startswith("opencv"))
    assert len(opencv) == 1, f"several OpenCV distributions share the cv2 module: {opencv}"
    import cv2
    import numpy as np

    ok, buf = cv2.imencode(".png", np.zeros((4, 4, 3), np.uint8))
    assert ok and cv2.imdecode(buf, cv2.IMREAD_COLOR).shape == (4, 4, 3)


@pytest.mark.parametrize("module", ["decord", "av", "mediapipe", "timm", "prefect", "duckdb"])
def test_pinned_packages_import(module):
    __import__(module)


def test_prefect_yaml_deployments_point_at_real_flows_with_valid_parameters():
    import importlib
    from pathlib import Path

    import yaml

    spec = yaml.safe_load((Path(__file__).resolve().parents[2] / "prefect.yaml").read_text())
    names = set()
    for dep in spec["deployments"]:
        module, attr = dep["entrypoint"].split(":")
        flow = getattr(importlib.import_module(module), attr)
        flow.validate_parameters(dep.get("parameters", {}))  # raises on a bad config
        names.add(flow.name)
    assert {"retrain-detector", "score-media-archive"} <= names
    retrain = next(d for d in spec["deployments"] if d["name"] == "retrain-weekly")
    assert retrain["schedules"][0]["cron"] == "0 3 * * 1"
