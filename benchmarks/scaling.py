"""Scaling curves of the native Shapley paths: time against rows, features and background size.

    python benchmarks/scaling.py [--quick] [--out benchmarks/scaling.png]

Three panels, each with sampling_shapley (128 permutations, 8 reference rows per pair) and,
where enumeration is possible (d <= 12), exact_shapley, on seeded MLPs d -> 64 -> 64 -> 2:
seconds per call against rows explained (1 … 1,000; d=12, 50 background rows), against
d (6 … 60; 20 rows, 50 background rows) and against the background size (10 … 500;
d=12, 20 rows). Also printed as a table.
"""

from __future__ import annotations

import argparse
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from _common import synthetic_task  # noqa: E402
from agnostic_xai import wrap  # noqa: E402
from agnostic_xai.explainers import get  # noqa: E402


def seconds(name: str, n: int, d: int, b: int, **params) -> float:
    task = synthetic_task(n, d=d, n_background=b)
    adapter = wrap(task.model, output="probability")
    explainer = get(name, **params).fit(adapter, task.background)
    start = time.perf_counter()
    explainer.explain(task.X, target=1)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", default="benchmarks/scaling.png")
    args = parser.parse_args()
    sampling = {"n_permutations": 32 if args.quick else 128}
    rows = [1, 10, 100] if args.quick else [1, 10, 100, 1000]
    dims = [6, 12, 30] if args.quick else [6, 12, 24, 36, 60]
    backgrounds = [10, 50, 200] if args.quick else [10, 50, 100, 200, 500]
    curves = {
        "rows explained": (rows, lambda v, name, **p: seconds(name, v, 12, 50, **p)),
        "features d": (dims, lambda v, name, **p: seconds(name, 20, v, 50, **p)),
        "background rows": (backgrounds, lambda v, name, **p: seconds(name, 20, 12, v, **p)),
    }
    figure, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    print("| curve | x | sampling_shapley s | exact_shapley s |")
    print("|---|---:|---:|---:|")
    for ax, (label, (xs, measure)) in zip(axes, curves.items(), strict=True):
        fast = [measure(x, "sampling_shapley", **sampling) for x in xs]
        exact_xs = [x for x in xs if label != "features d" or x <= 12]
        exact = [measure(x, "exact_shapley") for x in exact_xs]
        for x, s in zip(xs, fast, strict=True):
            e = exact[exact_xs.index(x)] if x in exact_xs else float("nan")
            print(f"| {label} | {x} | {s:.3f} | {e:.3f} |")
        ax.loglog(xs, fast, "o-", label=f"sampling_shapley ({sampling['n_permutations']} perms)")
        ax.loglog(exact_xs, exact, "s--", label="exact_shapley")
        ax.set_xlabel(label)
        ax.set_ylabel("seconds per call")
        ax.grid(True, which="both", alpha=0.3)
    axes[0].legend()
    figure.tight_layout()
    figure.savefig(args.out, dpi=120)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
