"""Explainers, metrics and a small real Comparison for the report tests, defined here.

Independent of the registry's explainers and metrics. The feature names include HTML, a
pipe and a dollar sign, so every writer's escaping and every plot's text handling is
exercised by every test that uses the comparison. (A module with its own name rather than
``conftest``, so test modules can import it unambiguously.)
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pandas as pd

from agnostic_xai.comparison import compare
from agnostic_xai.explainers import Explainer, Explanation
from agnostic_xai.metrics import Metric
from agnostic_xai.testing import LinearModel, exact_shapley, linear_shapley

SCRIPT = "<script>alert(1)</script>"
FEATURES = ["age", "a|b", SCRIPT, "cost_$", "income"]


class ExactShapley(Explainer):
    """Exact enumeration, declared so (``is_exact``, ``computes_exact_shapley``): reports treat it as the ground truth."""

    name = "exact_shapley"
    is_additive = True
    is_exact = True
    computes_exact_shapley = True

    def __init__(self) -> None:
        pass

    def _explain(self, X, target):
        record = exact_shapley(self.adapter_, X, self.background_, target, groups=self.groups_)
        return Explanation(record.values, record.base_values)


class Noisy(Explainer):
    """Exact values plus seeded noise."""

    name = "noisy"
    is_stochastic = True

    def __init__(self, scale: float = 0.5, random_state: int = 0) -> None:
        self.scale = scale
        self.random_state = random_state

    def _explain(self, X, target):
        record = exact_shapley(self.adapter_, X, self.background_, target)
        noise = self._rng().normal(scale=self.scale, size=record.values.shape)
        return Explanation(record.values + noise, record.base_values)


class NoisyFloor(Noisy):
    """Noisy values declared a reference point (``is_reference``), like the registry's ``random``."""

    is_reference = True


class StubSurrogate(Explainer):
    """A surrogate tree with the attributes of the registry's: ``trees_``, ``rules_``, ``fidelity_``."""

    name = "surrogate_tree"
    is_stochastic = True

    def __init__(self, max_depth: int = 2, random_state: int = 0) -> None:
        self.max_depth = max_depth
        self.random_state = random_state

    def _fit(self):
        from sklearn.metrics import r2_score
        from sklearn.tree import DecisionTreeRegressor, export_text

        rows = self.background_
        outputs = self.adapter_.predict(rows)
        names = list(self.adapter_.feature_names)
        self.trees_ = tuple(
            DecisionTreeRegressor(max_depth=self.max_depth, random_state=0).fit(rows, outputs[:, k])
            for k in range(outputs.shape[1])
        )
        self.rules_ = tuple(export_text(t, feature_names=names) for t in self.trees_)
        self.fidelity_ = np.array([r2_score(outputs[:, k], t.predict(rows)) for k, t in enumerate(self.trees_)])

    def _explain(self, X, target):
        record = exact_shapley(self.adapter_, X, self.background_, target)
        return Explanation(record.values * 0.8, record.base_values)


class Broken(Explainer):
    name = "broken"

    def __init__(self) -> None:
        pass

    def _explain(self, X, target):
        raise RuntimeError(f"deliberately broken on {SCRIPT}")


class ClosedFormError(Metric):
    """Mean absolute error against the linear model's closed-form Shapley values."""

    name = "shapley_error"
    family = "ground_truth"
    higher_is_better: ClassVar[bool] = False

    def __init__(self, weights=None) -> None:
        self.weights = weights

    def _score(self, attribution, adapter, background, explainer):
        truth = linear_shapley(self.weights, attribution.data, background)
        return np.abs(attribution.values - truth).mean(axis=1), {}


class _Curve(Metric):
    """Deletion/insertion by the background mean, features taken in order of decreasing φ."""

    family = "faithfulness"
    insertion = False

    def __init__(self) -> None:
        pass

    def _score(self, attribution, adapter, background, explainer):
        X = attribution.data
        n, d = X.shape
        order = np.argsort(-attribution.values, axis=1, kind="stable")
        position = np.argsort(order, axis=1)
        taken = position[:, None, :] < np.arange(d + 1)[None, :, None]  # (n, d+1, d)
        removed = ~taken if self.insertion else taken
        rows = np.where(removed, background.mean(axis=0), X[:, None, :]).reshape(-1, d)
        curves = adapter.predict(rows)[:, 0].reshape(n, d + 1)
        auc = (curves[:, 1:-1].sum(axis=1) + 0.5 * (curves[:, 0] + curves[:, -1])) / d
        return auc, {"curves": curves, "order": order}


class Deletion(_Curve):
    name = "deletion_auc"
    higher_is_better: ClassVar[bool] = False


class Insertion(_Curve):
    name = "insertion_auc"
    higher_is_better: ClassVar[bool] = True
    insertion = True


class Failing(Metric):
    name = "failing_metric"
    family = "stability"

    def __init__(self) -> None:
        pass

    def _score(self, attribution, adapter, background, explainer):
        raise ValueError("this metric always fails <b>loudly</b>")


def make_comparison(**kwargs):
    rng = np.random.default_rng(0)
    weights = np.array([2.0, -1.0, 0.5, 0.0, 1.5])
    model = LinearModel(weights, bias=0.1)
    X = pd.DataFrame(rng.normal(size=(24, 5)), columns=FEATURES)
    options = {
        "explainers": {
            "exact_shapley": ExactShapley(),
            "noisy": Noisy(),
            "noisy_2": Noisy(scale=2.0),
            "surrogate_tree": StubSurrogate(),
            "broken": Broken(),
        },
        "metrics": {Deletion(): None, Insertion(): None, ClosedFormError(weights): None, Failing(): None},
        "progress": False,
        "n_background": 12,
    }
    options.update(kwargs)
    return compare(model, X, **options)
