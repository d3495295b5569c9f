"""The ``difffake`` command line: one sub-command per user-facing job, plus ``catalog``."""

from __future__ import annotations

import argparse
import os
import sys
from collections import Counter
from collections.abc import Callable
from contextlib import contextmanager, suppress
from typing import Any, NoReturn

from tasks import _env  # noqa: F401  (before prefect is imported)


@contextmanager
def progress_bar(description: str, total: int | None, event: str = "video_done"):
    """A rich progress bar advanced by ``tasks.progress`` events of kind ``event``."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from tasks.progress import subscribe

    columns = [
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[last]}"),
    ]
    with Progress(*columns, transient=False) as progress:
        tid = progress.add_task(description, total=total, last="")

        def on_event(kind: str, payload: dict[str, Any]) -> None:
            if kind == event:
                last = f"{payload.get('video_id', '')}: {payload.get('status', '')}"
                progress.update(tid, advance=1, last=last[-60:])
            elif kind == "total":
                progress.update(tid, total=payload["total"])

        unsubscribe = subscribe(on_event)
        try:
            yield progress
        finally:
            unsubscribe()


@contextmanager
def run_logs_without(kinds: tuple[type[BaseException], ...]):
    """While the block runs, Prefect's flow- and task-run loggers drop the records of a run
    that failed with one of ``kinds``: the CLI prints such a user error as one ``error:``
    line (one a flow handles becomes a row's status), and Prefect's record would put a
    traceback in front of it. Other failures keep their records (a deployment, without the
    CLI, keeps all of them)."""
    import logging

    class DropUserErrors(logging.Filter):
        def filter(self, record: logging.LogRecord) -> bool:
            exc = record.exc_info[1] if record.exc_info else None
            return not isinstance(exc, kinds)

    dropper = DropUserErrors()
    loggers = [logging.getLogger(n) for n in ("prefect.flow_runs", "prefect.task_runs")]
    for logger in loggers:
        logger.addFilter(dropper)
    try:
        yield
    finally:
        for logger in loggers:
            logger.removeFilter(dropper)


@contextmanager
def stage_messages(stream=None):
    """Write the job's ``tasks.progress.report`` lines to stderr while the block runs.

    ``write``, not ``print``: inside a flow ``print`` becomes a log record the console hides
    (see :mod:`tasks.progress`). A progress bar in front redirects ``sys.stderr`` so the
    line lands above it; it is looked up at each line for that reason.
    """
    from tasks.progress import subscribe

    def on_event(kind: str, payload: dict[str, Any]) -> None:
        if kind == "message":
            out = stream or sys.stderr
            out.write(f"{payload.get('text', '')}\n")
            out.flush()

    unsubscribe = subscribe(on_event)
    try:
        yield
    finally:
        unsubscribe()


def print_table(rows: list[dict[str, Any]], title: str) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    if not rows:
        Console().print(f"{title}: (empty)")
        return
    for col in rows[0]:
        table.add_column(str(col))
    for row in rows:
        table.add_row(*("" if v is None else str(v) for v in row.values()))
    Console().print(table)


def ingest_summary(result: dict[str, Any]) -> list[dict[str, Any]]:
    videos = result["videos"]
    statuses = Counter(v["status"] for v in videos)
    frames = sum(v.get("frames") or 0 for v in videos)
    faces = sum(v.get("faces") or 0 for v in videos)
    rows = [
        {"metric": "videos", "value": len(videos)},
        {"metric": "videos skipped (already ingested)", "value": sum(v["skipped"] for v in videos)},
        {"metric": "frames sampled", "value": frames},
        {"metric": "frames with a face", "value": f"{faces} ({faces / max(frames, 1):.1%})"},
    ]
    rows += [{"metric": f"status: {k}", "value": n} for k, n in sorted(statuses.items())]
    rows += [{"metric": f"dataset {k}", "value": v} for k, v in result["versions"].items()]
    return rows


def cmd_ingest(args: argparse.Namespace) -> int:
    from data_catalog.adapters import get_adapter
    from difffake_core.ingest import IngestParams
    from flows.ingest_corpus import IngestConfig, ingest_corpus

    params = IngestParams(**given(n_frames=args.frames, crop_size=args.crop_size, keep=args.keep,
                                  face_tracking=_on_off(args.face_tracking)))  # fmt: skip
    config = IngestConfig(
        root=args.path,
        adapter=args.adapter,
        corpus=args.corpus,
        catalog=args.catalog,
        face_model=args.face_model,
        params=params,
        limit=args.limit,
        **job_options(args),
    )
    total = len(get_adapter(args.adapter, args.path).to_frame())
    total = min(total, args.limit) if args.limit else total
    with progress_bar(f"ingest {config.corpus_name()}", total):
        result = ingest_corpus(config)
    print_table(ingest_summary(result), f"ingest-corpus: {config.corpus_name()}")
    bad = [v for v in result["videos"] if v["status"] not in ("ok",)]
    for v in bad[:20]:
        print(f"  {v['status']:<14} {v['video_id']}: {v.get('error') or ''}")
    return 0


def _on_off(value: str | None) -> bool | None:
    return None if value is None else value == "on"


def _add_face_tracking(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--face-tracking", choices=["on", "off"],
        help="follow faces between detector key frames (default: on); off: detect every frame",
    )  # fmt: skip


def given(**options: Any) -> dict[str, Any]:
    """The options the user gave (not None): the config models hold the defaults."""
    return {k: v for k, v in options.items() if v is not None}


def common_parser(
    *, adapter: bool = True, face_model: bool = True, runner: bool = True
) -> argparse.ArgumentParser:
    """The options every job shares (one declaration each), as an argparse parent parser.
    Job-wide settings that apply to every flow (e.g. a task-runner choice) belong here."""
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument(
        "--catalog", help="catalog root (default $DIFFFAKE_CATALOG or ./.difffake/catalog)"
    )
    if face_model:
        p.add_argument("--face-model", help="Face Landmarker .task (default $DIFFFAKE_FACE_MODEL)")
    if adapter:
        p.add_argument(
            "--adapter", default="folder", help="corpus adapter (see `catalog adapters`)"
        )
    if runner:
        from flows.runners import RunnerName

        p.add_argument(
            "--runner", choices=[r.value for r in RunnerName],
            help="where the per-video tasks run (default threads; see README 'Running on a "
            "cluster')",
        )  # fmt: skip
        p.add_argument("--workers", type=int, help="threads or worker processes (default 2)")
        p.add_argument("--address", help="an existing Dask scheduler or Ray cluster to use")
    return p


def job_options(args: argparse.Namespace) -> dict[str, Any]:
    """The task-runner options the user gave (``JobOptions`` holds the defaults)."""
    return given(runner=args.runner, workers=args.workers, address=args.address)


def _add_ingest(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "ingest", parents=[common_parser()],
        help="ingest a corpus into the catalog (videos, face_crops)",
    )  # fmt: skip
    p.add_argument("path", help="corpus root")
    p.add_argument("--corpus", help="dataset prefix (default: folder name)")
    p.add_argument("--frames", type=int, help="frames sampled per video (default 32)")
    p.add_argument("--crop-size", type=int, help="crop side in pixels (default 224)")
    p.add_argument(
        "--keep",
        choices=["largest", "all"],
        help="faces kept per frame (default: all, each followed as an identity track)",
    )
    p.add_argument("--limit", type=int, help="only the first N videos")
    _add_face_tracking(p)
    p.set_defaults(fn=cmd_ingest)


def cmd_train_extractor(args: argparse.Namespace) -> int:
    from flows.train_extractor import TrainExtractorConfig, train_extractor_flow

    corpus = args.corpus
    if args.path:
        from flows.ingest_corpus import IngestConfig, ingest_corpus

        result = ingest_corpus(
            IngestConfig(
                root=args.path,
                adapter=args.adapter,
                corpus=corpus,
                catalog=args.catalog,
                **job_options(args),
            )  # fmt: skip
        )
        corpus = result["corpus"]
    if not corpus:
        print("error: give --corpus NAME (an ingested corpus) or a PATH to ingest", file=sys.stderr)
        return 2
    overrides = {"epochs": args.epochs} if args.epochs else {}
    out = train_extractor_flow(
        TrainExtractorConfig(
            corpus=corpus,
            preset=args.preset,
            catalog=args.catalog,
            overrides=overrides,
            **job_options(args),
        )  # fmt: skip
    )
    print_table(
        [{"metric": k, "value": v} for k, v in out.items()],
        f"train-extractor: {corpus} ({args.preset})",
    )
    return 0


def _add_train(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train-extractor", parents=[common_parser(face_model=False)],
        help="train the face feature extractor (real vs SBI)",
    )  # fmt: skip
    p.add_argument("path", nargs="?", help="corpus to ingest first (optional)")
    p.add_argument("--corpus", help="an ingested corpus name (catalog prefix)")
    p.add_argument("--preset", default="cpu-small", help="cpu-small, cpu-medium or paper")
    p.add_argument("--epochs", type=int, help="override the preset's epochs")
    p.set_defaults(fn=cmd_train_extractor)


def cmd_retrain(args: argparse.Namespace) -> int:
    from difffake_core.detector import PairSettings
    from difffake_core.ingest import IngestParams
    from difffake_core.pairs import CombineOp, PairStrategy
    from flows.retrain_detector import RetrainConfig, retrain_detector

    config = RetrainConfig(
        root=args.path,
        adapter=args.adapter,
        corpus=args.corpus,
        catalog=args.catalog,
        face_model=args.face_model,
        ingest=IngestParams(
            **given(n_frames=args.frames, face_tracking=_on_off(args.face_tracking)),
            neighbour_offsets=(1,),
        ),  # fmt: skip
        preset=args.preset,
        pairs=PairSettings(strategy=PairStrategy(args.pairs), op=CombineOp(args.op)),
        anomaly_model=args.model,
        target_fpr=args.target_fpr,
        runtime=args.runtime,
        train_overrides={"epochs": args.epochs} if args.epochs else {},
        **({"signals": args.signals.split(",")} if args.signals else {}),
        **({"fusion_rule": args.fusion} if args.fusion else {}),
        **job_options(args),
    )
    entries = _count_entries(args.path, args.adapter)
    with progress_bar("ingest", entries):
        out = retrain_detector(config)
    rows = [{"metric": k, "value": v} for k, v in out.items() if k != "versions"]
    rows += [{"metric": f"dataset {k}", "value": v} for k, v in out["versions"].items()]
    print_table(rows, f"retrain-detector: {out['corpus']}")
    return 0


def _count_entries(path: str, adapter: str) -> int | None:
    from data_catalog.adapters import get_adapter

    try:
        return len(get_adapter(adapter, path).to_frame())
    except Exception:  # the flow reports adapter errors properly; the bar just has no total
        return None


def _add_retrain(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "retrain", parents=[common_parser()],
        help="retrain the detector on real footage (retrain-detector)",
    )  # fmt: skip
    p.add_argument("path", help="corpus of real videos (fakes in it only feed figures)")
    p.add_argument("--corpus")
    p.add_argument("--frames", type=int, help="frames sampled per video (default 32)")
    _add_face_tracking(p)
    p.add_argument("--preset", default="cpu-small")
    p.add_argument("--epochs", type=int)
    p.add_argument("--pairs", default="paper", choices=["paper", "all", "consecutive"])
    p.add_argument("--op", default="sq_diff", choices=["sq_diff", "abs_diff", "diff", "cube_diff"])
    p.add_argument(
        "--signals",
        help="comma-separated signals of the fused detector "
        "(default pairs,adjacent_pairs,sbi_head,landmark_dynamics,frame; also texture); "
        "'pairs' = paper",
    )
    p.add_argument("--fusion", help="fusion rule: sidak_max (default), top2_mean, mean")
    p.add_argument(
        "--model",
        default="pca_gmm",
        help="anomaly model: pca_gmm (default), gmm (paper), diag_gmm, ocsvm",
    )
    p.add_argument("--target-fpr", type=float, default=0.05)
    p.add_argument("--runtime", default="auto")
    p.set_defaults(fn=cmd_retrain)


def score_summary(summary: dict[str, int]) -> list[dict[str, Any]]:
    """Rows of the scoring summary (counts over every video, not only the rows shown)."""
    rows = [
        {"metric": "videos", "value": summary.get("videos", 0)},
        {"metric": "skipped (already scored)", "value": summary.get("skipped", 0)},
    ]
    rows += [{"metric": k, "value": n} for k, n in sorted(summary.items())
             if k.startswith(("status: ", "verdict: "))]  # fmt: skip
    return rows


def cmd_score(args: argparse.Namespace) -> int:
    from flows.score_media_archive import ScoreConfig, score_media_archive

    config = ScoreConfig(
        source=args.path,
        adapter=args.adapter,
        detector=args.detector,
        archive=args.archive,
        catalog=args.catalog,
        out_dir=args.out,
        runtime=args.runtime,
        face_model=args.face_model,
        limit=args.limit,
        **given(evidence=args.evidence),
        **given(
            shard_size=args.shard_size,
            shards_in_flight=args.shards_in_flight,
            result_rows=args.show,
        ),
        **job_options(args),
    )
    with progress_bar(f"score {config.archive_name()}", None):  # the listing sends the total
        out = score_media_archive(config)
    rows = [
        {k: r.get(k) for k in ("video_id", "status", "fake_score", "verdict", "frames_used",
                               "pairs_used", "tracks")}
        for r in out["results"]
    ]  # fmt: skip
    for r in rows:
        if isinstance(r["fake_score"], float):
            r["fake_score"] = f"{r['fake_score']:.3f}"
    print_table(rows[: args.show], f"score-media-archive: {out['archive']} ({out['detector']})")
    print_table(score_summary(out["summary"]), "summary")
    print(f"results: {args.out}/scores.parquet, scores.csv, pair_scores.parquet")
    sheets = out["summary"].get("evidence_sheets", 0)
    if sheets:
        print(f"evidence sheets: {sheets} in {args.out}/evidence/ (column evidence_path)")
    return 0


def _add_score(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "score", parents=[common_parser()], help="bulk-score media (score-media-archive)"
    )
    p.add_argument("path", help="folder, glob pattern (quoted) or CSV manifest")
    p.add_argument("--detector", help="NAME[@VERSION] or a detector folder (default: newest)")
    p.add_argument("--archive", help="dataset prefix for the results")
    p.add_argument("--out", default="difffake_scores", help="folder for Parquet/CSV results")
    p.add_argument("--runtime", default="auto", help="auto, onnx, int8-onnx (the detector's "
                   "calibrated int8 extractor: faster, not equal to fp32), torch, cuda, "
                   "tensorrt")  # fmt: skip
    p.add_argument("--limit", type=int)
    p.add_argument("--shard-size", type=int, help="videos per shard (default 1000)")
    p.add_argument("--shards-in-flight", type=int, help="shards submitted at once (default 2)")
    p.add_argument("--show", type=int, default=50, help="rows of the results table to print")
    _add_evidence_option(p)
    p.set_defaults(fn=cmd_score)


def _add_evidence_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--evidence", choices=["flagged", "all", "none"],
        help="evidence sheets (PNG) into OUT/evidence/: flagged videos (default), all, none",
    )  # fmt: skip


def cmd_evaluate(args: argparse.Namespace) -> int:
    from flows.evaluate_detector import EvaluateConfig, evaluate_detector
    from tasks.evaluate import summary_rows

    config = EvaluateConfig(
        source=args.path, adapter=args.adapter, detector=args.detector, archive=args.archive,
        catalog=args.catalog, out_dir=args.out, runtime=args.runtime, face_model=args.face_model,
        **given(evidence=args.evidence),
        **job_options(args),
    )  # fmt: skip
    with progress_bar("score", None):  # the listing sends the total
        out = evaluate_detector(config)
    print_table(summary_rows(out), f"evaluate-detector: {out['archive']} ({out['detector']})")
    cols = ["subset", "n_fake", "n_real", "roc_auc", "average_precision", "eer"]
    print_table(
        [{c: (f"{r[c]:.4f}" if isinstance(r.get(c), float) else r.get(c)) for c in cols}
         for r in out["by_method"]],
        "by manipulation method",
    )  # fmt: skip
    print(f"report: {out['report']}")
    return 0


def _add_evaluate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "evaluate", parents=[common_parser()], help="evaluate a detector on a labelled corpus"
    )
    p.add_argument("path")
    p.add_argument("--detector")
    p.add_argument("--archive")
    p.add_argument("--out", default="evaluation")
    p.add_argument("--runtime", default="auto")
    _add_evidence_option(p)
    p.set_defaults(fn=cmd_evaluate)


def cmd_explain(args: argparse.Namespace) -> int:
    from data_catalog.catalog import default_root
    from tasks.evidence import explain_video, verdict_line

    row = explain_video(args.video, args.detector, args.catalog or default_root(), args.out,
                        args.runtime, args.face_model)  # fmt: skip
    print(verdict_line(row))
    if not row.get("evidence_path"):
        print("no evidence sheet: the video could not be scored", file=sys.stderr)
        return 1
    print(f"evidence: {row['evidence_path']}")
    return 0


def _add_explain(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "explain", parents=[common_parser(adapter=False)],
        help="score one video and write its evidence sheet (PNG)",
    )  # fmt: skip
    p.add_argument("video", help="a video file")
    p.add_argument("--detector", help="NAME[@VERSION] or a detector folder (default: newest)")
    p.add_argument("--out", default="evidence", help="folder for the sheet (default ./evidence)")
    p.add_argument("--runtime", default="auto", help="auto, onnx, int8-onnx (the detector's "
                   "calibrated int8 extractor: faster, not equal to fp32), torch, cuda, "
                   "tensorrt")  # fmt: skip
    p.set_defaults(fn=cmd_explain)


def cmd_pseudo_preview(args: argparse.Namespace) -> int:
    import numpy as np

    from data_catalog import Catalog
    from difffake_core.faces.crop import decode_crop
    from difffake_core.pseudofakes import preview_sheet, self_blend

    cat = Catalog(args.catalog)
    name, _, version = args.ref.partition("@")
    df = cat.read_pandas(
        name, version or "latest", columns=["video_id", "status", "crop", "landmarks"]
    )
    df = df[df["status"] == "ok"]
    df = df.groupby("video_id").head(1).head(args.n)
    rng = np.random.default_rng(args.seed)
    items = []
    for row in df.itertuples():
        image = decode_crop(row.crop)
        pts = np.asarray(row.landmarks, np.float32).reshape(68, 2)
        items.append((image, self_blend(image, pts, rng)))
    if not items:
        print(f"{name}: no face crops", file=sys.stderr)
        return 1
    path = preview_sheet(items, args.out)
    print(f"wrote {path} ({len(items)} real | pseudo-fake | mask triplets)")
    return 0


def _add_pseudo(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("pseudo-fakes", help="self-blended pseudo-fakes")
    ps = p.add_subparsers(dest="pseudo_cmd", required=True)
    v = ps.add_parser(
        "preview", parents=[common_parser(adapter=False, face_model=False, runner=False)],
        help="sheet of real | pseudo-fake | mask triplets",
    )  # fmt: skip
    v.add_argument("ref", help="a face_crops dataset, e.g. dev.face_crops[@VERSION]")
    v.add_argument("--out", default="pseudo_fakes_preview.png")
    v.add_argument("-n", type=int, default=12)
    v.add_argument("--seed", type=int, default=0)
    v.set_defaults(fn=cmd_pseudo_preview)


def parse_overrides(items: list[str] | None) -> dict[str, Any]:
    """``["steps_per_epoch=30", "lr=0.01"]`` -> ``{"steps_per_epoch": 30, "lr": 0.01}``
    (values read as JSON when they parse, else kept as text)."""
    import json

    from difffake_core.errors import UsageError

    out: dict[str, Any] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"expected KEY=VALUE, got {item!r}")
        try:
            out[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            out[key.strip()] = value
    return out


def cmd_benchmark(args: argparse.Namespace) -> int:
    import time

    from flows.benchmark import BenchmarkConfig, benchmark

    start = time.monotonic()
    config = BenchmarkConfig(
        corpora=args.corpus, adapter=args.adapter, catalog=args.catalog,
        face_model=args.face_model, out_dir=args.out,
        train_overrides=parse_overrides(args.train_overrides),
        **given(name=args.name, preset=args.preset, folds=args.folds, seed=args.seed,
                n_boot=args.n_boot, target_fpr=args.target_fpr, runtime=args.runtime,
                only_folds=args.only_folds, fusion_rule=args.fusion),
        **({"signals": args.signals.split(",")} if args.signals else {}),
        **({"before_signals": [s for s in args.before.split(",") if s] or None}
           if args.before is not None else {}),
    )  # fmt: skip
    out = benchmark(config)
    from difffake_core.benchmark_report import group_frame, headline_table

    summary = out["summary"]
    print_table(headline_table(summary).to_dict("records"), "benchmark: pooled over folds")
    dets = summary["detectors"]
    by_method = group_frame(summary["by_method"], "method", dets, ci=False)
    print_table(by_method.to_dict("records"), "ROC-AUC by method (intervals in the report)")
    print(f"report: {out['report']}  (wall time {time.monotonic() - start:.0f} s)")
    return 0


def _add_benchmark(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "benchmark", parents=[common_parser()],
        help="leave-source-out benchmark on labelled corpora (folds of real sources)",
    )  # fmt: skip
    p.add_argument(
        "--corpus", action="append", required=True,
        help="a labelled corpus root (repeat); reals are grouped by the manifest's source "
        "column, a corpus without one is one source",
    )  # fmt: skip
    p.add_argument("--name", help="dataset prefix of the combined corpus (default benchmark)")
    p.add_argument("--folds", type=int, help="folds of real sources (default 3)")
    p.add_argument("--only-folds", type=int, nargs="+", help="run only these folds (trials)")
    p.add_argument("--preset", help="extractor training preset (default cpu-small)")
    p.add_argument(
        "--train-overrides", action="append", metavar="KEY=VALUE",
        help="training preset override, e.g. steps_per_epoch=30 (repeat)",
    )  # fmt: skip
    p.add_argument("--signals", help="comma-separated signals of the fused detector")
    p.add_argument("--fusion", help="fusion rule: sidak_max (default), top2_mean, mean")
    p.add_argument("--before", help="signals of the 'before' detector (default pairs; '' skips)")
    p.add_argument("--target-fpr", type=float)
    p.add_argument("--n-boot", type=int, help="bootstrap resamples (default 1000)")
    p.add_argument("--seed", type=int)
    p.add_argument("--runtime", help="embedding runtime (default auto)")
    p.add_argument("--out", default="benchmark", help="folder for report.md, metrics.json, PNGs")
    p.set_defaults(fn=cmd_benchmark)


# Sub-commands beyond ingest and catalog.
EXTRA_COMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [
    _add_train,
    _add_retrain,
    _add_score,
    _add_evaluate,
    _add_explain,
    _add_pseudo,
    _add_benchmark,
]


def build_parser() -> argparse.ArgumentParser:
    from data_catalog import cli as catalog_cli

    parser = argparse.ArgumentParser(prog="difffake", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    _add_ingest(sub)
    catalog_cli.add_parser(sub)
    for add in EXTRA_COMMANDS:
        add(sub)
    return parser


INTERRUPT_GRACE_S = 4.0  # after the first Ctrl-C, the process exits within this time
INTERRUPTED = (
    "interrupted: stopping; finished videos are kept, rerun the same command to resume "
    "(Ctrl-C again quits at once)"
)


@contextmanager
def interrupts_handled():
    """Ctrl-C (SIGINT): the first stops the run (workers stop waiting, nothing half-done is
    recorded, the process exits within :data:`INTERRUPT_GRACE_S`), a second exits at once.
    The previous handler is back when the block ends (main thread only)."""
    import logging
    import signal
    import threading

    from difffake_core.isolation import STOP

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_sigint(signum: int, frame: Any) -> None:
        if STOP.is_set():
            os._exit(130)
        STOP.set()
        timer = threading.Timer(INTERRUPT_GRACE_S, os._exit, args=(130,))
        timer.daemon = True
        timer.start()
        # Straight to the descriptor: sys.stderr may be a progress bar's buffering proxy.
        os.write(2, f"\n{INTERRUPTED}\n".encode())
        for name in ["prefect", *logging.root.manager.loggerDict]:  # no tracebacks of the stop
            if name.startswith("prefect"):
                logging.getLogger(name).disabled = True
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def exit_interrupted() -> NoReturn:
    """Exit 130 now: stop the workers and the ephemeral server without waiting for them, and
    skip the interpreter's finalisation (seconds of native teardown on a loaded machine)."""
    from tasks.resources import close_all

    close_all()  # workers were killed when the stop was seen; analyzers close fast
    server_mod = sys.modules.get("prefect.server.api.server")
    if server_mod is not None:
        for server in list(server_mod.SubprocessASGIServer._instances.values()):
            if server.server_process is not None:
                server.server_process.terminate()  # it shuts down on its own
    for stream in (sys.stdout, sys.stderr):
        with suppress(Exception):
            stream.flush()
    os._exit(130)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "catalog":
        from data_catalog import cli as catalog_cli

        return catalog_cli.run(args)
    if getattr(args, "catalog", None):
        os.environ["DIFFFAKE_CATALOG"] = args.catalog
    from pydantic import ValidationError

    from data_catalog.errors import DatasetError
    from difffake_core.errors import DiffFakeError
    from tasks.prefect_server import install_server_guard

    install_server_guard()  # the ephemeral server ignores a terminal's Ctrl-C, dies with us
    user_errors = (DiffFakeError, DatasetError, ValidationError)
    try:
        preflight(args)  # a read-only or full catalog / --out is found before any work
        with interrupts_handled(), stage_messages(), run_logs_without(user_errors):
            return args.fn(args)
    except KeyboardInterrupt:  # the message was printed when it came
        exit_interrupted()
    except BrokenPipeError:  # e.g. `difffake ... | head`
        return 0
    except (DiffFakeError, DatasetError) as exc:  # user errors: a message, not a traceback
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except ValidationError as exc:  # a bad choice or value, checked by the config models
        print(f"error: {validation_message(exc)}", file=sys.stderr)
        return 2


# Jobs that write to the catalog (the others only read it).
WRITES_CATALOG = {"ingest", "train-extractor", "retrain", "score", "evaluate", "benchmark"}


def preflight(args: argparse.Namespace) -> None:
    """Check that the catalog root (for jobs that write it) and ``--out`` can be written."""
    from data_catalog.catalog import default_root
    from data_catalog.preflight import check_writable

    if args.command in WRITES_CATALOG:
        check_writable(getattr(args, "catalog", None) or default_root(), "catalog")
    out = getattr(args, "out", None)
    if out:  # a folder, or a file (e.g. a .png) whose folder must be writable
        folder = os.path.dirname(os.path.abspath(out)) if os.path.splitext(out)[1] else out
        check_writable(folder, "output folder", create=False)


def validation_message(exc: Any) -> str:
    """One line per bad field of a pydantic ``ValidationError``: ``field: what is wrong``."""
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']} (got {e.get('input')!r})"
        for e in exc.errors()
    )


if __name__ == "__main__":
    sys.exit(main())
