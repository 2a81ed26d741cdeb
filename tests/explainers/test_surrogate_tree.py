"""SurrogateTree: fidelity on tree-like models, exact tree Shapley values, groups, seeding."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

from agnostic_xai import FeatureGroups, wrap
from agnostic_xai.exceptions import InvalidInputError
from agnostic_xai.explainers import get
from agnostic_xai.explainers.exact import ExactShapley
from agnostic_xai.explainers.surrogate_tree import SurrogateTree

D = 4
NAMES = ["a", "b", "c", "d"]
GROUPS = FeatureGroups.from_dict({"ab": ["a", "b"]}, NAMES)


def steps(Z):
    """A depth-2 tree: it splits on a, then on b or c; d is unused."""
    return np.where(Z[:, 0] > 0, np.where(Z[:, 1] > 0.5, 3.0, 1.0), np.where(Z[:, 2] > -0.5, -1.0, -2.0))


@pytest.fixture(scope="module")
def background():
    return np.random.default_rng(0).normal(size=(60, D))


@pytest.fixture(scope="module")
def X():
    return np.random.default_rng(1).normal(size=(8, D))


@pytest.fixture(scope="module")
def fitted(background):
    return SurrogateTree(n_samples=800).fit(wrap(steps, feature_names=NAMES), background)


def test_registry():
    assert isinstance(get("surrogate_tree"), SurrogateTree)


def test_fidelity_on_a_tree_shaped_model(fitted):
    assert fitted.fidelity_.shape == (1,)
    assert fitted.fidelity_[0] >= 0.95
    assert fitted.depth_[0] <= 4 and fitted.n_leaves_[0] <= 16
    rules = fitted.rules_[0]
    assert "a <=" in rules and "b <=" in rules and "c <=" in rules and "d <=" not in rules
    assert fitted.fit_model_rows_ == 60 + 800 + 200


def test_attributions_are_additive_for_the_tree(fitted, X):
    att = fitted.explain(X)
    tree_prediction = fitted.trees_[0].predict(X)
    assert_allclose(att.extras["tree_prediction"], tree_prediction)
    assert_allclose(att.base_values + att.values.sum(1), tree_prediction, atol=1e-10)
    assert_allclose(att.values[:, 3], 0.0, atol=1e-12)  # d never used by the tree
    assert_allclose(att.extras["fidelity"], fitted.fidelity_[0])
    assert att.model_rows == 0 and att.extras["fit_model_rows"] == fitted.fit_model_rows_


def test_tree_values_equal_enumeration_on_the_tree(fitted, background, X):
    """Independent check of shap's TreeExplainer: exact enumeration of the same tree."""
    att = fitted.explain(X)
    exact = ExactShapley().fit(wrap(fitted.trees_[0].predict), background).explain(X)
    assert_allclose(att.values, exact.values, atol=1e-10)
    assert_allclose(att.base_values, exact.base_values, atol=1e-10)


def test_groups_are_exact_group_shapley_of_the_tree(background, X):
    explainer = SurrogateTree(n_samples=800).fit(wrap(steps, feature_names=NAMES), background, groups=GROUPS)
    att = explainer.explain(X)
    assert att.feature_names == ("ab", "c", "d")
    tree = wrap(explainer.trees_[0].predict, feature_names=NAMES)
    exact = ExactShapley().fit(tree, background, groups=GROUPS).explain(X)
    assert_allclose(att.values, exact.values, atol=1e-10)
    assert_allclose(att.base_values + att.values.sum(1), explainer.trees_[0].predict(X), atol=1e-10)


def test_one_tree_per_output_and_row_targets(background, X):
    # Two outputs that are not mirror images: each row is explained through its own output's tree.
    adapter = wrap(lambda Z: np.stack([steps(Z), 2 * (Z[:, 3] > 0)], axis=1), feature_names=NAMES)
    explainer = SurrogateTree(n_samples=800).fit(adapter, background)
    assert len(explainer.trees_) == 2 and (explainer.fidelity_ >= 0.95).all()
    target = np.arange(len(X)) % 2
    att = explainer.explain(X, target=target)
    for k in (0, 1):
        rows = target == k
        assert_allclose(att.values[rows], explainer.explain(X[rows], target=k).values, atol=1e-12)
        assert_allclose(att.extras["tree_prediction"][rows], explainer.trees_[k].predict(X[rows]))
    assert_allclose(att.values[target == 1][:, :3], 0.0, atol=1e-12)


def test_seeded(background, X):
    adapter = wrap(lambda Z: np.sin(Z).sum(1), feature_names=NAMES)
    a = SurrogateTree(n_samples=300, random_state=1).fit(adapter, background)
    b = SurrogateTree(n_samples=300, random_state=1).fit(adapter, background)
    c = SurrogateTree(n_samples=300, random_state=2).fit(adapter, background)
    assert a.rules_ == b.rules_ and a.fidelity_ == b.fidelity_
    assert_allclose(a.explain(X).values, b.explain(X).values, atol=0)
    assert not np.allclose(a.explain(X).values, c.explain(X).values)


@pytest.mark.parametrize("params", [{"max_depth": 0}, {"max_leaf_nodes": 1}, {"n_samples": 2}, {"max_depth": 2.5}])
def test_rejects_bad_parameters(background, params):
    with pytest.raises(InvalidInputError):
        SurrogateTree(**params).fit(wrap(steps, feature_names=NAMES), background)


def test_any_number_of_groups_no_enumeration_limit():
    # 17 groups (above the exact-enumeration limit of 16) used to be refused; the tree's
    # values are computed path by path, never by enumerating coalitions.
    names = [f"x{i}" for i in range(18)]
    groups = FeatureGroups.from_dict({"pair": ["x0", "x1"]}, names)
    background = np.random.default_rng(0).normal(size=(20, 18))
    model = wrap(lambda Z: Z[:, 0] * Z[:, 1] + Z[:, 5], feature_names=names)
    explainer = SurrogateTree(n_samples=400).fit(model, background, groups=groups)
    att = explainer.explain(background[:5])
    assert att.values.shape == (5, 17)
    assert_allclose(att.base_values + att.values.sum(1), explainer.trees_[0].predict(background[:5]), atol=1e-10)
