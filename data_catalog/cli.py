"""``difffake catalog``: inspect and check datasets (ls, show, head, query, preview, lineage, verify)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import numpy as np
import pandas as pd

from data_catalog.catalog import Catalog
from data_catalog.errors import DatasetError
from data_catalog.preview import contact_sheet, draw_landmarks, write_png


def _split_ref(ref: str) -> tuple[str, str]:
    name, _, version = ref.partition("@")
    return name, version or "latest"


def _missing(value: Any) -> bool:
    """True for a NULL cell: pandas gives ``None``, ``NaN`` or ``pd.NA`` depending on dtype."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and np.isnan(value)


def _short(value: Any, width: int) -> Any:
    """A short text for a wide cell (bytes, a vector, a long string); other values as is."""
    if isinstance(value, bytes | bytearray):
        return f"<{len(value)} bytes>"
    if isinstance(value, list | np.ndarray):
        return f"[{len(value)}: {', '.join(f'{x:.3g}' for x in value[:3])}...]"
    if isinstance(value, str) and len(value) > width:
        return value[: width - 1] + "…"
    return value


def _printable(df: pd.DataFrame, width: int = 40) -> pd.DataFrame:
    """``df`` with wide cells shortened; NULL cells (None or NaN, as pandas gives) stay NULL."""
    out = df.copy()
    for col in out.columns:
        sample = out[col].dropna()
        if sample.empty or not isinstance(
            sample.iloc[0], bytes | bytearray | list | np.ndarray | str
        ):
            continue
        out[col] = out[col].map(lambda v: None if _missing(v) else _short(v, width)).astype(object)
    return out


def _lineage_lines(node: dict[str, Any], indent: str = "") -> list[str]:
    mark = " (missing)" if node.get("missing") else ""
    lines = [f"{indent}{node['name']}@{node['version']}{mark}"]
    for parent in node.get("parents", []):
        lines += _lineage_lines(parent, indent + "  <- ")
    return lines


def cmd_ls(cat: Catalog, args: argparse.Namespace) -> int:
    rows = []
    for name in cat.names():
        try:
            m = cat.manifest(name)
        except DatasetError as exc:
            print(f"warning: {exc}", file=sys.stderr)
            rows.append({"name": name, "layer": "?", "kind": "?", "latest": "(unreadable)"})
            continue
        rows.append(
            {
                "name": name,
                "layer": m.layer,
                "kind": m.kind,
                "latest": m.version,
                "versions": len(cat.versions(name)),
                "rows": m.row_count,
                "MB": round(m.bytes / 1e6, 2),
            }
        )
    if not rows:
        print(f"(no datasets in {cat.root_url})")
        return 0
    print(pd.DataFrame(rows).to_string(index=False))
    return 0


def cmd_show(cat: Catalog, args: argparse.Namespace) -> int:
    name, version = _split_ref(args.ref)
    m = cat.manifest(name, version)
    print(f"{m.name}@{m.version}  ({m.kind}, layer {m.layer})")
    print(f"rows: {m.row_count}   bytes: {m.bytes}   files: {len(m.files)}")
    print(f"created: {m.created_at}   code: {m.code_version}")
    print(f"fingerprint: {m.fingerprint}")
    if m.schema:
        print("schema:")
        for f in m.schema:
            print(f"  {f['name']:<20} {f['type']}")
    print("parameters:")
    print("  " + json.dumps(m.parameters, indent=2, sort_keys=True).replace("\n", "\n  "))
    if m.metadata:
        print("metadata:")
        print("  " + json.dumps(m.metadata, indent=2, sort_keys=True).replace("\n", "\n  "))
    print("lineage:")
    for line in _lineage_lines(cat.lineage(name, m.version)):
        print("  " + line)
    print(f"versions: {', '.join(cat.versions(name))}")
    return 0


def cmd_head(cat: Catalog, args: argparse.Namespace) -> int:
    name, version = _split_ref(args.ref)
    table = cat.read_table(name, version)
    df = table.slice(0, args.n).to_pandas()
    with pd.option_context("display.max_columns", None, "display.width", 200):
        print(_printable(df).to_string(index=False))
    print(f"({table.num_rows} rows in {name}@{cat.resolve(name, version)})")
    return 0


def duckdb_connection(cat: Catalog, skipped: list[str] | None = None):
    """A DuckDB connection with one view per dataset (latest version).

    Each dataset is reachable as ``"dev.videos"`` (quoted) and as ``dev_videos``. A dataset
    whose files fail the cheap checks (sizes) or that DuckDB cannot open gets no view; its
    reason is appended to ``skipped``, and the other datasets stay queryable.
    """
    import duckdb

    con = duckdb.connect()
    for name in cat.names():
        try:
            _create_views(con, cat, name)
        except (DatasetError, duckdb.Error) as exc:
            if skipped is not None:
                skipped.append(f"{name}: {exc}")
    return con


def _create_views(con: Any, cat: Catalog, name: str) -> None:
    m = cat.manifest(name)
    if m.kind != "table":
        return
    files = cat.files(name)
    alias = name.replace(".", "_").replace("-", "_")
    for view in {f'"{name}"', alias}:
        if files:
            lst = ", ".join("'" + f.replace("'", "''") + "'" for f in files)
            con.execute(f"CREATE VIEW {view} AS SELECT * FROM read_parquet([{lst}])")
        else:
            con.register(f"_empty_{alias}", cat.read_table(name))
            con.execute(f"CREATE VIEW {view} AS SELECT * FROM _empty_{alias}")


