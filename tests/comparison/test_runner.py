"""compare() and Comparison, with explainers and metrics defined here (independent of the registry)."""

from __future__ import annotations

import time
from typing import ClassVar

import numpy as np
import pandas as pd
import pytest

from agnostic_xai import wrap
from agnostic_xai.comparison import TABLE_COLUMNS, compare
from agnostic_xai.comparison.stats import bootstrap_ci, holm, paired_wilcoxon
from agnostic_xai.exceptions import InvalidInputError
from agnostic_xai.explainers import Explainer, Explanation
from agnostic_xai.metrics import Metric
from agnostic_xai.testing import LinearModel, exact_shapley, linear_shapley


class Exact(Explainer):
    name = "exact"
    is_additive = True

    def __init__(self) -> None:
        pass

    def _explain(self, X, target):
        record = exact_shapley(self.adapter_, X, self.background_, target, groups=self.groups_)
        return Explanation(record.values, record.base_values)


class Noisy(Explainer):
    """Exact values plus seeded noise of a given size."""

    name = "noisy"
    is_stochastic = True

    def __init__(self, scale: float = 0.5, random_state: int = 0) -> None:
        self.scale = scale
        self.random_state = random_state

    def _explain(self, X, target):
        record = exact_shapley(self.adapter_, X, self.background_, target)
        noise = self._rng().normal(scale=self.scale, size=record.values.shape)
        return Explanation(record.values + noise, record.base_values)


class Broken(Explainer):
    name = "broken"

    def __init__(self) -> None:
        pass

    def _explain(self, X, target):
        raise RuntimeError("deliberately broken")


class Slow(Explainer):
    name = "slow"

    def __init__(self) -> None:
        pass

    def _explain(self, X, target):
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            pass
        return Explanation(np.zeros((X.shape[0], X.shape[1])), 0.0)


class ClosedFormError(Metric):
    """Mean absolute error against the linear model's closed form (test-only ground truth)."""

    name = "closed_form_error"
    family = "ground_truth"
    higher_is_better: ClassVar[bool] = False

    def __init__(self, weights=None) -> None:
        self.weights = weights

    def _score(self, attribution, adapter, background, explainer):
        truth = linear_shapley(self.weights, attribution.data, background)
        return np.abs(attribution.values - truth).mean(axis=1), {}


class SubsetDrop(Metric):
    """Seeded: Pearson correlation of attribution sums over random subsets with the output
    drop when the subset is set to the background mean."""

    name = "subset_drop"
    family = "faithfulness"
    higher_is_better: ClassVar[bool] = True

    def __init__(self, n_subsets: int = 12, random_state: int = 0) -> None:
        self.n_subsets = n_subsets
        self.random_state = random_state

    def _score(self, attribution, adapter, background, explainer):
        rng = np.random.default_rng(self.random_state)
        X, (n, d) = attribution.data, attribution.data.shape
        masks = rng.random((self.n_subsets, d)) < 0.5
        removed = np.where(masks[None], background.mean(0)[None, None], X[:, None])
        f = adapter.predict(X)[np.arange(n), attribution.target]
        drops = f[:, None] - adapter.predict(removed.reshape(-1, d)).reshape(n, self.n_subsets, -1)[
            np.arange(n), :, attribution.target
        ]
        sums = attribution.values @ masks.T
        return np.array([np.corrcoef(sums[i], drops[i])[0, 1] for i in range(n)]), {}


@pytest.fixture
def setup(rng):
    weights = rng.normal(size=5)
    model = LinearModel(weights, bias=0.1)
    X = pd.DataFrame(rng.normal(size=(30, 5)), columns=list("abcde"))
    return model, weights, X


def run(setup, **kwargs):
    model, weights, X = setup
    options = dict(
        explainers={"exact": Exact(), "noisy": Noisy(), "noisy_2": Noisy(scale=2.0)},
        metrics={ClosedFormError(weights): None},
        progress=False,
    )
    options.update(kwargs)
    return compare(model, X, **options)


def test_table_is_tidy_and_complete(setup):
    model, weights, X = setup
    comparison = compare(
        model, X, explainers=[Exact(), Noisy()], metrics=[ClosedFormError(weights), SubsetDrop()], progress=False
    )
    table = comparison.table
    assert tuple(table.columns) == TABLE_COLUMNS
    assert len(table) == 2 * 2 * 30
    exact_scores = table[(table.explainer == "exact") & (table.metric == "closed_form_error")].score
    np.testing.assert_allclose(exact_scores, 0.0, atol=1e-10)  # exact_shapley against the closed form
    assert comparison.config["n_background"] == 30 and comparison.config["output"] == "raw"
    assert set(comparison.costs.explainer) == {"exact", "noisy"}
    assert (comparison.costs.model_rows_per_row > 0).all()


def test_same_seed_same_table_and_other_seed_changes_stochastic_only(setup):
    model, weights, X = setup
    options = dict(explainers=[Exact(), Noisy()], metrics=[ClosedFormError(weights)], progress=False)
    first = compare(model, X, seed=3, **options).table
    again = compare(model, X, seed=3, **options).table
    other = compare(model, X, seed=4, **options).table
    columns = ["explainer", "metric", "row", "score", "seed"]
    pd.testing.assert_frame_equal(first[columns], again[columns])
    changed = first.score.to_numpy() != other.score.to_numpy()
    # The background is sampled with the seed, so every explainer's numbers may move;
    # with a fixed background only the stochastic explainer changes.
    background = X.iloc[:10]
    fixed_a = compare(model, X, seed=3, background=background, **options).table
    fixed_b = compare(model, X, seed=4, background=background, **options).table
    same = fixed_a.score.to_numpy() == fixed_b.score.to_numpy()
    assert same[fixed_a.explainer == "exact"].all()
    assert not same[fixed_a.explainer == "noisy"].any()
    assert changed.any()


