"""The ``difffake`` command line: one sub-command per user-facing job, plus ``catalog``."""

from __future__ import annotations

import argparse
import os
import sys
from collections import Counter
from collections.abc import Callable
from contextlib import contextmanager
from typing import Any

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

    params = IngestParams(n_frames=args.frames, crop_size=args.crop_size, keep=args.keep)
    config = IngestConfig(
        root=args.path,
        adapter=args.adapter,
        corpus=args.corpus,
        catalog=args.catalog,
        face_model=args.face_model,
        params=params,
        limit=args.limit,
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


def _add_ingest(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("ingest", help="ingest a corpus into the catalog (videos, face_crops)")
    p.add_argument("path", help="corpus root")
    p.add_argument("--adapter", default="folder")
    p.add_argument("--corpus", help="dataset prefix (default: folder name)")
    p.add_argument("--catalog", help="catalog root (default $DIFFFAKE_CATALOG or ./.difffake/catalog)")
    p.add_argument("--face-model", help="Face Landmarker .task (default $DIFFFAKE_FACE_MODEL)")
    p.add_argument("--frames", type=int, default=32, help="frames sampled per video")
    p.add_argument("--crop-size", type=int, default=224)
    p.add_argument("--keep", choices=["largest", "all"], default="largest")
    p.add_argument("--limit", type=int, help="only the first N videos")
    p.set_defaults(fn=cmd_ingest)


# Other jobs register themselves here (name -> (adder)).
EXTRA_COMMANDS: list[Callable[[argparse._SubParsersAction], None]] = []


def build_parser() -> argparse.ArgumentParser:
    from data_catalog import cli as catalog_cli

    parser = argparse.ArgumentParser(prog="difffake", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    _add_ingest(sub)
    catalog_cli.add_parser(sub)
    for add in EXTRA_COMMANDS:
        add(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "catalog":
        from data_catalog import cli as catalog_cli

        return catalog_cli.run(args)
    if getattr(args, "catalog", None):
        os.environ["DIFFFAKE_CATALOG"] = args.catalog
    return args.fn(args)


if __name__ == "__main__":
    sys.exit(main())