def cmd_query(cat: Catalog, args: argparse.Namespace) -> int:
    import duckdb

    skipped: list[str] = []
    con = duckdb_connection(cat, skipped)
    for reason in skipped:
        print(f"warning: skipped {reason}", file=sys.stderr)
    try:
        df = con.execute(args.sql).fetchdf()
    except duckdb.Error as exc:
        hint = f" ({len(skipped)} dataset(s) skipped, see above)" if skipped else ""
        print(f"error: query failed: {exc}{hint}", file=sys.stderr)
        return 2
    with pd.option_context("display.max_columns", None, "display.width", 200):
        print(_printable(df).to_string(index=False, max_rows=args.max_rows))
    return 0


def cmd_preview(cat: Catalog, args: argparse.Namespace) -> int:
    from difffake_core.faces.crop import decode_crop

    name, version = _split_ref(args.ref)
    cols = ["video_id", "frame_index", "status", "crop", "landmarks"]
    table = cat.read_table(name, version, columns=cols)
    df = table.to_pandas()
    df = df[df["status"] == "ok"]
    if df.empty:
        print(f"{name}: no face crops to preview", file=sys.stderr)
        return 1
    # Spread the sheet over videos: up to `per_video` crops from each, in order.
    picked = df.groupby("video_id", sort=True).head(args.per_video).head(args.n)
    tiles, captions = [], []
    for row in picked.itertuples():
        img = decode_crop(row.crop)
        pts = np.asarray(row.landmarks, np.float32).reshape(68, 2)
        tiles.append(draw_landmarks(img, pts, radius=max(1, img.shape[0] // 110)))
        captions.append(f"{row.video_id.split('/')[-1]} f{row.frame_index}")
    out = args.out or f"{name.replace('.', '_')}_preview.png"
    write_png(out, contact_sheet(tiles, captions, columns=args.columns))
    print(f"wrote {out} ({len(tiles)} crops)")
    return 0


def cmd_verify(cat: Catalog, args: argparse.Namespace) -> int:
    """Check sha256 and size of every file of NAME@VERSION, of every version of NAME, or of
    the whole catalog (then also list staging folders and unfinished groups); exit 1 when a
    version is corrupt."""
    if args.ref:
        name, version = _split_ref(args.ref)
        resolved = cat.resolve(name, version)  # a clear error for an unknown name or version
        refs = [(name, resolved)] if "@" in args.ref else [(name, v) for v in cat.versions(name)]
    else:
        refs = [(n, v) for n in cat.names() for v in cat.versions(n)]
    results = [cat.verify(name, version) for name, version in refs]
    for r in results:
        print(r.line())
    if not args.ref:  # staging left by writers: removed when stale, else still in progress
        for item in cat.cleaned + cat.leftovers():
            print(item.line())
    counts = {s: sum(r.state == s for r in results) for s in ("ok", "unverified", "corrupt")}
    print(", ".join(f"{n} {s}" for s, n in counts.items()) + f" ({len(results)} versions)")
    return 1 if counts["corrupt"] else 0


def cmd_lineage(cat: Catalog, args: argparse.Namespace) -> int:
    name, version = _split_ref(args.ref)
    for line in _lineage_lines(cat.lineage(name, version)):
        print(line)
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("catalog", help="inspect catalog datasets")
    p.add_argument(
        "--catalog", help="catalog root (default $DIFFFAKE_CATALOG or ./.difffake/catalog)"
    )
    csub = p.add_subparsers(dest="catalog_cmd", required=True)
    csub.add_parser("ls", help="list datasets").set_defaults(catalog_fn=cmd_ls)
    s = csub.add_parser("show", help="manifest, schema and lineage of NAME[@VERSION]")
    s.add_argument("ref")
    s.set_defaults(catalog_fn=cmd_show)
    h = csub.add_parser("head", help="first rows of NAME[@VERSION]")
    h.add_argument("ref")
    h.add_argument("-n", type=int, default=10)
    h.set_defaults(catalog_fn=cmd_head)
    q = csub.add_parser("query", help='SQL over the datasets, e.g. SELECT * FROM "dev.videos"')
    q.add_argument("sql")
    q.add_argument("--max-rows", type=int, default=200)
    q.set_defaults(catalog_fn=cmd_query)
    v = csub.add_parser("preview", help="contact-sheet PNG of face crops with landmarks")
    v.add_argument("ref")
    v.add_argument("--out", help="PNG path (default NAME_preview.png)")
    v.add_argument("-n", type=int, default=48, help="crops on the sheet")
    v.add_argument("--per-video", type=int, default=3)
    v.add_argument("--columns", type=int, default=8)
    v.set_defaults(catalog_fn=cmd_preview)
    vf = csub.add_parser("verify", help="check the sha256 and size of every file")
    vf.add_argument("ref", nargs="?", help="NAME[@VERSION] (default: every dataset)")
    vf.set_defaults(catalog_fn=cmd_verify)
    lg = csub.add_parser("lineage", help="the datasets NAME[@VERSION] was made from")
    lg.add_argument("ref")
    lg.set_defaults(catalog_fn=cmd_lineage)


def run(args: argparse.Namespace) -> int:
    cat = Catalog(args.catalog)
    try:
        return args.catalog_fn(cat, args)
    except DatasetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
