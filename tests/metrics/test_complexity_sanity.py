"""Complexity metrics (closed forms, loop references) and the randomisation sanity check."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.stats import entropy
from sklearn.linear_model import LogisticRegression

from agnostic_xai import Attribution, metrics, wrap
from agnostic_xai.exceptions import IncompatibleModelError, InvalidInputError
from agnostic_xai.explainers.base import Explainer, Explanation
from agnostic_xai.metrics.complexity import complexity, sparseness
from agnostic_xai.metrics.sanity import parameterized_layers
from agnostic_xai.testing import make_mlp


def make_attr(values):
    values = np.asarray(values, dtype=np.float64)
    n, m = values.shape
    return Attribution(
        values=values, base_values=np.zeros(n), data=np.zeros((n, m)), target=np.zeros(n, dtype=int),
        feature_names=tuple(f"x{i}" for i in range(m)), method="test",
    )


# ---------------------------------------------------------------- complexity
def ref_gini(row):
    a = sorted(abs(v) for v in row)
    m, total = len(a), sum(a)
    if total == 0:
        return 0.0
    return sum((2 * (i + 1) - m - 1) * v for i, v in enumerate(a)) / (m * total)


@pytest.mark.parametrize("m", [1, 2, 7, 30])
def test_closed_form_extremes(m):
    one_hot = np.zeros((1, m))
    one_hot[0, m // 2] = -3.0
    uniform = np.full((1, m), 0.7)
    zero = np.zeros((1, m))
    assert sparseness(one_hot)[0] == pytest.approx((m - 1) / m, abs=1e-12)
    assert sparseness(uniform)[0] == pytest.approx(0.0, abs=1e-12)
    assert sparseness(zero)[0] == 0.0
    assert complexity(one_hot)[0] == 0.0
    assert complexity(uniform)[0] == pytest.approx(math.log(m), abs=1e-12)
    assert complexity(zero)[0] == pytest.approx(math.log(m), abs=1e-12)


@settings(max_examples=50, deadline=None)
@given(
    arrays(
        np.float64,
        st.tuples(st.integers(1, 4), st.integers(1, 10)),
        # No values so tiny that scaling them underflows to 0 (which changes the row).
        elements=st.floats(-1e3, 1e3, width=64).filter(lambda v: v == 0 or abs(v) > 1e-200),
    ),
    st.floats(1e-3, 1e3),
)
def test_complexity_matches_references_and_is_scale_invariant(values, scale):
    expected_gini = [ref_gini(row) for row in values]
    expected_entropy = [
        entropy(np.abs(row)) if np.abs(row).sum() > 0 else math.log(values.shape[1]) for row in values
    ]
    np.testing.assert_allclose(sparseness(values), expected_gini, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(complexity(values), expected_entropy, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(sparseness(scale * values), sparseness(values), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(complexity(scale * values), complexity(values), rtol=1e-9, atol=1e-12)
    assert np.all(np.isfinite(sparseness(values))) and np.all(np.isfinite(complexity(values)))


def test_complexity_classes_need_no_model():
    values = np.array([[1.0, 0.0, 0.0, 0.0], [1.0, 1.0, 1.0, 1.0]])
    result = metrics.get("sparseness")(make_attr(values))
    np.testing.assert_allclose(result.scores, [0.75, 0.0], atol=1e-12)
    assert result.family == "complexity" and result.higher_is_better and result.model_rows == 0
    result = metrics.get("complexity")(make_attr(values))
    np.testing.assert_allclose(result.scores, [0.0, math.log(4)], atol=1e-12)
    assert not result.higher_is_better
    with pytest.raises(InvalidInputError):
        sparseness(np.array([[np.nan, 1.0]]))
    with pytest.raises(InvalidInputError):
        complexity(np.ones(3))


# ---------------------------------------------------------------- randomisation sanity
class Saliency(Explainer):
    name = "test_saliency"
    requires_gradients = True

    def _explain(self, X, target):
        return Explanation(self.adapter_.gradient(X, target), 0.0)


class Identity(Explainer):
    """Ignores the model entirely: the explanation is the row itself."""

    name = "test_identity"

    def _explain(self, X, target):
        return Explanation(np.array(X), 0.0)


D = 8
RNG = np.random.default_rng(0)
X = RNG.normal(size=(20, D))
BACKGROUND = RNG.normal(size=(10, D))


@pytest.fixture(scope="module")
def model():
    return make_mlp(D, 3, (32, 32), seed=0)


def test_a_model_dependent_explainer_changes_and_the_users_model_does_not(model):
    adapter = wrap(model, output="logit")
    before = {k: v.clone() for k, v in model.state_dict().items()}
    model.train()
    rng_state = torch.random.get_rng_state()
    explainer = Saliency().fit(adapter, BACKGROUND)
    attribution = explainer.explain(X)
    result = metrics.get("randomization_sanity", random_state=3)(attribution, explainer=explainer)
    assert result.value < 0.5
    assert result.extras["layers"] == ["4", "2", "0"]
    assert result.extras["similarity_by_step"].shape == (3, X.shape[0])
    np.testing.assert_array_equal(result.scores, result.extras["similarity_by_step"][-1])
    assert result.extras["model_rows_randomized"] > 0
    for key, value in model.state_dict().items():
        assert torch.equal(value, before[key]), key
    assert model.training  # training flags restored, module not replaced
    assert torch.equal(torch.random.get_rng_state(), rng_state)
    again = metrics.get("randomization_sanity", random_state=3)(attribution, explainer=explainer)
    np.testing.assert_array_equal(again.scores, result.scores)
    model.eval()


def test_an_explainer_that_ignores_the_model_passes_unchanged(model):
    adapter = wrap(model)
    explainer = Identity().fit(adapter, BACKGROUND)
    result = metrics.get("randomization_sanity")(explainer.explain(X), adapter, explainer=explainer)
    np.testing.assert_allclose(result.extras["similarity_by_step"], 1.0, atol=1e-12)
    assert result.family == "sanity" and not result.higher_is_better


def test_layers_are_listed_output_first(model):
    names = [name for name, _ in parameterized_layers(model)]
    assert names == ["4", "2", "0"]


def test_non_torch_models_are_refused():
    y = (X[:, 0] > 0).astype(int)
    adapter = wrap(LogisticRegression().fit(X, y))
    explainer = Identity().fit(adapter, BACKGROUND)
    with pytest.raises(IncompatibleModelError, match="torch"):
        metrics.get("randomization_sanity")(explainer.explain(X), adapter, explainer=explainer)
    with pytest.raises(InvalidInputError, match="explainer"):
        metrics.get("randomization_sanity")(explainer.explain(X), adapter)
