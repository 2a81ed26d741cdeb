"""Ground-truth metrics: distance to exact Shapley values of the same model, rows and background."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from scipy.stats import pearsonr

from agnostic_xai import Attribution, FeatureGroups, metrics, wrap
from agnostic_xai._shapley import MAX_EXACT_FEATURES
from agnostic_xai.exceptions import BudgetError, InvalidInputError
from agnostic_xai.metrics.ground_truth import shapley_correlation, shapley_error, shapley_topk
from agnostic_xai.testing import AdditiveModel, LinearModel, exact_shapley, linear_shapley

RNG = np.random.default_rng(0)
WEIGHTS = np.array([2.0, -1.0, 0.5, 3.0, -0.25, 1.5])
X = RNG.normal(size=(5, 6))
BACKGROUND = RNG.normal(size=(8, 6))


@pytest.fixture(scope="module")
def linear():
    adapter = wrap(LinearModel(WEIGHTS))
    return adapter, exact_shapley(adapter, X, BACKGROUND)


def test_exact_values_score_perfectly(linear):
    adapter, exact = linear
    np.testing.assert_allclose(exact.values, linear_shapley(WEIGHTS, X, BACKGROUND), atol=1e-12)
    error = metrics.get("shapley_error")(exact, adapter, BACKGROUND)
    np.testing.assert_allclose(error.scores, 0.0, atol=1e-12)
    np.testing.assert_allclose(metrics.get("shapley_correlation")(exact, adapter, BACKGROUND).scores, 1.0, atol=1e-12)
    np.testing.assert_array_equal(metrics.get("shapley_topk", k=3)(exact, adapter, BACKGROUND).scores, 1.0)
    assert error.model_rows == 5 * 2**6 * 8  # rows x coalitions x background rows


def test_shuffled_values_against_loop_reference(linear):
    adapter, exact = linear
    truth = linear_shapley(WEIGHTS, X, BACKGROUND)
    shuffled = replace(exact, values=exact.values[:, [3, 0, 5, 1, 4, 2]])
    error = metrics.get("shapley_error")(shuffled, adapter, BACKGROUND).scores
    reference = [sum(abs(p - t) for p, t in zip(prow, trow)) / 6 for prow, trow in zip(shuffled.values, truth)]
    np.testing.assert_allclose(error, reference, rtol=1e-10)
    assert np.all(error > 0.1)
    correlation = metrics.get("shapley_correlation")(shuffled, adapter, BACKGROUND).scores
    np.testing.assert_allclose(
        correlation, [pearsonr(p, t).statistic for p, t in zip(shuffled.values, truth)], rtol=1e-10, atol=1e-12
    )
    topk = metrics.get("shapley_topk", k=2)(shuffled, adapter, BACKGROUND).scores
    ref_top = []
    for prow, trow in zip(shuffled.values, truth):
        top = lambda r: set(sorted(range(6), key=lambda i: (-abs(r[i]), i))[:2])  # noqa: E731
        ref_top.append(len(top(prow) & top(trow)) / 2)
    np.testing.assert_allclose(topk, ref_top)


def test_reference_skips_the_enumeration(linear):
    adapter, exact = linear
    noisy = replace(exact, values=exact.values + 0.1 * RNG.normal(size=exact.values.shape), method="noisy")
    computed = metrics.get("shapley_error")(noisy, adapter, BACKGROUND)
    shared = metrics.get("shapley_error", reference=exact)(noisy, adapter, BACKGROUND)
    np.testing.assert_array_equal(shared.scores, computed.scores)
    assert shared.model_rows == 0 and computed.model_rows > 0


def test_reference_must_describe_the_same_rows(linear):
    adapter, exact = linear
    other = exact_shapley(adapter, X[:4], BACKGROUND)
    with pytest.raises(InvalidInputError, match="rows"):
        metrics.get("shapley_error", reference=other)(exact[:3], adapter, BACKGROUND)
    with pytest.raises(InvalidInputError, match="Attribution"):
        metrics.get("shapley_error", reference=exact.values)(exact, adapter, BACKGROUND)


def test_groups_use_the_grouped_game():
    model = AdditiveModel(6)
    adapter = wrap(model)
    groups = FeatureGroups.from_dict({"a": [0, 1], "b": [2], "c": [3, 4, 5]}, [f"x{i}" for i in range(6)])
    exact = exact_shapley(adapter, X, BACKGROUND, groups=groups)
    np.testing.assert_allclose(metrics.get("shapley_error")(exact, adapter, BACKGROUND).scores, 0.0, atol=1e-12)
    # For an additive model a group's value is the sum of its members' values.
    per_column = model.shapley(X, BACKGROUND)
    summed = np.stack([per_column[:, list(c)].sum(axis=1) for c in groups.indices], axis=1)
    off = replace(exact, values=summed + 0.5)
    np.testing.assert_allclose(metrics.get("shapley_error")(off, adapter, BACKGROUND).scores, 0.5, atol=1e-10)


def test_too_many_features_is_explicitly_unavailable():
    d = MAX_EXACT_FEATURES + 1
    adapter = wrap(LinearModel(np.ones(d)))
    Xd, background = RNG.normal(size=(1, d)), RNG.normal(size=(1, d))
    attribution = Attribution(linear_shapley(np.ones(d), Xd, background), background.sum(axis=1), Xd,
                              np.zeros(1, int), [f"x{i}" for i in range(d)], "exact")
    for name in ("shapley_error", "shapley_correlation", "shapley_topk"):
        with pytest.raises(BudgetError, match="explicitly unavailable"):
            metrics.get(name)(attribution, adapter, background)
    assert metrics.get("shapley_error", max_features=d)(attribution, adapter, background).value == pytest.approx(
        0, abs=1e-9)


def test_errors(linear):
    adapter, exact = linear
    with pytest.raises(InvalidInputError):
        metrics.get("shapley_topk", k=7)(exact, adapter, BACKGROUND)
    with pytest.raises(InvalidInputError):
        metrics.get("shapley_error")(exact, adapter)  # no background
    with pytest.raises(InvalidInputError, match="output"):
        metrics.get("shapley_error")(replace(exact, output="probability"), adapter, BACKGROUND)
    with pytest.raises(InvalidInputError):
        shapley_error(np.ones((2, 3)), np.ones((2, 4)))
    with pytest.raises(InvalidInputError):
        shapley_correlation(np.array([[np.nan, 1.0]]), np.ones((1, 2)))


def test_constant_rows_have_undefined_correlation():
    values = np.array([[1.0, 1.0, 1.0], [1.0, 2.0, 3.0]])
    reference = np.array([[1.0, 2.0, 3.0], [1.0, 2.0, 3.0]])
    r = shapley_correlation(values, reference)
    assert np.isnan(r[0]) and r[1] == pytest.approx(1.0)
    assert shapley_topk(values, reference, 1).tolist() == [0.0, 1.0]  # tie: x0 ranks first


def test_metadata():
    assert metrics.get_class("shapley_error").higher_is_better is False
    for name in ("shapley_correlation", "shapley_topk"):
        assert metrics.get_class(name).higher_is_better is True
    assert set(metrics.available("ground_truth")) == {"shapley_error", "shapley_correlation", "shapley_topk"}


def test_the_limit_is_one_constant_and_grouped_players_are_not_told_to_group():
    from agnostic_xai.comparison.runner import DEFAULT_EXACT_LIMIT
    from agnostic_xai.explainers import get

    assert DEFAULT_EXACT_LIMIT == MAX_EXACT_FEATURES == 16
    for metric in ("shapley_error", "shapley_correlation", "shapley_topk"):
        assert metrics.get(metric).max_features == MAX_EXACT_FEATURES
    for explainer in ("exact_shapley", "exact_shap"):
        assert get(explainer).max_features == MAX_EXACT_FEATURES
    d = 6
    adapter = wrap(LinearModel(np.ones(d)))
    groups = FeatureGroups.from_dict({"a": [0, 1], "b": [2, 3], "c": [4, 5]}, [f"x{i}" for i in range(d)])
    Xd = RNG.normal(size=(2, d))
    grouped = exact_shapley(adapter, Xd, Xd, groups=groups)
    with pytest.raises(BudgetError) as info:
        metrics.get("shapley_error", max_features=2)(grouped, adapter, Xd)
    message = str(info.value)
    assert "3 groups" in message and "FeatureGroups" not in message and "group the" not in message
    assert "max_features" in message and "sampling_shapley" in message
    with pytest.raises(BudgetError, match="group the columns") as info:
        metrics.get("shapley_error", max_features=2)(exact_shapley(adapter, Xd, Xd), adapter, Xd)
    for explainer in ("exact_shapley", "exact_shap"):
        with pytest.raises(BudgetError) as info:
            get(explainer, max_features=2).fit(adapter, Xd, groups=groups)
        assert "3 groups" in str(info.value) and "group the" not in str(info.value)
