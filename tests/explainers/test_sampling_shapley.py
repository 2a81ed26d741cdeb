"""The batched sampling Shapley estimator against exact enumeration and closed forms."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from agnostic_xai import FeatureGroups, wrap
from agnostic_xai.exceptions import InvalidInputError
from agnostic_xai.explainers.sampling_shapley import SamplingShapley
from agnostic_xai.testing import LinearModel, exact_shapley, linear_shapley, make_mlp

D = 6


@pytest.fixture(scope="module")
def setup():
    rng = np.random.default_rng(3)
    adapter = wrap(make_mlp(D, 3, (16, 16), seed=4, dtype=torch.float64), output="logit")
    X, background = rng.normal(size=(5, D)), rng.normal(size=(12, D))
    return adapter, X, background, exact_shapley(adapter, X, background)


def f_target(adapter, result):
    return adapter.predict(result.data)[np.arange(result.data.shape[0]), result.target]


@pytest.mark.parametrize("k", [None, 4, 5])  # 5 does not divide 12: the efficiency correction applies
def test_efficiency_holds_exactly_for_every_seed(setup, k):
    adapter, X, background, _ = setup
    for seed in range(3):
        result = SamplingShapley(n_permutations=6, background_per_permutation=k, random_state=seed).fit(
            adapter, background
        ).explain(X)
        np.testing.assert_allclose(result.base_values + result.values.sum(1), f_target(adapter, result), atol=1e-10)


@pytest.mark.parametrize("k", [None, 3])
def test_mean_over_seeds_is_within_its_standard_error_of_exact_values(setup, k):
    adapter, X, background, exact = setup
    seeds = 30
    runs = [
        SamplingShapley(n_permutations=8, background_per_permutation=k, random_state=s)
        .fit(adapter, background)
        .explain(X)
        for s in range(seeds)
    ]
    mean = np.mean([r.values for r in runs], axis=0)
    se_of_mean = np.mean([r.extras["standard_error"] for r in runs], axis=0) / np.sqrt(seeds)
    assert np.abs(exact.values).max() > 10 * se_of_mean.max()  # the test can fail: errors are resolvable
    np.testing.assert_array_less(np.abs(mean - exact.values), 4.5 * se_of_mean + 1e-12)


def test_reported_standard_error_matches_the_spread_over_seeds_and_shrinks_with_budget(setup):
    adapter, X, background, _ = setup

    def spread_and_se(n_permutations):
        runs = [
            SamplingShapley(n_permutations=n_permutations, background_per_permutation=None, random_state=s)
            .fit(adapter, background)
            .explain(X)
            for s in range(25)
        ]
        spread = np.std([r.values for r in runs], axis=0, ddof=1).mean()
        return spread, np.mean([r.extras["standard_error"] for r in runs])

    spread_small, se_small = spread_and_se(8)
    spread_large, se_large = spread_and_se(128)
    assert 0.6 < se_small / spread_small < 1.6
    assert 0.6 < se_large / spread_large < 1.6
    assert 2.5 < se_small / se_large < 6.5  # 1/sqrt(budget): 4 expected


def test_chunk_size_batch_composition_and_backend_do_not_change_values(setup):
    adapter, X, background, _ = setup
    explainer = SamplingShapley(n_permutations=10, background_per_permutation=4, random_state=1)
    explainer.fit(adapter, background)
    reference = explainer.explain(X, target=0)
    tiny = SamplingShapley(n_permutations=10, background_per_permutation=4, random_state=1, max_rows=40)
    np.testing.assert_allclose(
        tiny.fit(adapter, background).explain(X, target=0).values, reference.values, rtol=1e-12, atol=1e-14
    )
    alone = explainer.explain(X[2:3], target=0)
    np.testing.assert_allclose(alone.values[0], reference.values[2], rtol=1e-12, atol=1e-14)
    # The numpy path (any callable model) computes the same estimate as the torch path.
    callable_adapter = wrap(lambda Z: adapter.predict(Z), task="classification", output="logit")
    numpy_path = SamplingShapley(n_permutations=10, background_per_permutation=4, random_state=1)
    values = numpy_path.fit(callable_adapter, background).explain(X, target=reference.target).values
    np.testing.assert_allclose(values, reference.values, rtol=1e-10, atol=1e-12)
    assert reference.model_rows == X.shape[0] * (10 * (D - 1) * 4 + 1)


def test_linear_model_with_groups_is_exact_when_reference_rows_are_balanced(rng):
    weights = rng.normal(size=D)
    adapter = wrap(LinearModel(weights, bias=0.2))
    X, background = rng.normal(size=(4, D)), rng.normal(size=(12, D))
    groups = FeatureGroups.from_dict({"a": [0, 3], "b": [1], "c": [2, 4, 5]}, [f"x{i}" for i in range(D)])
    # 6 pairs x 4 rows = 24 slots: every background row used twice.
    result = SamplingShapley(n_permutations=12, background_per_permutation=4).fit(adapter, background, groups=groups)
    values = result.explain(X).values
    per_column = linear_shapley(weights, X, background)
    expected = np.stack([per_column[:, list(cols)].sum(1) for cols in groups.indices], axis=1)
    np.testing.assert_allclose(values, expected, atol=1e-10)


def test_baseline_removal_matches_exact_enumeration_in_expectation(setup):
    adapter, X, background, _ = setup
    baseline = background.mean(0)
    exact = exact_shapley(adapter, X, background, removal="baseline", baseline=baseline)
    sampler = SamplingShapley(n_permutations=400, removal="baseline", baseline=baseline)
    result = sampler.fit(adapter, background).explain(X)
    assert result.extras["background_per_permutation"] == 1
    np.testing.assert_array_less(np.abs(result.values - exact.values), 5 * result.extras["standard_error"] + 1e-12)


@pytest.mark.parametrize(
    "params", [{"n_permutations": 7}, {"n_permutations": 0}, {"background_per_permutation": 0},
               {"background_per_permutation": "all"}, {"max_rows": 0}]
)
def test_bad_parameters_are_refused_with_the_fix(setup, params):
    adapter, _, background, _ = setup
    with pytest.raises(InvalidInputError):
        SamplingShapley(**params).fit(adapter, background)
