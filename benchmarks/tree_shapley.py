"""Interventional Shapley values of a surrogate tree: the path algorithm against enumeration and shap.

    python benchmarks/tree_shapley.py

A depth-4 ``DecisionTreeRegressor`` on 2,000 rows of ``2g`` columns in ``g`` pairs, 20
explained rows, 50 background rows. Columns: ``agnostic_xai.explainers._tree_shapley`` with
the ``g`` groups as players; enumeration of the ``2**g`` group coalitions of the tree (what
``surrogate_tree`` did before, at most 16 groups); shap's interventional ``TreeExplainer`` on
the ``2g`` columns (per-column values, another quantity than the group values).
"""

from __future__ import annotations

import time

import numpy as np
import shap
from sklearn.tree import DecisionTreeRegressor

from agnostic_xai import FeatureGroups, wrap
from agnostic_xai._shapley import enumerate_shapley
from agnostic_xai.explainers._tree_shapley import tree_paths, tree_shapley


def seconds(call) -> tuple[float, object]:
    start = time.perf_counter()
    out = call()
    return time.perf_counter() - start, out


def main() -> None:
    rng = np.random.default_rng(0)
    print("| groups | path algorithm ms | enumeration s | max difference | shap TreeExplainer (columns) ms |")
    print("|---:|---:|---:|---:|---:|")
    for g in (8, 12, 14, 60, 200):
        d = 2 * g
        table = rng.normal(size=(2000, d))
        y = table[:, 0] * table[:, 3] + np.sin(table[:, 5]) + table[:, 9] * (table[:, 2] > 0)
        tree = DecisionTreeRegressor(max_depth=4, random_state=0).fit(table, y)
        groups = FeatureGroups.from_dict({f"g{k}": [2 * k, 2 * k + 1] for k in range(g)}, [f"x{j}" for j in range(d)])
        background, X = table[:50], table[50:70]
        ours_s, (ours, _) = seconds(lambda: tree_shapley(tree_paths(tree), X, background, groups))
        enum_s, diff = float("nan"), float("nan")
        if g <= 14:
            enum_s, (exact, _) = seconds(lambda: enumerate_shapley(
                wrap(tree.predict), X, background, np.zeros(len(X), dtype=np.int64), groups=groups))
            diff = float(np.abs(ours - exact).max())
        explainer = shap.TreeExplainer(tree, data=background, feature_perturbation="interventional")
        shap_s, _ = seconds(lambda: explainer.shap_values(X))
        print(f"| {g} | {ours_s * 1e3:.1f} | {enum_s:.2f} | {diff:.1e} | {shap_s * 1e3:.1f} |")


if __name__ == "__main__":
    main()
