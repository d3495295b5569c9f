"""Evidence sheet of one scored video: what a reviewer looks at before trusting a verdict.

One PNG, top to bottom:

``header``
    The verdict, the fused ``fake_score`` against the threshold, and the driving signal.
``pairs:<signal>``
    One row per two-frame signal (``pairs``, ``adjacent_pairs``): its ``n_per_signal`` most
    anomalous pairs (lowest log-likelihood under the signal's real-only model) as
    side-by-side face crops, each titled with its track, frames and log-likelihood.
``timeline:<signal>``
    Every pair's log-likelihood against frame index, one colour per face track: a dot at
    the middle of the pair with a thin line across the two frames it joins, each track's
    mean as a dashed line, the top pairs ringed and numbered. Grey reference lines come
    from the calibration reals of the detector: a signal's raw video score is minus the
    mean log-likelihood of its worst track, so the raw scores at percentile 0.5 and
    ``1 - target_fpr`` (the bars' scale), negated, are the track means of a typical and a
    borderline real.
``signals``
    One bar per signal: its percentile among the calibration reals (``pct_<signal>``), the
    fused ``fake_score`` with the threshold, and the details (raw scores, counts).

Log-likelihoods of different signals come from different models, so pairs are ranked within
a signal, never across. Matplotlib's Agg canvas on a ``Figure`` (no ``pyplot``): safe in
worker threads and headless.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

PAIR_SIGNALS = ("pairs", "adjacent_pairs")
DPI = 100
WIDTH_IN = 15.0
HEIGHTS_IN = {"header": 0.9, "pairs": 2.9, "timeline": 2.6, "signals": 2.8}
TOP_COLUMNS = ["rank", "signal", "track_id", "frame_a", "frame_b", "loglik"]


@dataclass
class Evidence:
    """What the sheet shows for one video.

    Attributes:
        units: the scored units, columns ``track_id, frame_a, frame_b, loglik`` and
            ``signal`` (absent: all ``pairs``, a legacy pair-only detector);
            ``frame_b = -1`` marks single-frame units, which the sheet leaves out.
        crops: ``(track_id, frame_index) -> (H, W, 3)`` uint8 RGB crop; pairs whose crops
            are missing show a grey placeholder.
        percentiles: ``signal -> pct`` in the detector's signal order (NaN = not scored);
            empty for a legacy detector.
        raw: ``signal -> raw video score`` (higher = more suspicious).
        fusion_rule: how the percentiles combined (:class:`~difffake_core.signals.FusionRule`).
        reference: ``signal -> (n,)`` raw video scores of the calibration reals.
        threshold: the verdict threshold on ``fake_score``.
        legacy: a pair-only detector, where ``fake_score`` is minus the worst track's mean
            pair log-likelihood and the threshold is in those units.
    """

    video_id: str
    fake_score: float | None
    verdict: str | None
    status: str
    units: pd.DataFrame
    crops: Mapping[tuple[int, int], np.ndarray] = field(default_factory=dict)
    percentiles: Mapping[str, float] = field(default_factory=dict)
    raw: Mapping[str, float] = field(default_factory=dict)
    reference: Mapping[str, np.ndarray] = field(default_factory=dict)
    threshold: float | None = None
    target_fpr: float | None = None
    driving_signal: str | None = None
    legacy: bool = False
    fusion_rule: str | None = None
    detector: str = ""
    path: str = ""
    frames_used: int | None = None
    pairs_used: int | None = None
    tracks: int | None = None


@dataclass
class SheetLayout:
    """What :func:`sheet_layout` decided (and :func:`write_evidence_sheet` drew).

    ``panels``: panel names top to bottom (see the module doc). ``top_pairs``: the pairs
    shown as crops (:func:`top_pairs`). ``size_px``: ``(width, height)`` of the PNG.
    """

    panels: list[str]
    top_pairs: pd.DataFrame
    timeline_signals: list[str]
    bar_signals: list[str]
    tracks: list[int]
    size_px: tuple[int, int]
    height_ratios: list[float]
    path: Path | None = None


def _with_signal(units: pd.DataFrame) -> pd.DataFrame:
    if "signal" in units.columns:
        return units
    return units.assign(signal="pairs")


def pair_units(units: pd.DataFrame, signals: Sequence[str] = PAIR_SIGNALS) -> pd.DataFrame:
    """The two-frame units (``frame_b >= 0``) of ``signals``, finite log-likelihoods only."""
    u = _with_signal(units)
    if u.empty:
        return pd.DataFrame(columns=["signal", "track_id", "frame_a", "frame_b", "loglik"])
    keep = u["signal"].isin(list(signals)) & (u["frame_b"].astype(np.int64) >= 0)
    keep &= np.isfinite(u["loglik"].astype(np.float64))
    out = u.loc[keep, ["signal", "track_id", "frame_a", "frame_b", "loglik"]].copy()
    for col in ("track_id", "frame_a", "frame_b"):
        out[col] = out[col].astype(np.int64)
    out["loglik"] = out["loglik"].astype(np.float64)
    return out.reset_index(drop=True)


def top_pairs(
    units: pd.DataFrame, n_per_signal: int = 3, signals: Sequence[str] = PAIR_SIGNALS
) -> pd.DataFrame:
    """The ``n_per_signal`` lowest-log-likelihood pairs of each two-frame signal.

    Returns:
        Columns ``rank`` (1 = most anomalous, per signal), ``signal, track_id, frame_a,
        frame_b, loglik``; signals in ``signals`` order, ties broken by frame and track.
    """
    if n_per_signal < 0:
        raise ValueError(f"n_per_signal must be >= 0, got {n_per_signal}")
    u = pair_units(units, signals)
    parts = []
    for name in signals:
        part = u[u["signal"] == name].sort_values(
            ["loglik", "frame_a", "frame_b", "track_id"], kind="stable"
        )
        part = part.head(n_per_signal).assign(rank=np.arange(1, min(len(part), n_per_signal) + 1))
        parts.append(part)
    if not parts or all(p.empty for p in parts):
        return pd.DataFrame({c: pd.Series(dtype=object) for c in TOP_COLUMNS})
    return pd.concat([p for p in parts if not p.empty], ignore_index=True)[TOP_COLUMNS]


def crop_keys(top: pd.DataFrame) -> list[tuple[int, int]]:
    """The ``(track_id, frame_index)`` crops the top pairs need, in first-use order."""
    keys: dict[tuple[int, int], None] = {}
    for row in top.itertuples(index=False):
        keys[(int(row.track_id), int(row.frame_a))] = None
        keys[(int(row.track_id), int(row.frame_b))] = None
    return list(keys)


def percentile_level(reference: np.ndarray, q: float) -> float:
    """The raw score whose fusion percentile (:func:`~difffake_core.signals.fusion.percentile`)
    among ``reference`` is ``q``: the same scale as the bars, inverted by bisection."""
    from difffake_core.signals.fusion import percentile

    ref = np.sort(np.asarray(reference, np.float64))
    span = max(float(np.ptp(ref)), float(np.std(ref)), 1e-6)
    lo, hi = ref[0] - span, ref[-1] + span
    while percentile(lo, ref) > q:
        lo -= 10 * (ref[-1] - lo)
    while percentile(hi, ref) < q:
        hi += 10 * (hi - ref[0])
    for _ in range(100):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if percentile(mid, ref) < q else (lo, mid)
    return 0.5 * (lo + hi)


def reference_lines(ev: Evidence, signal: str) -> dict[str, float]:
    """Track-mean log-likelihood levels of the calibration reals (see module doc): the
    levels where the signal's percentile is 0.5 and ``1 - target_fpr``, so a worst track
    whose mean lies below the second one has a bar beyond the dotted line.

    Returns ``label -> log-likelihood``; empty when the detector has no reference.
    """
    if ev.legacy:
        if ev.threshold is None or not np.isfinite(ev.threshold):
            return {}
        return {"threshold (track mean)": -float(ev.threshold)}
    ref = np.asarray(ev.reference.get(signal, ()), np.float64)
    ref = ref[np.isfinite(ref)]
    if ref.size == 0:
        return {}
    fpr = ev.target_fpr if ev.target_fpr is not None else 0.05
    q = 1.0 - fpr
    return {
        f"calibration reals (n={ref.size}): median": -percentile_level(ref, 0.5),
        f"calibration reals: percentile {q:.2f}": -percentile_level(ref, q),
    }


def sheet_layout(ev: Evidence, n_per_signal: int = 3) -> SheetLayout:
    """Decide the panels, the pairs shown and the PNG size (no drawing)."""
    top = top_pairs(ev.units, n_per_signal)
    u = pair_units(ev.units)
    shown = [s for s in PAIR_SIGNALS if (top["signal"] == s).any()]
    timeline = [s for s in PAIR_SIGNALS if (u["signal"] == s).any()]
    panels = ["header", *[f"pairs:{s}" for s in shown], *[f"timeline:{s}" for s in timeline]]
    panels.append("signals")
    ratios = [HEIGHTS_IN[p.split(":")[0]] for p in panels]
    size = (int(round(WIDTH_IN * DPI)), int(round(sum(ratios) * DPI)))
    return SheetLayout(
        panels=panels,
        top_pairs=top,
        timeline_signals=timeline,
        bar_signals=list(ev.percentiles),
        tracks=sorted(set(u["track_id"].tolist())),
        size_px=size,
        height_ratios=ratios,
    )


# -- drawing ---------------------------------------------------------------------------------


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "n/a"
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.{digits}f}"
    return str(value)


def _verdict_colour(verdict: str | None) -> str:
    return {"fake": "#c0392b", "real": "#1e8449"}.get(verdict or "", "#555555")


def _pair_image(a: np.ndarray | None, b: np.ndarray | None, side: int = 224) -> np.ndarray:
    """Two crops side by side (resized to ``side``), a white gap, grey where missing."""
    import cv2

    def fit(img: np.ndarray | None) -> np.ndarray:
        if img is None:
            return np.full((side, side, 3), 200, np.uint8)
        img = np.asarray(img, np.uint8)
        if img.shape[:2] != (side, side):
            img = cv2.resize(img, (side, side), interpolation=cv2.INTER_AREA)
        return img

    gap = np.full((side, max(side // 28, 4), 3), 255, np.uint8)
    return np.concatenate([fit(a), gap, fit(b)], axis=1)


def _draw_header(ax: Any, ev: Evidence) -> None:
    ax.axis("off")
    verdict = (ev.verdict or ev.status or "not scored").upper()
    if ev.legacy:
        score = f"fake_score {_fmt(ev.fake_score)} (pair-only detector)"
    else:
        score = f"fake_score {_fmt(ev.fake_score)}"
    if ev.threshold is not None and ev.fake_score is not None and np.isfinite(ev.fake_score):
        op = ">" if ev.fake_score > ev.threshold else "<="
        score += f" {op} threshold {_fmt(ev.threshold)}"
    drive = f"   driving signal: {ev.driving_signal}" if ev.driving_signal else ""
    ax.text(0.0, 0.95, f"{ev.video_id}", fontsize=15, fontweight="bold", va="top",
            transform=ax.transAxes)  # fmt: skip
    ax.text(0.0, 0.35, f"{verdict}   {score}{drive}", fontsize=13, va="top",
            color=_verdict_colour(ev.verdict), fontweight="bold", transform=ax.transAxes)  # fmt: skip
    side = ev.detector + (f"\n{ev.path}" if ev.path else "")
    ax.text(1.0, 0.95, side, fontsize=8, ha="right", va="top", color="#555555",
            transform=ax.transAxes)  # fmt: skip


def _draw_pairs_row(fig: Any, cell: Any, ev: Evidence, top: pd.DataFrame, signal: str,
                    n_per_signal: int) -> None:  # fmt: skip
    rows = top[top["signal"] == signal]
    grid = cell.subgridspec(1, max(n_per_signal, 1), wspace=0.08)
    for i in range(max(n_per_signal, 1)):
        ax = fig.add_subplot(grid[0, i])
        ax.set_xticks([])
        ax.set_yticks([])
        if i >= len(rows):
            ax.axis("off")
            continue
        r = rows.iloc[i]
        t, fa, fb = int(r["track_id"]), int(r["frame_a"]), int(r["frame_b"])
        a, b = ev.crops.get((t, fa)), ev.crops.get((t, fb))
        ax.imshow(_pair_image(a, b))
        missing = " (crops not kept)" if a is None or b is None else ""
        ax.set_title(
            f"{signal} #{int(r['rank'])}   track {t}   frames {fa} | {fb}\n"
            f"log-likelihood {r['loglik']:.2f}{missing}",
            fontsize=9, loc="left",
        )  # fmt: skip
        for spine in ax.spines.values():
            spine.set_edgecolor("#c0392b" if int(r["rank"]) == 1 else "#999999")
            spine.set_linewidth(2.0 if int(r["rank"]) == 1 else 0.8)


def _draw_timeline(
    ax: Any, ev: Evidence, signal: str, top: pd.DataFrame, tracks: list[int]
) -> None:
    u = pair_units(ev.units, (signal,))
    colours = {t: f"C{i % 10}" for i, t in enumerate(tracks)}
    for t, g in u.groupby("track_id", sort=True):
        c = colours[int(t)]
        mid = 0.5 * (g["frame_a"] + g["frame_b"])
        ax.hlines(g["loglik"], g["frame_a"], g["frame_b"], colors=c, alpha=0.3, linewidth=1)
        ax.scatter(mid, g["loglik"], s=16, color=c, label=f"track {t} ({len(g)} pairs)", zorder=3)
        mean = float(g["loglik"].mean())
        ax.hlines(mean, g["frame_a"].min(), g["frame_b"].max(), colors=c, linestyles="--",
                  linewidth=1.2, alpha=0.9)  # fmt: skip
    for label, level in reference_lines(ev, signal).items():
        style = ":" if label.endswith("median") else "-."
        ax.axhline(level, color="#666666", linestyle=style, linewidth=1.1, label=label)
    mine = top[top["signal"] == signal]
    for r in mine.itertuples(index=False):
        x = 0.5 * (r.frame_a + r.frame_b)
        ax.scatter([x], [r.loglik], s=110, facecolors="none", edgecolors="#c0392b",
                   linewidths=1.6, zorder=4)  # fmt: skip
        ax.annotate(f"#{r.rank}", (x, r.loglik), textcoords="offset points", xytext=(6, -10),
                    fontsize=8, color="#c0392b")  # fmt: skip
    what = "sampled-frame pairs" if signal == "pairs" else "neighbouring-frame pairs"
    ax.set_title(f"{signal}: log-likelihood of each pair ({what}; dashed = track mean; "
                 "lower = less like the real videos)", fontsize=10, loc="left")  # fmt: skip
    ax.set_xlabel("frame index")
    ax.set_ylabel("log-likelihood")
    ax.grid(alpha=0.25)
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.005, 0.5), frameon=False)


def _draw_signals(fig: Any, cell: Any, ev: Evidence, names: list[str]) -> None:
    grid = cell.subgridspec(1, 3, width_ratios=[0.55, 3, 2], wspace=0.05)  # 0: tick labels
    ax = fig.add_subplot(grid[0, 1])
    fused = f"fake_score ({ev.fusion_rule or 'fused'})"
    if ev.threshold is not None and np.isfinite(ev.threshold):
        fused += f"\nthreshold {ev.threshold:.3f}"
    labels = [*names, fused]
    values = [float(ev.percentiles.get(n, np.nan)) for n in names]
    values.append(np.nan if ev.fake_score is None else float(ev.fake_score))
    y = np.arange(len(labels))[::-1]
    colours = ["#c0392b" if n == ev.driving_signal else "#5d8aa8" for n in names] + ["#222222"]
    if ev.legacy or not names:
        ax.axis("off")
        ax.text(0, 0.5, "pair-only (legacy) detector: no per-signal percentiles",
                transform=ax.transAxes, fontsize=10)  # fmt: skip
    else:
        shown = [0.0 if not np.isfinite(v) else v for v in values]
        ax.barh(y, shown, color=colours, height=0.6)
        for yi, v in zip(y, values, strict=True):
            text = "not scored" if not np.isfinite(v) else f"{v:.3f}"
            ax.text(min(v, 1.0) + 0.01 if np.isfinite(v) else 0.01, yi, text, va="center",
                    fontsize=9)  # fmt: skip
        if ev.threshold is not None and np.isfinite(ev.threshold):
            ax.plot([ev.threshold] * 2, [y[-1] - 0.45, y[-1] + 0.45], color="#c0392b",
                    linewidth=3)  # fmt: skip
        if ev.target_fpr is not None:
            ax.axvline(1 - ev.target_fpr, color="#888888", linestyle=":", linewidth=1)
        ax.set_yticks(y)
        ax.set_yticklabels(labels, fontsize=9)
        ax.set_xlim(0, 1.12)
        ax.set_xlabel("percentile among the calibration reals (dotted: 1 - target FPR)")
        ax.set_title("signals (red = driving the verdict)", fontsize=10, loc="left")
    info = fig.add_subplot(grid[0, 2])
    info.axis("off")
    lines = [f"status: {ev.status}", f"frames used: {_fmt(ev.frames_used)}   pairs used: "
             f"{_fmt(ev.pairs_used)}   tracks: {_fmt(ev.tracks)}", "", "raw scores (higher = faker):"]  # fmt: skip
    lines += [f"  {n:<18} {_fmt(v)}" for n, v in ev.raw.items()]
    rules = {"sidak_max": "max(p) ** K, K = signals scored", "top2_mean": "mean of the top 2 p",
             "mean": "mean of p"}  # fmt: skip
    if ev.fusion_rule in rules:
        lines += ["", f"fake_score = {rules[ev.fusion_rule]}"]
    info.text(0.02, 0.98, "\n".join(lines), va="top", family="monospace", fontsize=9,
              transform=info.transAxes)  # fmt: skip


def write_evidence_sheet(path: str | Path, ev: Evidence, n_per_signal: int = 3) -> SheetLayout:
    """Draw the sheet of ``ev`` to ``path`` (PNG); returns its layout with ``path`` set."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    layout = sheet_layout(ev, n_per_signal)
    w, h = layout.size_px
    fig = Figure(figsize=(w / DPI, h / DPI), dpi=DPI)
    FigureCanvasAgg(fig)
    grid = fig.add_gridspec(len(layout.panels), 1, height_ratios=layout.height_ratios,
                            left=0.06, right=0.84, top=0.985, bottom=0.04, hspace=0.55)  # fmt: skip
    for i, panel in enumerate(layout.panels):
        kind, _, signal = panel.partition(":")
        if kind == "header":
            _draw_header(fig.add_subplot(grid[i, 0]), ev)
        elif kind == "pairs":
            _draw_pairs_row(fig, grid[i, 0], ev, layout.top_pairs, signal, n_per_signal)
        elif kind == "timeline":
            _draw_timeline(fig.add_subplot(grid[i, 0]), ev, signal, layout.top_pairs,
                           layout.tracks)  # fmt: skip
        else:
            _draw_signals(fig, grid[i, 0], ev, layout.bar_signals)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png", dpi=DPI)  # fixed size: no bbox_inches="tight"
    layout.path = path
    return layout
