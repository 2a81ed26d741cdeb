"""Lime: linear-model oracles, lime's label-1 trap, seeding, the explained output, refusals."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from agnostic_xai import FeatureGroups, wrap
from agnostic_xai.exceptions import InvalidInputError
from agnostic_xai.explainers import get
from agnostic_xai.explainers.lime_tabular import Lime

W = np.array([3.0, -2.0, 1.0, -0.5])
N_SAMPLES = 1000


@pytest.fixture(scope="module")
def background():
    # Standardised columns: LIME's coefficients are then on the scale of the weights.
    B = np.random.default_rng(0).normal(size=(400, 4))
    return (B - B.mean(0)) / B.std(0)


@pytest.fixture(scope="module")
def X():
    return np.random.default_rng(1).normal(size=(3, 4))


@pytest.fixture(scope="module")
def linear():
    return wrap(lambda Z: Z @ W + 1.0)


def ranks(values):
    return np.argsort(np.argsort(-np.abs(values), axis=-1), axis=-1)


def test_registry():
    assert isinstance(get("lime", n_samples=10), Lime)


def test_continuous_recovers_linear_coefficients(linear, background, X):
    att = Lime(discretize_continuous=False, n_samples=N_SAMPLES).fit(linear, background).explain(X)
    coef = att.extras["coefficients"]
    assert coef.shape == (3, 4)
    # Signs and ranking of the weights (label 1 of as_map; label 0 would flip every sign).
    assert (np.sign(coef) == np.sign(W)).all()
    assert (ranks(coef) == ranks(W)).all()
    # Ridge (alpha=1) on ~N kernel-weighted samples shrinks only slightly.
    assert_allclose(coef, np.broadcast_to(W, coef.shape), rtol=0.05)
    # Values are the surrogate's terms β_i z_i: the linear model's Shapley values w_i (x_i - mean_i).
    assert_allclose(att.values, W * (X - background.mean(0)), rtol=0.05, atol=0.02)
    assert_allclose(att.base_values + att.values.sum(1), att.extras["local_prediction"], atol=1e-9)
    assert_allclose(att.extras["intercept"], att.base_values)
    assert np.all(att.extras["score"] > 0.99)


def test_discretized_reads_label_one(linear, background):
    # A row in the top quartile of every column: "same bin as x" raises f_t exactly where w_i > 0.
    X = np.full((1, 4), 2.0)
    att = Lime(discretize_continuous=True, n_samples=N_SAMPLES).fit(linear, background).explain(X)
    assert (np.sign(att.values) == np.sign(W)).all()
    assert (ranks(att.values) == ranks(W)).all()
    # Discretised, z(x) = 1: values are the coefficients themselves.
    assert_allclose(att.values, att.extras["coefficients"])
    score = att.extras["score"]
    assert score.shape == (1,) and 0 < score[0] <= 1


def test_lime_label_zero_is_negated(background):
    """The trap the explainer guards against: lime's regression label 0 holds -β."""
    from lime.lime_tabular import LimeTabularExplainer

    lime = LimeTabularExplainer(background, mode="regression", discretize_continuous=False, random_state=0)
    exp = lime.explain_instance(np.zeros(4), lambda Z: Z @ W, num_features=4, num_samples=300)
    label1, label0 = dict(exp.as_map()[1]), dict(exp.as_map()[0])
    assert all(np.sign(label1[i]) == np.sign(W[i]) and label0[i] == -label1[i] for i in range(4))


def test_same_seed_same_values_other_seed_differs(linear, background, X):
    explainer = Lime(n_samples=200, random_state=7).fit(linear, background)
    a, b = explainer.explain(X), explainer.explain(X)
    assert_allclose(a.values, b.values, rtol=0, atol=0)
    assert_allclose(a.values, Lime(n_samples=200, random_state=7).fit(linear, background).explain(X).values, atol=0)
    c = Lime(n_samples=200, random_state=8).fit(linear, background).explain(X)
    assert not np.allclose(a.values, c.values)


def test_explains_the_target_column_of_logits(background, X):
    # A binary classifier explained in logits: outputs [-z, z]; LIME must regress column t.
    adapter = wrap(lambda Z: Z @ W, task="classification", output="logit")
    explainer = Lime(discretize_continuous=False, n_samples=300).fit(adapter, background)
    one, zero = explainer.explain(X, target=1), explainer.explain(X, target=0)
    assert_allclose(zero.values, -one.values, atol=1e-9)
    assert (np.sign(one.extras["coefficients"]) == np.sign(W)).all()
    assert one.output == "logit" and zero.model_rows == 3 * 300  # (the first call also probed the model)


def test_groups_recover_the_linear_group_shapley_values(linear, background, X):
    # Presence of each group is LIME's interpretable representation; for a linear model the
    # fitted coefficient of group g estimates Σ_{j∈g} w_j (x_j − mean_j).
    # Each sample takes absent groups from one random background row, so the estimate is
    # noisy but unbiased: measured max error over 5 seeds 0.06-0.19 at 4,000 samples,
    # 0.05-0.09 at 20,000 and 0.02-0.07 at 80,000.
    groups = FeatureGroups.from_dict({"ab": [0, 1]}, ["x0", "x1", "x2", "x3"])
    per_column = W * (X - background.mean(0))
    expected = np.stack([per_column[:, list(c)].sum(1) for c in groups.indices], 1)
    result = Lime(n_samples=20000, random_state=3).fit(linear, background, groups=groups).explain(X)
    assert result.feature_names == ("ab", "x2", "x3") and result.values.shape == (3, 3)
    assert_allclose(result.values, expected, rtol=0, atol=0.12)
    assert (np.sign(result.values) == np.sign(expected))[np.abs(expected) > 0.15].all()
    assert result.model_rows == 3 * 20000  # one batched call for every row's samples
    errors = {
        n: np.mean([np.abs(Lime(n_samples=n, random_state=s).fit(linear, background, groups=groups).explain(X).values
                           - expected).max() for s in range(3)])
        for n in (1000, 30000)
    }
    assert errors[30000] < errors[1000] / 2


def test_groups_are_seeded(linear, background, X):
    groups = FeatureGroups.from_dict({"ab": [0, 1]}, ["x0", "x1", "x2", "x3"])
    first = Lime(n_samples=300, random_state=1).fit(linear, background, groups=groups).explain(X)
    again = Lime(n_samples=300, random_state=1).fit(linear, background, groups=groups).explain(X)
    other = Lime(n_samples=300, random_state=2).fit(linear, background, groups=groups).explain(X)
    assert_array_equal(first.values, again.values)
    assert not np.array_equal(first.values, other.values)


@pytest.mark.parametrize(
    "params",
    [{"n_samples": 1}, {"n_samples": 2.5}, {"kernel_width": 0.0}, {"discretizer": "entropy"},
     {"discretize_continuous": "yes"}],
)
def test_rejects_bad_parameters(linear, background, params):
    with pytest.raises(InvalidInputError):
        Lime(**params).fit(linear, background)
