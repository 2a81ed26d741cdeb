"""exact_shapley, feature_ablation and random: oracles, closed forms, groups, refusals."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

from agnostic_xai import FeatureGroups, wrap
from agnostic_xai.exceptions import BudgetError, InvalidInputError, UnknownNameError
from agnostic_xai.explainers import get
from agnostic_xai.explainers.ablation import FeatureAblation
from agnostic_xai.explainers.exact import ExactShapley
from agnostic_xai.explainers.reference import RandomExplainer
from agnostic_xai.testing import AdditiveModel, exact_shapley, linear_shapley, make_mlp

D = 5
NAMES = [f"f{i}" for i in range(D)]


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    return rng.normal(size=(6, D)), rng.normal(size=(9, D))


@pytest.fixture(scope="module")
def weights():
    return np.array([1.5, -2.0, 0.5, 0.0, 3.0])


def linear_adapter(w, bias=0.25):
    return wrap(lambda X: X @ w + bias, feature_names=NAMES)


@pytest.fixture(scope="module")
def mlp_adapter():
    return wrap(make_mlp(D, 3, (16,), seed=1, dtype=__import__("torch").float64), output="logit")


GROUPS = FeatureGroups.from_dict({"a": ["f0", "f2"], "b": ["f1", "f3"]}, NAMES)


def test_registry_resolves_all_three():
    assert isinstance(get("exact_shapley"), ExactShapley)
    assert isinstance(get("feature_ablation"), FeatureAblation)
    assert isinstance(get("random"), RandomExplainer)


# ---------------------------------------------------------------- exact_shapley
def test_exact_matches_linear_closed_form(data, weights):
    X, B = data
    att = ExactShapley().fit(linear_adapter(weights), B).explain(X)
    assert_allclose(att.values, linear_shapley(weights, X, B), atol=1e-10)
    assert_allclose(att.base_values, B.mean(0) @ weights + 0.25, atol=1e-10)
    assert att.method == "exact_shapley" and att.feature_names == tuple(NAMES)


@pytest.mark.parametrize("removal", ["marginal", "mean", "baseline"])
def test_exact_equals_oracle_on_mlp(data, mlp_adapter, removal):
    X, B = data
    baseline = B[0] if removal == "baseline" else None
    att = ExactShapley(removal=removal, baseline=baseline).fit(mlp_adapter, B).explain(X, target=2)
    oracle = exact_shapley(mlp_adapter, X, B, 2, removal=removal, baseline=baseline)
    assert_allclose(att.values, oracle.values, atol=1e-10)
    assert_allclose(att.base_values, oracle.base_values, atol=1e-10)
    assert att.additivity_gap(mlp_adapter).max() < 1e-10
    assert att.model_rows == oracle.model_rows


def test_exact_additive_model_closed_form(data):
    X, B = data
    model = AdditiveModel(D)
    att = ExactShapley().fit(wrap(model), B).explain(X)
    assert_allclose(att.values, model.shapley(X, B), atol=1e-10)


def test_exact_groups_match_oracle_and_linear_sum(data, weights, mlp_adapter):
    X, B = data
    att = ExactShapley().fit(mlp_adapter, B, groups=GROUPS).explain(X)
    oracle = exact_shapley(mlp_adapter, X, B, groups=GROUPS)
    assert att.feature_names == GROUPS.names == ("a", "b", "f4")
    assert_allclose(att.values, oracle.values, atol=1e-10)
    # For a linear model the group value is the sum of its columns' values.
    lin = ExactShapley().fit(linear_adapter(weights), B, groups=GROUPS).explain(X)
    per_column = linear_shapley(weights, X, B)
    assert_allclose(lin.values, per_column @ GROUPS.matrix.T.astype(float), atol=1e-10)


def test_exact_refuses_beyond_limit_naming_alternatives(data, weights):
    X, B = data
    with pytest.raises(BudgetError, match="permutation_shap.*kernel_shap.*FeatureGroups"):
        ExactShapley(max_features=4).fit(linear_adapter(weights), B)
    # Three groups fit under a limit of four.
    att = ExactShapley(max_features=3).fit(linear_adapter(weights), B, groups=GROUPS).explain(X)
    assert att.values.shape == (6, 3)


def test_exact_rejects_bad_parameters(data, weights):
    _, B = data
    with pytest.raises(UnknownNameError):
        ExactShapley(removal="zero").fit(linear_adapter(weights), B)
    with pytest.raises(InvalidInputError, match="baseline"):
        ExactShapley(removal="baseline").fit(linear_adapter(weights), B)
    with pytest.raises(InvalidInputError, match="max_features"):
        ExactShapley(max_features=0).fit(linear_adapter(weights), B)


# ---------------------------------------------------------------- feature_ablation
def test_ablation_linear_marginal_is_w_times_centered_x(data, weights):
    X, B = data
    adapter = linear_adapter(weights)
    att = FeatureAblation().fit(adapter, B).explain(X)
    assert_allclose(att.values, weights * (X - B.mean(0)), atol=1e-10)
    # Base value is v(∅) = E f(background); a linear model has no interactions, so additive.
    assert_allclose(att.base_values, B.mean(0) @ weights + 0.25, atol=1e-10)
    assert att.additivity_gap(adapter).max() < 1e-10


@pytest.mark.parametrize("removal", ["mean", "baseline"])
def test_ablation_single_reference_strategies(data, weights, removal):
    X, B = data
    reference = B.mean(0) if removal == "mean" else B[3]
    att = FeatureAblation(removal=removal, baseline=B[3]).fit(linear_adapter(weights), B).explain(X)
    assert_allclose(att.values, weights * (X - reference), atol=1e-10)


def test_ablation_nonlinear_matches_direct_removal(data, mlp_adapter):
    X, B = data
    att = FeatureAblation().fit(mlp_adapter, B).explain(X, target=1)
    f = mlp_adapter.predict(X)[:, 1]
    for i in range(D):
        hybrid = np.repeat(X, len(B), axis=0)
        hybrid[:, i] = np.tile(B[:, i], len(X))
        removed = mlp_adapter.predict(hybrid)[:, 1].reshape(len(X), len(B)).mean(1)
        assert_allclose(att.values[:, i], f - removed, atol=1e-10)
    # The MLP has interactions: the record must not pretend to be additive.
    assert att.additivity_gap(mlp_adapter).max() > 1e-6


def test_ablation_removes_group_as_a_unit(data):
    X, B = data
    # f = x0 * x2 + x1: group "a" = {f0, f2}; removing it replaces both columns at once.
    adapter = wrap(lambda Z: Z[:, 0] * Z[:, 2] + Z[:, 1], feature_names=NAMES)
    att = FeatureAblation(removal="baseline", baseline=np.zeros(D)).fit(adapter, B, groups=GROUPS).explain(X)
    assert_allclose(att.values[:, 0], X[:, 0] * X[:, 2], atol=1e-12)
    assert_allclose(att.values[:, 1], X[:, 1], atol=1e-12)
    assert_allclose(att.values[:, 2], 0.0, atol=1e-12)


def test_ablation_cost_is_recorded(data, weights):
    X, B = data
    adapter = linear_adapter(weights)
    _ = adapter.n_outputs  # the first use probes the model with one row
    att = FeatureAblation().fit(adapter, B).explain(X, target=0)
    assert att.model_rows == len(X) * D * len(B) + len(X) + len(B)


# ---------------------------------------------------------------- random
def test_random_seeded_and_shaped(data, mlp_adapter):
    X, B = data
    a = RandomExplainer(random_state=3).fit(mlp_adapter, B).explain(X)
    b = RandomExplainer(random_state=3).fit(mlp_adapter, B).explain(X)
    c = RandomExplainer(random_state=4).fit(mlp_adapter, B).explain(X)
    assert a.values.shape == (6, D)
    assert_allclose(a.values, b.values, rtol=0, atol=0)
    assert not np.allclose(a.values, c.values)
    explainer = RandomExplainer(random_state=3).fit(mlp_adapter, B)
    assert_allclose(explainer.explain(X).values, explainer.explain(X).values, rtol=0, atol=0)


def test_random_scale_and_base(data, mlp_adapter):
    X, B = data
    att = RandomExplainer().fit(mlp_adapter, B).explain(X)
    rows = np.arange(len(X))
    base = mlp_adapter.predict(B).mean(0)[att.target]
    gap = np.abs(mlp_adapter.predict(X)[rows, att.target] - base)
    assert_allclose(att.base_values, base, atol=1e-12)
    # values / (gap / sqrt(p)) are the raw standard-normal draws of the seed.
    expected = np.random.default_rng(0).standard_normal((len(X), D))
    assert_allclose(att.values, expected * gap[:, None] / np.sqrt(D), atol=1e-12)


def test_random_groups(data, mlp_adapter):
    X, B = data
    att = RandomExplainer().fit(mlp_adapter, B, groups=GROUPS).explain(X)
    assert att.values.shape == (6, 3) and att.feature_names == GROUPS.names
