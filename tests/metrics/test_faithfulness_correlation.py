"""Faithfulness correlation, faithfulness estimate and monotonicity against loop references
(model evaluated row by row) and scipy's correlations."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import scipy.stats
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from agnostic_xai import metrics
from agnostic_xai.adapters import wrap
from agnostic_xai.attribution import Attribution
from agnostic_xai.exceptions import InvalidInputError
from agnostic_xai.groups import FeatureGroups
from agnostic_xai.metrics._removal_utils import random_subsets
from agnostic_xai.metrics._rng import row_random
from agnostic_xai.metrics.faithfulness_correlation import faithfulness_correlation
from agnostic_xai.metrics.ranking import rowwise_pearson, rowwise_spearman
from agnostic_xai.testing import AdditiveModel, make_mlp

TOL = 1e-10


def row_output(module, z, t):
    with torch.no_grad():
        return float(module(torch.tensor(np.array(z, dtype=np.float64)[None, :]))[0, t])


def replaced(x, r, removed_columns):
    return [r[j] if j in removed_columns else x[j] for j in range(len(x))]


def ref_value(module, x, removed_columns, reference, t):
    return sum(row_output(module, replaced(x, r, removed_columns), t) for r in reference) / len(reference)


@pytest.fixture(scope="module")
def setup():
    rng = np.random.default_rng(11)
    d = 6
    module = make_mlp(d, 2, (10,), seed=4, dtype=torch.float64)
    adapter = wrap(module, output="logit")
    X = rng.normal(size=(3, d))
    background = rng.normal(0.2, 1.5, size=(5, d))
    groups = FeatureGroups(("a", "b", "c", "d"), ((0, 3), (1,), (2, 5), (4,)), tuple(f"x{i}" for i in range(d)))
    values = rng.normal(size=(3, d))
    attribution = Attribution(
        values=values, base_values=np.zeros(3), data=X, target=np.array([1, 0, 1]),
        feature_names=tuple(f"x{i}" for i in range(d)), method="random", output="logit",
    )
    grouped = replace(attribution, values=values[:, :4], feature_names=groups.names, groups=groups)
    return module, adapter, X, background, attribution, grouped


def players(attribution):
    groups = attribution.groups
    return [(j,) for j in range(attribution.n_features)] if groups is None else list(groups.indices)


@pytest.mark.parametrize("grouped", [False, True])
@pytest.mark.parametrize("removal", ["marginal", "mean"])
def test_faithfulness_correlation_matches_loops_and_scipy(setup, grouped, removal):
    module, adapter, X, background, attribution, grouped_attribution = setup
    attribution = grouped_attribution if grouped else attribution
    reference = background if removal == "marginal" else background.mean(axis=0, keepdims=True)
    result = metrics.get("faithfulness_correlation", n_subsets=7, removal=removal)(attribution, adapter, background)
    subsets = result.extras["subsets"]
    m = attribution.n_features
    assert subsets.shape == (3, 7, m) and (subsets.sum(axis=-1) == int(np.ceil(0.25 * m))).all()
    cols = players(attribution)
    for i, (x, phi, t) in enumerate(zip(X, attribution.values, attribution.target)):
        sums, drops = [], []
        for subset in subsets[i]:
            removed = {c for p in np.flatnonzero(subset) for c in cols[p]}
            sums.append(sum(phi[p] for p in np.flatnonzero(subset)))
            drops.append(row_output(module, x, t) - ref_value(module, x, removed, reference, t))
        np.testing.assert_allclose(result.extras["attribution_sums"][i], sums, atol=TOL)
        np.testing.assert_allclose(result.extras["output_drops"][i], drops, atol=TOL)
        assert abs(result.scores[i] - scipy.stats.pearsonr(sums, drops).statistic) < TOL


def test_faithfulness_correlation_subsets_are_seeded(setup):
    module, adapter, X, background, attribution, _ = setup
    one = metrics.get("faithfulness_correlation", n_subsets=5, random_state=3)(attribution, adapter, background)
    two = metrics.get("faithfulness_correlation", n_subsets=5, random_state=3)(attribution, adapter, background)
    other = metrics.get("faithfulness_correlation", n_subsets=5, random_state=4)(attribution, adapter, background)
    np.testing.assert_array_equal(one.scores, two.scores)
    assert not np.array_equal(one.extras["subsets"], other.extras["subsets"])
    expected = random_subsets(row_random(3, 3), 3, 5, attribution.n_features, 2)
    np.testing.assert_array_equal(one.extras["subsets"], expected)


def test_random_subsets_are_uniform():
    draws = random_subsets(np.random.default_rng(0), 2000, 1, 5, 2)[:, 0]
    assert (draws.sum(axis=1) == 2).all()
    # each of the 10 pairs appears about 200 times
    codes = (draws * (2 ** np.arange(5))).sum(axis=1)
    counts = np.unique(codes, return_counts=True)[1]
    assert len(counts) == 10 and counts.min() > 140 and counts.max() < 260


@pytest.mark.parametrize("grouped", [False, True])
@pytest.mark.parametrize("removal", ["marginal", "baseline"])
def test_faithfulness_estimate_matches_loops_and_scipy(setup, grouped, removal):
    module, adapter, X, background, attribution, grouped_attribution = setup
    attribution = grouped_attribution if grouped else attribution
    baseline = np.arange(X.shape[1], dtype=float) / 3 if removal == "baseline" else None
    reference = background if baseline is None else baseline[None, :]
    result = metrics.get("faithfulness_estimate", removal=removal, baseline=baseline)(attribution, adapter, background)
    for i, (x, phi, t) in enumerate(zip(X, attribution.values, attribution.target)):
        drops = [row_output(module, x, t) - ref_value(module, x, set(c), reference, t) for c in players(attribution)]
        np.testing.assert_allclose(result.extras["output_drops"][i], drops, atol=TOL)
        assert abs(result.scores[i] - scipy.stats.pearsonr(phi, drops).statistic) < TOL


@pytest.mark.parametrize("grouped", [False, True])
def test_monotonicity_matches_loops_and_scipy(setup, grouped):
    module, adapter, X, background, attribution, grouped_attribution = setup
    attribution = grouped_attribution if grouped else attribution
    result = metrics.get("monotonicity")(attribution, adapter, background)
    for i, (x, phi, t) in enumerate(zip(X, attribution.values, attribution.target)):
        fx = row_output(module, x, t)
        effects = [
            sum((fx - row_output(module, replaced(x, r, set(c)), t)) ** 2 for r in background) / len(background)
            for c in players(attribution)
        ]
        np.testing.assert_allclose(result.extras["effects"][i], effects, rtol=1e-9, atol=TOL)
        assert abs(result.scores[i] - scipy.stats.spearmanr(np.abs(phi), effects).statistic) < TOL


def test_monotonicity_uses_average_ranks_for_ties(setup):
    module, adapter, X, background, attribution, _ = setup
    tied = attribution.values.copy()
    tied[:, 1] = -tied[:, 0]  # |φ_0| = |φ_1|
    result = metrics.get("monotonicity")(replace(attribution, values=tied), adapter, background)
    for i in range(3):
        expected = scipy.stats.spearmanr(np.abs(tied[i]), result.extras["effects"][i]).statistic
        assert abs(result.scores[i] - expected) < TOL


@pytest.mark.parametrize("name", ["faithfulness_correlation", "faithfulness_estimate", "monotonicity"])
def test_constant_attribution_scores_nan(setup, name):
    module, adapter, X, background, attribution, _ = setup
    result = metrics.get(name)(replace(attribution, values=np.zeros_like(attribution.values)), adapter, background)
    assert np.isnan(result.scores).all() and np.isnan(result.value)


@pytest.mark.parametrize("name", ["faithfulness_correlation", "faithfulness_estimate", "monotonicity"])
def test_single_feature_is_refused(name):
    adapter = wrap(AdditiveModel(1))
    X = np.ones((2, 1))
    attribution = Attribution(values=X, base_values=np.zeros(2), data=X, target=np.zeros(2, int),
                              feature_names=("x0",), method="m")
    with pytest.raises(InvalidInputError, match="at least 2"):
        metrics.get(name)(attribution, adapter, np.zeros((3, 1)))


@pytest.mark.parametrize(
    "params", [{"subset_size": 0.0}, {"subset_size": 1.5}, {"subset_size": 6}, {"subset_size": True},
               {"subset_size": "half"}, {"n_subsets": 1}, {"n_subsets": 2.5}, {"random_state": -1}]
)
def test_faithfulness_correlation_parameter_errors(setup, params):
    module, adapter, X, background, attribution, _ = setup
    with pytest.raises(InvalidInputError):
        metrics.get("faithfulness_correlation", **params)(attribution, adapter, background)


def test_rowwise_correlations_match_scipy():
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(5, 9)), rng.normal(size=(5, 9))
    b[0] = 2 * a[0] + 1
    a[1, :4] = a[1, 4]  # ties
    for i in range(5):
        assert abs(rowwise_pearson(a, b)[i] - scipy.stats.pearsonr(a[i], b[i]).statistic) < 1e-12
        assert abs(rowwise_spearman(a, b)[i] - scipy.stats.spearmanr(a[i], b[i]).statistic) < 1e-12
    assert np.isnan(rowwise_pearson(np.full((1, 4), 0.1), b[:1, :4])).all()


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(1, 3), d=st.integers(2, 5), r=st.integers(1, 4), k=st.integers(2, 6),
    seed=st.integers(0, 2**16), scale=st.floats(1e-6, 1e6),
)
def test_correlation_properties(n, d, r, k, seed, scale):
    rng = np.random.default_rng(seed)
    adapter = wrap(AdditiveModel(d))
    X, background = rng.normal(size=(n, d)), rng.normal(size=(r, d))
    values = scale * rng.normal(size=(n, d))
    target = np.zeros(n, dtype=int)
    scores, extras = faithfulness_correlation(adapter, X, values, target, background, n_subsets=k, random_state=seed)
    assert scores.shape == (n,)
    assert extras["subsets"].shape == (n, k, d)
    finite = scores[np.isfinite(scores)]
    assert ((finite >= -1) & (finite <= 1)).all()
    attribution = Attribution(values=values, base_values=np.zeros(n), data=X, target=target,
                              feature_names=tuple(f"x{i}" for i in range(d)), method="m")
    for name in ("faithfulness_estimate", "monotonicity"):
        result = metrics.get(name)(attribution, adapter, background)
        finite = result.scores[np.isfinite(result.scores)]
        assert result.scores.shape == (n,) and ((finite >= -1) & (finite <= 1)).all()
