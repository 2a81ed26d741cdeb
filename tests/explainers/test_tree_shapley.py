"""Interventional Shapley values of a tree (columns or groups as players) against exact oracles."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.tree import DecisionTreeRegressor

from agnostic_xai import FeatureGroups, wrap
from agnostic_xai._shapley import enumerate_shapley
from agnostic_xai.explainers._tree_shapley import tree_paths, tree_shapley
from agnostic_xai.explainers.surrogate_tree import SurrogateTree


def interacting(Z):
    return Z[:, 0] * Z[:, 1] + np.sin(Z[:, 2]) + (Z[:, 3] > 0) * Z[:, 4] - np.abs(Z[:, 5] - Z[:, 0])


@pytest.fixture(scope="module")
def tree_and_rows():
    rng = np.random.default_rng(0)
    train = rng.normal(size=(600, 7))
    tree = DecisionTreeRegressor(max_depth=7, random_state=0).fit(train, interacting(train))
    return tree, rng.normal(size=(25, 7)), rng.normal(size=(12, 7))


def _enumerated(tree, X, reference, groups=None):
    return enumerate_shapley(wrap(tree.predict), X, reference, np.zeros(len(X), dtype=np.int64), groups=groups)


def test_columns_equal_enumeration_and_shap_tree_explainer(tree_and_rows):
    import shap

    tree, X, reference = tree_and_rows
    values, base = tree_shapley(tree_paths(tree), X, reference)
    exact, exact_base = _enumerated(tree, X, reference)
    assert_allclose(values, exact, rtol=0, atol=1e-10)
    assert_allclose(base, exact_base, rtol=0, atol=1e-12)
    theirs = shap.TreeExplainer(tree, data=reference, feature_perturbation="interventional")
    # shap's interventional TreeSHAP rounds to about float32 precision (measured 5e-8 here).
    assert_allclose(values, theirs.shap_values(X), rtol=0, atol=1e-6)
    assert_allclose(base + values.sum(1), tree.predict(X), rtol=0, atol=1e-12)


@pytest.mark.parametrize(
    "members",
    [{"a": [0, 1], "b": [2, 5]}, {"a": [0, 5], "b": [3, 4], "c": [1, 2, 6]}, {"all": list(range(7))}],
    ids=["two-pairs", "three-groups", "one-group"],
)
def test_groups_are_the_group_game_not_sums_of_columns(tree_and_rows, members):
    tree, X, reference = tree_and_rows
    groups = FeatureGroups.from_dict(members, [f"x{i}" for i in range(7)])
    values, base = tree_shapley(tree_paths(tree), X, reference, groups)
    exact, exact_base = _enumerated(tree, X, reference, groups)
    assert values.shape == (len(X), groups.n_groups)
    assert_allclose(values, exact, rtol=0, atol=1e-10)
    assert_allclose(base, exact_base, rtol=0, atol=1e-12)
    summed = tree_shapley(tree_paths(tree), X, reference)[0] @ groups.matrix.T
    if groups.n_groups == 1:  # one player takes everything: f(x) - base either way (efficiency)
        assert_allclose(summed, exact, rtol=0, atol=1e-10)
    else:  # interactions inside a group: sums of column values are another quantity
        assert np.abs(summed - exact).max() > 1e-3


def test_a_stump_has_only_a_base_value():
    tree = DecisionTreeRegressor().fit(np.zeros((5, 3)), np.full(5, 2.5))
    values, base = tree_shapley(tree_paths(tree), np.ones((4, 3)), np.zeros((2, 3)))
    assert_allclose(values, 0.0, atol=0) and assert_allclose(base, 2.5)


def test_surrogate_tree_with_60_groups_of_one_hot_minmax_columns():
    """120 MinMax-scaled columns (one-hot pairs, many zeros) in 60 groups: polynomial, exact for
    the groups the tree uses.

    The model depends on groups 3, 17 and 41 only, so the tree splits only on their columns
    and every other group is a null player of the tree's game. Merging all the null groups
    into one player leaves the other players' Shapley values unchanged, so a 4-player
    enumeration of the same tree is an exact oracle for the 60-group values.
    """
    rng = np.random.default_rng(3)
    n_groups = 60
    levels = rng.integers(0, 2, size=(300, n_groups))
    table = np.zeros((300, 2 * n_groups))
    table[np.arange(300)[:, None], 2 * np.arange(n_groups) + levels] = 1.0  # one-hot, MinMax-scaled already
    names = [f"g{g}_{v}" for g in range(n_groups) for v in (0, 1)]
    groups = FeatureGroups.from_prefixes(names)
    assert groups.n_groups == n_groups

    def model(Z):
        return 2.0 * Z[:, 7] * Z[:, 35] - 1.5 * Z[:, 83] + Z[:, 35]

    background, X = table[:40], table[40:60]
    explainer = SurrogateTree(max_depth=4, n_samples=1500, random_state=0)
    explainer.fit(wrap(model, feature_names=names), background, groups=groups)
    att = explainer.explain(X)
    assert att.values.shape == (20, n_groups)
    tree = explainer.trees_[0]
    assert_allclose(att.base_values + att.values.sum(1), tree.predict(X), rtol=0, atol=1e-10)
    used = sorted({int(c) // 2 for c in tree.tree_.feature[tree.tree_.feature >= 0]})
    assert 2 <= len(used) and set(used) <= {3, 17, 41}
    merged = {f"g{g}": [2 * g, 2 * g + 1] for g in used}
    merged["rest"] = [c for g in range(n_groups) if g not in used for c in (2 * g, 2 * g + 1)]
    oracle_groups = FeatureGroups.from_dict(merged, names)
    exact, _ = _enumerated(tree, X, background, oracle_groups)
    positions = [groups.names.index(f"g{g}") for g in used]
    in_oracle = [oracle_groups.names.index(f"g{g}") for g in used]
    assert_allclose(att.values[:, positions], exact[:, in_oracle], rtol=0, atol=1e-10)
    assert_allclose(exact[:, oracle_groups.names.index("rest")], 0.0, atol=1e-12)
    others = [j for j in range(n_groups) if j not in positions]
    assert_allclose(att.values[:, others], 0.0, atol=0)
