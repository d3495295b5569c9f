"""``make demo``: the whole job on an embedded default, no data needed.

1. Build a small demo corpus from real face photos that ship with the dependencies
   (:mod:`flows.demo_corpus`): real videos of four faces, and face-swap fakes made with a
   manipulation unlike the training pseudo-fakes.
2. ``retrain-detector`` with the ``cpu-small`` preset on the training reals.
3. ``evaluate-detector`` on the held-out reals and the fakes (scores + metrics + report).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from tasks import _env  # noqa: F401


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="demo_out", help="folder for the corpus, catalog, report")
    ap.add_argument("--epochs", type=int, help="override cpu-small's epochs")
    args = ap.parse_args(argv)

    from difffake_core.faces.analyzer import FaceAnalyzer
    from flows.cli import print_table
    from flows.demo_corpus import make_demo_corpus
    from flows.evaluate_detector import EvaluateConfig, evaluate_detector
    from flows.retrain_detector import RetrainConfig, retrain_detector
    from tasks.evaluate import summary_rows

    out = Path(args.out).resolve()
    t0 = time.perf_counter()
    corpus = out / "corpus"
    if not (corpus / "test" / "fake").is_dir():
        print(f"[1/3] building the demo corpus in {corpus} ...", flush=True)
        with FaceAnalyzer() as analyzer:
            make_demo_corpus(corpus, analyzer)
    catalog = str(out / "catalog")
    print("[2/3] retrain-detector (cpu-small) on the training reals ...", flush=True)
    overrides = {"epochs": args.epochs} if args.epochs else {}
    trained = retrain_detector(
        RetrainConfig(
            root=str(corpus / "train"),
            corpus="demo_train",
            catalog=catalog,
            train_overrides=overrides,
        )  # fmt: skip
    )
    print("[3/3] evaluate-detector on held-out reals and face-swap fakes ...", flush=True)
    result = evaluate_detector(
        EvaluateConfig(
            source=str(corpus / "test"),
            archive="demo_test",
            catalog=catalog,
            detector=trained["detector"],
            out_dir=str(out / "evaluation"),
        )  # fmt: skip
    )
    rows = [
        {k: r.get(k) for k in ("video_id", "label", "status", "fake_score", "verdict")}
        for r in result["results"]
    ]
    for r in rows:
        r["fake_score"] = f"{r['fake_score']:.3f}" if r["fake_score"] is not None else None
    print_table(rows, f"scores ({trained['detector']})")
    print_table(summary_rows(result), "evaluation")
    print(f"extractor validation AUC (real vs pseudo-fake): {trained['extractor_val_auc']:.4f}")
    print(f"report: {result['report']}")
    print(f"catalog: {catalog}  (try: difffake catalog ls --catalog {catalog})")
    print(f"demo finished in {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
