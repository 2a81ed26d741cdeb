"""Analyse a table: what drives this model, globally and row by row?

A pandas table with categorical columns (a seeded synthetic loan book), one-hot encoded with
each categorical kept as one feature group, a scikit-learn gradient-boosting model, and
Shapley values per group: global importance, a per-row explanation and a dependence table.

    python examples/table_analysis.py [--rows 200] [--quick]
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier

from agnostic_xai import wrap
from agnostic_xai.explainers import get
from agnostic_xai.io import TableEncoder


def loan_book(n: int, seed: int = 0) -> pd.DataFrame:
    """A synthetic loan table whose default risk depends on debt ratio, purpose and housing."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "income": rng.lognormal(10.5, 0.4, n).round(-2),
            "debt_ratio": rng.beta(2, 5, n).round(3),
            "age": rng.integers(21, 75, n),
            "purpose": rng.choice(["car", "home", "education", "business"], n, p=[0.4, 0.3, 0.2, 0.1]),
            "housing": rng.choice(["rent", "own", "mortgage"], n),
        }
    )
    logit = (
        -2.0
        + 6.0 * frame["debt_ratio"]
        - 0.8 * (frame["income"] > 40_000)
        + frame["purpose"].map({"car": 0.0, "home": -0.5, "education": 0.3, "business": 1.2})
        + frame["housing"].map({"rent": 0.4, "own": -0.6, "mortgage": 0.0})
    )
    frame["default"] = rng.random(n) < 1 / (1 + np.exp(-logit))
    return frame


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200, help="rows explained")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    rows = 30 if args.quick else args.rows

    frame = loan_book(3000)
    encoder = TableEncoder(target="default").fit(frame)
    table = encoder.table(frame)
    print(f"{len(table.X.columns)} encoded columns in {len(table.groups)} features: {table.groups.names}")
    model = HistGradientBoostingClassifier(random_state=0).fit(table.X.iloc[500:], table.y[500:])
    adapter = wrap(model, output="logit")  # log-odds of default
    background = table.X.iloc[500:600]
    explainer = get("permutation_shap", max_evals=2 * len(table.groups) + 1 if args.quick else 200)
    explainer.fit(adapter, background, groups=table.groups)
    attribution = explainer.explain(table.X.iloc[:rows], target=1)  # explain "default" for every row

    importance = pd.Series(np.abs(attribution.values).mean(axis=0), index=attribution.feature_names)
    print("\nGlobal importance (mean |Shapley value| of the log-odds of default):")
    print(importance.sort_values(ascending=False).round(3).to_string())

    print("\nRow 0, explained (log-odds; base = mean over the background):")
    row = attribution[0].to_frame()[["feature", "value"]].set_index("feature")["value"]
    print(frame.drop(columns="default").iloc[0].to_string())
    print(f"base {attribution.base_values[0]:+.3f}  " + "  ".join(f"{k} {v:+.3f}" for k, v in row.items()))

    print("\nDependence: mean Shapley value of 'purpose' by purpose:")
    purpose = pd.Series(attribution.values[:, attribution.feature_names.index("purpose")], name="purpose effect")
    print(purpose.groupby(frame["purpose"].iloc[:rows].to_numpy()).mean().round(3).to_string())


if __name__ == "__main__":
    main()
