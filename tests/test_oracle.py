import numpy as np
import pytest
import torch

from agnostic_xai import FeatureGroups, wrap
from agnostic_xai.exceptions import BudgetError, UnknownNameError
from agnostic_xai.testing import AdditiveModel, LinearModel, coalition_matrix, exact_shapley, linear_shapley, make_mlp
from agnostic_xai.testing.oracles import shapley_weights


def test_linear_model_matches_the_closed_form_to_1e10(linear_setup):
    model, weights, X, background = linear_setup
    adapter = wrap(model)
    record = exact_shapley(adapter, X, background)
    np.testing.assert_allclose(record.values, linear_shapley(weights, X, background), rtol=0, atol=1e-10)
    f = adapter.predict(X)[:, 0]
    np.testing.assert_allclose(record.base_values + record.values.sum(1), f, rtol=0, atol=1e-10)
    np.testing.assert_allclose(record.base_values, adapter.predict(background).mean(), rtol=0, atol=1e-10)
    assert record.model_rows == X.shape[0] * 2 ** X.shape[1] * background.shape[0]


def test_additive_model_matches_its_closed_form(rng):
    model = AdditiveModel(7)
    X, background = rng.normal(size=(5, 7)), rng.normal(size=(15, 7))
    record = exact_shapley(wrap(model), X, background)
    np.testing.assert_allclose(record.values, model.shapley(X, background), rtol=0, atol=1e-10)


def test_groups_of_a_linear_model_sum_their_columns(linear_setup):
    model, weights, X, background = linear_setup
    groups = FeatureGroups.from_dict({"g1": [0, 1, 2], "g2": [4, 5]}, [f"x{i}" for i in range(6)])
    record = exact_shapley(wrap(model), X, background, groups=groups)
    per_column = linear_shapley(weights, X, background)
    expected = np.stack([per_column[:, list(c)].sum(1) for c in groups.indices], 1)
    np.testing.assert_allclose(record.values, expected, rtol=0, atol=1e-10)
    assert record.feature_names == ("g1", "x3", "g2")


def test_efficiency_and_targets_on_a_nonlinear_classifier(rng):
    module = make_mlp(6, 3, (16,), seed=4, dtype=torch.float64)
    adapter = wrap(module, output="logit")
    X, background = rng.normal(size=(6, 6)), rng.normal(size=(12, 6))
    target = np.array([0, 1, 2, 2, 1, 0])
    record = exact_shapley(adapter, X, background, target)
    f = adapter.predict(X)[np.arange(6), target]
    np.testing.assert_allclose(record.base_values + record.values.sum(1), f, rtol=0, atol=1e-10)
    np.testing.assert_array_equal(record.target, target)


def test_block_size_does_not_change_the_values(rng):
    module = make_mlp(5, 2, (8,), seed=0, dtype=torch.float64)
    X, background = rng.normal(size=(3, 5)), rng.normal(size=(10, 5))
    small = exact_shapley(wrap(module), X, background, max_rows=17)
    large = exact_shapley(wrap(module), X, background)
    np.testing.assert_allclose(small.values, large.values, rtol=0, atol=1e-12)


def test_mean_and_baseline_removal_on_a_linear_model(linear_setup):
    model, weights, X, background = linear_setup
    mean_record = exact_shapley(wrap(model), X, background, removal="mean")
    np.testing.assert_allclose(mean_record.values, linear_shapley(weights, X, background), atol=1e-10)
    baseline = np.full(6, 2.0)
    base_record = exact_shapley(wrap(model), X, None, removal="baseline", baseline=baseline)
    np.testing.assert_allclose(base_record.values, weights * (X - 2.0), atol=1e-10)
    with pytest.raises(UnknownNameError):
        exact_shapley(wrap(model), X, background, removal="zeros")


def test_too_many_features_is_refused_with_alternatives(rng):
    model = LinearModel(np.ones(17))
    with pytest.raises(BudgetError, match="permutation_shap"):
        exact_shapley(wrap(model), rng.normal(size=(1, 17)), rng.normal(size=(3, 17)))


def test_shapley_weights_sum_to_the_efficiency_identity():
    # For every player, the weights over coalitions containing it sum to 1 and over the
    # others to -1 + 1/p... checked through v(S) = |S|: phi_i = 1 for every player.
    coalitions = coalition_matrix(5)
    phi = coalitions.sum(1).astype(float) @ shapley_weights(coalitions)
    np.testing.assert_allclose(phi, np.ones(5), atol=1e-14)


def test_block_rows_default_follows_the_device_and_refuses_nonsense():
    from agnostic_xai.exceptions import InvalidInputError
    from agnostic_xai.removal import DEFAULT_CUDA_MAX_ROWS, DEFAULT_MAX_ROWS, block_rows

    cpu = wrap(make_mlp(3, 2, (4,), seed=0))
    assert block_rows(None, cpu) == DEFAULT_MAX_ROWS
    assert block_rows(None, wrap(lambda X: X[:, :1], feature_names=["a", "b", "c"])) == DEFAULT_MAX_ROWS  # no device
    assert block_rows(123, cpu) == 123
    assert DEFAULT_CUDA_MAX_ROWS > DEFAULT_MAX_ROWS
    for bad in (0, -5, 2.5, True, "many"):
        with pytest.raises(InvalidInputError, match="max_rows"):
            block_rows(bad, cpu)
