"""Benchmark explainers on a torch model: which explanation can I trust here?

Trains the embedded default (a seeded MLP on scikit-learn's breast-cancer table), compares a
set of explainers on its 10 measurement groups with exact group Shapley values as the ground
truth, and prints the summary, a significance test and the cost/faithfulness front.

    python examples/benchmark_explainers.py [--rows 40] [--out benchmark-report] [--quick]
"""

from __future__ import annotations

import argparse

import pandas as pd

from agnostic_xai import compare, wrap
from agnostic_xai.datasets import default_task


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=40)
    parser.add_argument("--out", default="benchmark-report")
    parser.add_argument("--quick", action="store_true", help="a few rows and small budgets")
    args = parser.parse_args()
    rows = 10 if args.quick else args.rows

    task = default_task(seed=0)
    # Explain log-odds: in float32 a share of the rows has probability exactly 0 or 1, where
    # probability-space gradients vanish.
    adapter = wrap(task.model, output="logit", feature_names=list(task.X_train.columns))
    comparison = compare(
        adapter,
        task.X_test.iloc[:rows],
        background=task.X_train.sample(50, random_state=0),
        y=task.y_test[:rows],
        explainers={
            "integrated_gradients": {"n_steps": 64},
            "expected_gradients": {"n_samples": 200},
            "deep_shap": {},
            "kernel_shap": {"n_samples": 256},
            "permutation_shap": {"max_evals": 256},
            "lime": {"n_samples": 1000 if args.quick else 5000},
            "exact_shapley": {},
            "random": {},
        },
        metrics=["deletion_gap", "faithfulness_correlation", "shapley_error", "shapley_correlation", "sparseness"],
        feature_groups=task.groups,
        seed=0,
        progress=False,
    )
    pd.set_option("display.width", 200)
    summary = comparison.summary()
    print(summary.xs("mean", axis=1, level=1).round(4))
    print("\nPaired Wilcoxon tests on shapley_error (exact explainers excluded):")
    print(comparison.significance("shapley_error", exclude=("exact_shapley",)).round(4))
    print("\nWinner on shapley_error:", comparison.winner("shapley_error", exclude=("exact_shapley",)))
    print("\nFaithfulness (deletion_gap) against cost:")
    print(comparison.pareto("deletion_gap"))
    print("\nHow much the explainers agree (Spearman of |attribution|):")
    print(comparison.agreement("rank_correlation").round(2))
    path = comparison.to_html(f"{args.out}.html")
    print(f"\nReport: {path}")


if __name__ == "__main__":
    main()
