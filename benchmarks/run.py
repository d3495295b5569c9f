"""``make bench``: every benchmark, each printing ratios against a baseline from the same run."""

from __future__ import annotations

import sys

from tasks import _env  # noqa: F401


def main() -> int:
    from benchmarks import (
        bench_anomaly,
        bench_cost,
        bench_ingest,
        bench_runners,
        bench_scoring,
        bench_training,
    )

    for name, module in (
        ("scoring cost per video (issue 12)", bench_cost),
        ("task runners: threads, processes, Dask; 1 -> 2 workers", bench_runners),
        ("ingest", bench_ingest),
        ("scoring", bench_scoring),
        ("anomaly-model fit", bench_anomaly),
        ("training", bench_training),
    ):
        print(f"\n=== {name} ===", flush=True)
        module.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
