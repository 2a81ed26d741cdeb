"""Scale-out: rows per second explained with 1 and 2 Dask workers, and the cluster for 10 M rows an hour.

Run: ``python benchmarks/scale.py``. Explains rows of the breast-cancer test set (the default
task's 30-64-64-2 MLP, probability of the predicted class, 50 background rows) with
``agnostic_xai.explain(backend="dask")`` on a ``LocalCluster`` of 1 and then 2
single-threaded worker processes, for ``kernel_shap``, ``lime`` and the native
``sampling_shapley`` estimator (when it is registered). Workers are started and have imported
the explainer's libraries before the clock starts; what is timed is one ``explain`` call:
scattering the model and background, the tasks, gathering. The values of the two runs are
checked to be identical.

From the one-worker rate it estimates the number of single-core workers needed to explain
10 million rows in one hour, at the benchmark's budget and at the explainer's default budget
(scaled by model rows evaluated per explained row, which is what the cost is made of).
Numbers on the reference machine are in benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import importlib
import math
import os
import platform
import time

import numpy as np
import torch

from agnostic_xai import explain, explainers
from agnostic_xai.datasets import default_task

TARGET_ROWS, TARGET_SECONDS = 10_000_000, 3600.0

# Budgets for the run, and the explainer's default budget's model rows per explained row
# (measured once on a few rows, to scale the estimate).
BUDGETS = {
    "kernel_shap": {"n_samples": 256},
    "lime": {"n_samples": 1000},
    "sampling_shapley": {},
}


def warm(name: str) -> None:
    """Import an explainer's module (and so shap or lime) in a worker, outside the timing."""
    explainers.get_class(name)
    importlib.import_module("agnostic_xai.io.explain")


def spin(seconds_of_work: int) -> float:
    """Pure-Python CPU work, the control: how much two processes can run in parallel on this machine."""
    x = 0
    for k in range(seconds_of_work * 10_000_000):
        x += k
    return float(x)


def control_speedup(tasks: int = 8) -> float:
    """Speed-up of 2 workers over 1 on CPU-bound tasks that share nothing (2.0 on two idle cores)."""
    from dask.distributed import Client, LocalCluster

    walls = []
    for n_workers in (1, 2):
        cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=None)
        with cluster, Client(cluster) as client:
            client.gather(client.map(spin, [0] * n_workers, pure=False))
            start = time.perf_counter()
            client.gather(client.map(spin, [1] * tasks, pure=False))
            walls.append(time.perf_counter() - start)
    return walls[0] / walls[1]


def timed(model, X, background, name, params, n_workers, block):
    from dask.distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=None)
    with cluster, Client(cluster) as client:
        client.run(warm, name)
        result = explain(
            model,
            X,
            explainer=explainers.get(name, **params),
            background=background,
            backend="dask",
            client=client,
            partition_rows=block,
            row_chunk=block,
        )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=192, help="rows explained per run (default 192)")
    parser.add_argument("--block", type=int, default=24, help="rows per partition and row chunk (default 24)")
    parser.add_argument("--explainers", nargs="*", default=list(BUDGETS))
    args = parser.parse_args()

    task = default_task()
    rows = task.X_test.to_numpy()
    X = rows[np.arange(args.rows) % len(rows)]
    background = task.X_train.to_numpy()[np.random.default_rng(0).choice(len(task.X_train), 50, replace=False)]
    print(
        f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} torch threads here, "
        f"{args.rows} rows in partitions of {args.block}, background 50 rows; "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    header = f"{'explainer':<18} {'budget':<18} {'1 worker rows/s':>16} {'2 workers rows/s':>17} {'speed-up':>9}"
    print(header)
    print("-" * len(header))
    estimates = []
    available = explainers.available()
    for name in args.explainers:
        if name not in available:
            print(f"{name:<18} not registered in this checkout: skipped")
            continue
        params = BUDGETS.get(name, {})
        one = timed(task.model, X, background, name, params, 1, args.block)
        two = timed(task.model, X, background, name, params, 2, args.block)
        if not (one.ok and two.ok):
            print(one.summary(), two.summary(), sep="\n")
            continue
        same = np.array_equal(one.attribution.values, two.attribution.values)
        speedup = two.rows_per_second / one.rows_per_second
        budget = ", ".join(f"{k}={v}" for k, v in params.items()) or "default"
        print(
            f"{name:<18} {budget:<18} {one.rows_per_second:>16.2f} {two.rows_per_second:>17.2f} {speedup:>8.2f}x"
            + ("" if same else "  (VALUES DIFFER)")
        )
        # The default budget's cost per row, from model rows per row (a few rows, in-process).
        probe = explain(task.model, X[:2], explainer=name, background=background)
        scale = (probe.model_rows / probe.n_explained) / (one.model_rows / one.n_explained)
        estimates.append((name, budget, one.rows_per_second, speedup / 2, scale))

    control = control_speedup()
    print(
        f"control (pure-Python CPU tasks, nothing shared): 2 workers {control:.2f}x faster than 1; "
        f"load average at the end: {os.getloadavg()[0]:.1f}"
    )
    if not estimates:
        return
    need = TARGET_ROWS / TARGET_SECONDS
    print(f"\n10 million rows in one hour is {need:,.0f} rows/s. Single-core workers needed:")
    for name, budget, rate, efficiency, scale in estimates:
        ideal = math.ceil(need / rate)
        measured = math.ceil(need / (rate * max(efficiency, 1e-9)))
        print(
            f"  {name} ({1 / rate:.3f} s/row/worker at {budget}): {ideal:,} workers if workers scale linearly, "
            f"{measured:,} at the measured 2-worker efficiency of {efficiency:.0%}; at the default budget "
            f"({scale:.1f}x the model rows per row): {math.ceil(ideal * scale):,} / {math.ceil(measured * scale):,}"
        )


if __name__ == "__main__":
    main()