def test_a_failing_explainer_is_isolated(setup):
    model, weights, X = setup
    comparison = compare(model, X, explainers=[Exact(), Broken()], metrics=[ClosedFormError(weights)], progress=False)
    assert comparison.explainer_names == ["exact"]
    failure = comparison.failures.iloc[0]
    assert (failure.explainer, failure.stage, failure.error) == ("broken", "explain", "RuntimeError")
    assert "deliberately broken" in failure.message
    assert comparison.costs.set_index("explainer").loc["broken", "status"] == "failed"


def test_a_cell_past_the_time_limit_is_recorded_and_the_run_goes_on(setup):
    model, weights, X = setup
    start = time.monotonic()
    comparison = compare(
        model, X, explainers=[Slow(), Exact()], metrics=[ClosedFormError(weights)], progress=False, time_limit=0.5
    )
    assert time.monotonic() - start < 20
    assert comparison.explainer_names == ["exact"]
    failure = comparison.failures.iloc[0]
    assert failure.error == "CellTimeout" and "0.5 s" in failure.message


def test_summary_significance_and_winner(setup):
    comparison = run(setup)
    summary = comparison.summary()
    assert list(summary.index) == ["exact", "noisy", "noisy_2"]
    column = "closed_form_error ↓"
    assert summary.loc["exact", (column, "rank")] == 1.0
    low, high = summary.loc["noisy", (column, "ci_low")], summary.loc["noisy", (column, "ci_high")]
    assert low <= summary.loc["noisy", (column, "mean")] <= high
    significance = comparison.significance("closed_form_error")
    assert (significance.best == "exact").all() and significance.significant.all()
    assert comparison.winner("closed_form_error") == "exact"


def test_explainers_must_have_unique_names(setup):
    model, weights, X = setup
    with pytest.raises(InvalidInputError, match="unique"):
        compare(model, X, explainers=[Noisy(), Noisy(scale=2.0)], metrics=[ClosedFormError(weights)], progress=False)


def test_pareto_and_global_importance(setup):
    model, weights, X = setup
    comparison = compare(model, X, explainers=[Exact(), Noisy()], metrics=[SubsetDrop()], progress=False)
    front = comparison.pareto()
    assert front.on_front.any() and set(front.index) == {"exact", "noisy"}
    importance = comparison.global_importance()
    assert list(importance.columns) == ["exact", "noisy"] and list(importance.index) == list("abcde")
    expected = np.abs(linear_shapley(weights, X.to_numpy(), wrap(model).validate(comparison.background))).mean(0)
    np.testing.assert_allclose(importance["exact"], expected, atol=1e-10)


def test_parallel_runs_give_the_same_table(setup):
    model, weights, X = setup
    options = dict(explainers=[Exact(), Noisy()], metrics=[ClosedFormError(weights)], progress=False, seed=5)
    serial = compare(model, X, n_jobs=1, **options).table
    parallel = compare(model, X, n_jobs=2, **options).table
    pd.testing.assert_frame_equal(serial[["explainer", "row", "score"]], parallel[["explainer", "row", "score"]])


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"seed": -1}, "seed"),
        ({"n_jobs": 0}, "n_jobs"),
        ({"time_limit": 0}, "time_limit"),
        ({"background": np.zeros((3, 4))}, "4 columns"),
    ],
)
def test_bad_arguments(setup, kwargs, match):
    model, weights, X = setup
    with pytest.raises(InvalidInputError, match=match):
        compare(model, X, explainers=[Exact()], metrics=[ClosedFormError(weights)], progress=False, **kwargs)


def test_statistics_helpers_against_references():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=40), rng.normal(loc=0.5, size=40)
    from scipy import stats

    statistic, p, n = paired_wilcoxon(a, b)
    expected = stats.wilcoxon(a, b)
    assert (statistic, p, n) == (pytest.approx(expected.statistic), pytest.approx(expected.pvalue), 40)
    # Holm: sorted p * (m - rank), made monotone
    np.testing.assert_allclose(holm(np.array([0.01, 0.04, 0.03])), [0.03, 0.06, 0.06])
    low, high = bootstrap_ci(a, n_resamples=4000)
    sem = a.std(ddof=1) / np.sqrt(a.size)
    assert low == pytest.approx(a.mean() - 1.96 * sem, abs=0.05) and high == pytest.approx(a.mean() + 1.96 * sem, abs=0.05)


class FitsOnTheModel(Explainer):
    """Spends model rows in fit (like a surrogate) and none in explain."""

    name = "fits"

    def __init__(self) -> None:
        pass

    def _fit(self):
        self.adapter_.evaluate(np.repeat(self.background_, 4, axis=0))

    def _explain(self, X, target):
        return Explanation(np.zeros((X.shape[0], X.shape[1])), 0.0)


def test_fit_cost_is_part_of_the_explainers_cost(setup):
    model, weights, X = setup
    comparison = compare(model, X, explainers=[FitsOnTheModel()], metrics=[ClosedFormError(weights)], progress=False)
    cost = comparison.costs.set_index("explainer").loc["fits"]
    background_rows = comparison.config["n_background"]
    assert cost.fit_model_rows == 4 * background_rows
    assert cost.model_rows == cost.fit_model_rows + comparison.attributions["fits"].model_rows
    assert cost.model_rows_per_row == cost.model_rows / len(X)
