"""Evaluation plots (PNG) and a markdown report.

Plots use matplotlib's Agg canvas on a ``Figure`` object directly (no ``pyplot``), so they
work without a display, leave the global backend alone and are safe in worker threads.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from difffake_core.metrics import check_labels_scores, roc_curve_points


def _figure(width: float = 6.0, height: float = 5.0) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def _save(fig: Any, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, format="png")
    return path


def write_roc_png(
    path: str | Path, curves: Mapping[str, tuple[Any, Any]], title: str = "ROC"
) -> Path:
    """Plot one ROC curve per entry ``name -> (labels, scores)`` (1 = fake, higher = fake).

    A curve with a single class cannot be drawn; it is listed in the legend as undefined.
    """
    from sklearn.metrics import auc

    fig = _figure()
    ax = fig.add_subplot(1, 1, 1)
    for name, (labels, scores) in curves.items():
        try:
            fpr, tpr, _ = roc_curve_points(labels, scores)
        except ValueError:
            ax.plot([], [], label=f"{name} (undefined: one class)")
            continue
        ax.plot(fpr, tpr, label=f"{name} (AUC {auc(fpr, tpr):.3f})")
    ax.plot([0, 1], [0, 1], linestyle=":", color="grey", linewidth=1)
    ax.set(xlim=(0, 1), ylim=(0, 1.01), xlabel="false-positive rate", ylabel="true-positive rate")
    ax.set_title(title)
    ax.legend(loc="lower right", fontsize="small")
    return _save(fig, path)


def write_histogram_png(
    path: str | Path,
    labels: Any,
    scores: Any,
    threshold: float | None = None,
    bins: int = 40,
    title: str = "Fake scores",
) -> Path:
    """Overlaid histograms of real and fake scores, with the threshold as a vertical line."""
    y, s = check_labels_scores(labels, scores)
    edges = np.histogram_bin_edges(s, bins=bins)
    fig = _figure(7.0, 4.5)
    ax = fig.add_subplot(1, 1, 1)
    for value, name, color in ((0, "real", "tab:blue"), (1, "fake", "tab:red")):
        part = s[y == value]
        if part.size:
            ax.hist(part, bins=edges, alpha=0.55, color=color, label=f"{name} (n={part.size})")
    if threshold is not None:
        ax.axvline(threshold, color="black", linestyle="--", label=f"threshold {threshold:.4g}")
    ax.set(xlabel="fake score (higher = more likely fake)", ylabel="videos")
    ax.set_title(title)
    ax.legend(fontsize="small")
    return _save(fig, path)


def format_value(value: Any) -> str:
    """Text for a table cell: floats to 4 decimals, NaN/None as ``n/a``."""
    if value is None:
        return "n/a"
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (float, np.floating)):
        return "n/a" if math.isnan(value) else f"{float(value):.4f}"
    return str(value).replace("|", "\\|").replace("\n", " ")


def markdown_table(frame: pd.DataFrame) -> str:
    """A GitHub-flavoured markdown table of a DataFrame (index dropped)."""
    cols = [str(c) for c in frame.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for row in frame.itertuples(index=False):
        lines.append("| " + " | ".join(format_value(v) for v in row) + " |")
    return "\n".join(lines)


def _relative(target: str | Path, folder: Path) -> str:
    """``target`` as a link from ``folder`` (POSIX separators, spaces escaped)."""
    rel = Path(os.path.relpath(Path(target).resolve(), folder.resolve())).as_posix()
    return rel.replace(" ", "%20")


def write_markdown_report(
    path: str | Path,
    metrics: Mapping[str, Any],
    breakdown: pd.DataFrame | None = None,
    images: Mapping[str, str | Path] | None = None,
    title: str = "DiffFake evaluation",
    evidence: pd.DataFrame | None = None,
) -> Path:
    """Write a markdown report: metrics table, optional breakdown table and images.

    Args:
        metrics: e.g. :func:`difffake_core.metrics.binary_metrics` output; a ``note`` key is
            shown as text below the table.
        breakdown: e.g. :func:`difffake_core.metrics.breakdown_by_method` output.
        images: caption -> PNG path; linked relative to the report's folder.
        evidence: one row per video with an evidence sheet, column ``evidence_path`` (the
            PNG) plus any columns to show (e.g. ``video_id, label, fake_score, verdict``);
            listed as a table whose last column links each sheet.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    parts = [f"# {title}", "", "## Metrics", ""]
    rows = [(k, v) for k, v in metrics.items() if k != "note"]
    parts.append(markdown_table(pd.DataFrame(rows, columns=["metric", "value"])))
    if metrics.get("note"):
        parts += ["", f"Note: {metrics['note']}"]
    if breakdown is not None and len(breakdown):
        parts += ["", "## Breakdown", "", markdown_table(breakdown)]
    if images:
        parts += ["", "## Figures"]
        for caption, image in images.items():
            parts += ["", f"![{caption}]({_relative(image, path.parent)})"]
    if evidence is not None and len(evidence):
        links = [f"[sheet]({_relative(p, path.parent)})" for p in evidence["evidence_path"]]
        shown = evidence.drop(columns=["evidence_path"]).assign(sheet=links)
        parts += ["", "## Evidence sheets", "", markdown_table(shown)]
    path.write_text("\n".join(parts) + "\n", encoding="utf-8")
    return path
