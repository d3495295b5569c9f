"""Plots and the markdown report."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.image import imread

from difffake_core.metrics import binary_metrics, breakdown_by_method
from difffake_core.report import write_histogram_png, write_markdown_report, write_roc_png

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    y = np.r_[np.zeros(60), np.ones(40)]
    return y, rng.normal(size=100) + y


def _assert_png(path: Path) -> None:
    assert path.read_bytes()[:8] == PNG_MAGIC
    img = imread(path)
    assert img.ndim == 3 and img.shape[0] > 100 and img.shape[1] > 100
    assert img[..., :3].std() > 0.01  # something was drawn


def test_roc_and_histogram_pngs(tmp_path: Path) -> None:
    y, s = _data()
    roc = write_roc_png(
        tmp_path / "plots" / "roc.png", {"pairs": (y, s), "reals only": (np.zeros(3), [1, 2, 3])}
    )
    hist = write_histogram_png(tmp_path / "hist.png", y, s, threshold=0.5)
    _assert_png(roc)
    _assert_png(hist)


def test_markdown_report_contains_values(tmp_path: Path) -> None:
    y, s = _data()
    metrics = binary_metrics(y, s, threshold=0.5)
    methods = np.where(np.arange(100) % 2, "faceswap", "deepfakes")
    breakdown = breakdown_by_method(y, s, methods, threshold=0.5)
    png = write_histogram_png(tmp_path / "fig" / "hist.png", y, s, 0.5)
    report = write_markdown_report(
        tmp_path / "report.md", metrics, breakdown, {"Score histogram": png}
    )
    text = report.read_text()
    assert f"{metrics['roc_auc']:.4f}" in text and f"{metrics['eer']:.4f}" in text
    assert f"| balanced_accuracy | {metrics['balanced_accuracy']:.4f} |" in text
    auc_fs = breakdown.set_index("subset").loc["faceswap", "roc_auc"]
    assert f"{auc_fs:.4f}" in text and "| faceswap |" in text
    assert "![Score histogram](fig/hist.png)" in text


def test_markdown_report_nan_and_note(tmp_path: Path) -> None:
    metrics = binary_metrics([0, 0], [0.1, 0.2])
    text = write_markdown_report(tmp_path / "r.md", metrics, pd.DataFrame()).read_text()
    assert "| roc_auc | n/a |" in text
    assert "Note: only one class present" in text
    assert "## Breakdown" not in text
