"""Fit and score time of each anomaly model at the paper's scale.

About 23k training pairs of 1792-d vectors (EfficientNet-B4 width): synthetic but
structured like combined pairs, a 3-cluster mixture of low-rank factors plus noise, squared
(like ``sq_diff``) and L2-normalised. Held-out normal rows and "anomalous" rows (the same
generator plus energy in a few directions the normal data never uses) give a sanity
ROC-AUC, so a fast model that scores badly does not look good.

The one-class SVM is trained on a subsample (``ocsvm_max_rows``, default 5000): libsvm is
roughly quadratic in rows, and at 23k rows it would take many minutes.

Run: ``.venv/bin/python benchmarks/bench_anomaly.py`` (``--quick`` for a small smoke run).
"""

from __future__ import annotations

import argparse
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

from difffake_core.anomaly import create_anomaly_model
from difffake_core.metrics import binary_metrics

TARGET_FIT_S = 60.0
# label -> (registry name, hyperparameters)
DEFAULT_MODELS: dict[str, tuple[str, dict[str, Any]]] = {
    "pca_gmm": ("pca_gmm", {"pca_components": 64}),
    "pca_gmm_128": ("pca_gmm", {"pca_components": 128}),
    "pca_gmm_256": ("pca_gmm", {"pca_components": 256}),
    "diag_gmm": ("diag_gmm", {}),
    "gmm": ("gmm", {}),
    "ocsvm": ("ocsvm", {}),
}


def make_vectors(
    n: int, d: int, rng: np.random.Generator, rank: int = 24, anomaly: float = 0.0
) -> np.ndarray:
    """Structured, non-negative, unit-norm rows: shape ``(n, d)`` float32.

    The cluster structure is fixed (seed 1234) so normal and anomalous draws share it;
    ``anomaly > 0`` adds energy along 4 directions outside the normal factors.
    """
    fixed = np.random.default_rng(1234)
    means = fixed.normal(0.0, 1.0, size=(3, d))
    loadings = fixed.normal(0.0, 1.0 / np.sqrt(rank), size=(3, d, rank))
    extra = fixed.normal(0.0, 1.0, size=(4, d))
    cluster = rng.choice(3, size=n, p=[0.5, 0.3, 0.2])
    latent = rng.normal(size=(n, rank)) * 2.0
    x = means[cluster] * 0.5
    for c in range(3):
        rows = cluster == c
        x[rows] += latent[rows] @ loadings[c].T
    x += 0.5 * rng.normal(size=(n, d))
    if anomaly:
        x += anomaly * rng.normal(size=(n, 4)) @ extra
    x = x * x
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x.astype(np.float32)


def _time(fn: Callable[[], Any]) -> tuple[Any, float]:
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def run(
    print_fn: Callable[[str], Any] = print,
    n_pairs: int = 23_000,
    n_features: int = 1792,
    n_eval: int = 2000,
    models: dict[str, tuple[str, dict[str, Any]]] | None = None,
    ocsvm_max_rows: int = 5000,
    seed: int = 0,
    blas_threads: int | None = None,
) -> dict[str, Any]:
    """Benchmark each model; returns ``{"n_pairs", "n_features", "models": {name: {...}}}``.

    Per model: ``fit_s``, ``score_s`` (for ``2 * n_eval`` rows), ``n_train``,
    ``synthetic_auc`` (normal vs anomalous held-out rows), ``note``. ``blas_threads``
    caps BLAS/OpenMP threads for the run (``None``: library defaults).
    """
    with threadpool_limits(blas_threads):
        return _run(print_fn, n_pairs, n_features, n_eval, models, ocsvm_max_rows, seed)


def _run(
    print_fn: Callable[[str], Any],
    n_pairs: int,
    n_features: int,
    n_eval: int,
    models: dict[str, tuple[str, dict[str, Any]]] | None,
    ocsvm_max_rows: int,
    seed: int,
) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    models = DEFAULT_MODELS if models is None else models
    (train, normal, odd), gen_s = _time(
        lambda: (
            make_vectors(n_pairs, n_features, rng),
            make_vectors(n_eval, n_features, rng),
            make_vectors(n_eval, n_features, rng, anomaly=1.0),
        )
    )
    evaluation = np.concatenate([normal, odd])
    labels = np.r_[np.zeros(n_eval), np.ones(n_eval)]
    threads = {i["internal_api"]: i["num_threads"] for i in threadpool_info()}
    print_fn(
        f"threads: {threads}; data: {n_pairs} x {n_features} training pairs, {2 * n_eval} held-out rows "
        f"(generated in {gen_s:.1f} s)"
    )
    results: dict[str, Any] = {"n_pairs": n_pairs, "n_features": n_features, "models": {}}
    for label, (name, kwargs) in models.items():
        x, note = train, ""
        if name == "ocsvm" and n_pairs > ocsvm_max_rows:
            x = train[rng.choice(n_pairs, size=ocsvm_max_rows, replace=False)]
            note = f"trained on a {ocsvm_max_rows}-row subsample (O(n^2): 23k rows takes minutes)"
        model = create_anomaly_model(name, **kwargs)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            _, fit_s = _time(lambda m=model, x=x: m.fit(x))
        if any("converge" in str(w.message).lower() for w in caught):
            note = (note + "; " if note else "") + "did not converge"
        scores, score_s = _time(lambda m=model: m.score_samples(evaluation))
        auc = binary_metrics(labels, -scores)["roc_auc"]
        mixture = getattr(model, "mixture_", None)
        cond = None
        if mixture is not None and mixture.covariance_type == "full":
            eig = np.linalg.eigvalsh(mixture.covariances_)  # (n_components, k) ascending
            cond = float(np.max(eig[:, -1] / eig[:, 0]))
        row = {
            "fit_s": round(fit_s, 2),
            "score_s": round(score_s, 3),
            "n_train": len(x),
            "synthetic_auc": round(float(auc), 4),
            "em_iterations": None if mixture is None else int(mixture.n_iter_),
            "covariance_condition": cond,
            "note": note,
        }
        results["models"][label] = row
        results["threads"] = threads
        flag = "" if fit_s < TARGET_FIT_S else f"  (over the {TARGET_FIT_S:.0f} s target)"
        print_fn(
            f"{label:12s} fit {fit_s:8.2f} s on {len(x):6d} rows | score {score_s:6.3f} s for "
            f"{len(evaluation)} rows | synthetic AUC {auc:.4f}"
            + (f" | EM iterations {row['em_iterations']}" if mixture is not None else "")
            + (f" | covariance condition {cond:.2e}" if cond is not None else "")
            + flag
            + (f" | {note}" if note else "")
        )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2000 x 256 smoke run")
    parser.add_argument("--models", nargs="*", help=f"subset of {list(DEFAULT_MODELS)}")
    parser.add_argument("--blas-threads", type=int, default=None, help="cap BLAS threads")
    args = parser.parse_args()
    models = DEFAULT_MODELS
    if args.models:
        models = {k: v for k, v in DEFAULT_MODELS.items() if k in args.models}
    if args.quick:
        run(n_pairs=2000, n_features=256, n_eval=500, models=models, blas_threads=args.blas_threads)
    else:
        run(models=models, blas_threads=args.blas_threads)


if __name__ == "__main__":
    main()
