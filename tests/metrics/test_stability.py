"""Stability metrics, with tiny explainers defined here (independent of the project's explainers)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from scipy.stats import spearmanr

from agnostic_xai import metrics, wrap
from agnostic_xai._params import child_seeds
from agnostic_xai.exceptions import InvalidInputError, NotFittedError
from agnostic_xai.explainers.base import Explainer, Explanation
from agnostic_xai.metrics.stability import linf_perturbations, max_sensitivity, relative_input_stability
from agnostic_xai.testing import make_mlp


class GradientTimesInput(Explainer):
    name = "test_gxi"
    requires_gradients = True

    def _explain(self, X, target):
        return Explanation(self.adapter_.gradient(X, target) * X, 0.0)


class Constant(Explainer):
    name = "test_constant"

    def _explain(self, X, target):
        return Explanation(np.ones((X.shape[0], self.n_attributed_)), 0.0)


class Noisy(Explainer):
    """|x| plus seeded noise: stochastic, with a known amount of seed dependence."""

    name = "test_noisy"
    is_stochastic = True

    def __init__(self, scale=0.5, random_state=0):
        self.scale = scale
        self.random_state = random_state

    def _explain(self, X, target):
        return Explanation(np.abs(X) + self.scale * self._rng().normal(size=X.shape), 0.0)


D = 6
RNG = np.random.default_rng(0)
X = RNG.normal(size=(7, D))
BACKGROUND = RNG.normal(size=(20, D)) * np.array([1.0, 2.0, 0.5, 1.0, 3.0, 1.0])


@pytest.fixture(scope="module")
def model():
    return make_mlp(D, 2, (16,), seed=1, dtype=torch.float64)


@pytest.fixture(scope="module")
def adapter(model):
    return wrap(model, output="logit")


@pytest.fixture(scope="module")
def gxi(adapter):
    explainer = GradientTimesInput().fit(adapter, BACKGROUND)
    return explainer, explainer.explain(X)


def test_perturbations_stay_in_the_box():
    radius = np.array([0.1, 0.0, 2.0, 0.5, 0.5, 0.5])
    Xp = linf_perturbations(X, radius, 4, random_state=3)
    assert Xp.shape == (4, *X.shape)
    assert np.all(np.abs(Xp - X) <= radius)
    np.testing.assert_array_equal(Xp[:, :, 1], np.broadcast_to(X[:, 1], (4, X.shape[0])))
    np.testing.assert_array_equal(Xp, linf_perturbations(X, radius, 4, random_state=3))


def test_constant_explainer_is_perfectly_stable(adapter):
    explainer = Constant().fit(adapter, BACKGROUND)
    attribution = explainer.explain(X)
    for name in ("max_sensitivity", "relative_input_stability"):
        result = metrics.get(name)(attribution, adapter, BACKGROUND, explainer=explainer)
        np.testing.assert_array_equal(result.scores, 0.0)


@pytest.mark.filterwarnings("ignore:Input Tensor 0 did not already require gradients")
def test_max_sensitivity_matches_captum(adapter, model, gxi):
    from captum.attr import InputXGradient
    from captum.metrics import sensitivity_max

    explainer, attribution = gxi
    p, n = 5, X.shape[0]
    result = metrics.get("max_sensitivity", n_perturbations=p, radius=0.05, random_state=11)(
        attribution, adapter, BACKGROUND, explainer=explainer
    )
    # The same perturbations, in captum's order (each example repeated p times in a row).
    Xp = linf_perturbations(X, 0.05 * BACKGROUND.std(axis=0), p, random_state=11)
    expanded = torch.as_tensor(Xp.transpose(1, 0, 2).reshape(n * p, D).copy())
    captum_scores = sensitivity_max(
        InputXGradient(model).attribute,
        torch.as_tensor(X.copy()),
        perturb_func=lambda inputs, radius: expanded,
        n_perturb_samples=p,
        target=torch.as_tensor(attribution.target.copy()),
    )
    np.testing.assert_allclose(result.scores, captum_scores.numpy(), rtol=1e-9, atol=1e-12)
    assert result.extras["explainer_model_rows"] == n * p
    assert result.model_rows == n * p  # the explainer's adapter is the metric's adapter


@pytest.mark.parametrize("norm, order", [("l2", 2), ("l1", 1), ("linf", np.inf)])
def test_max_sensitivity_and_ris_match_loop_reference(adapter, gxi, norm, order):
    explainer, attribution = gxi
    p = 4
    kwargs = {"n_perturbations": p, "radius": 0.1, "norm": norm, "random_state": 5}
    unnormalised = metrics.get("max_sensitivity", normalize=False, **kwargs)(
        attribution, adapter, BACKGROUND, explainer=explainer
    ).scores
    ris = metrics.get("relative_input_stability", eps=1e-6, form="elementwise", **kwargs)(
        attribution, adapter, BACKGROUND, explainer=explainer
    ).scores
    Xp = linf_perturbations(X, 0.1 * BACKGROUND.std(axis=0), p, random_state=5)
    phi = attribution.values
    for row in range(X.shape[0]):
        sens, rel = [], []
        for q in range(p):
            phi_q = adapter.gradient(Xp[q, row][None], attribution.target[row])[0] * Xp[q, row]
            sens.append(np.linalg.norm(phi_q - phi[row], ord=order))
            num = np.linalg.norm([(a - b) / (b if b != 0 else 1e-6) for a, b in zip(phi_q, phi[row])], ord=order)
            den = np.linalg.norm([(a - b) / (b if b != 0 else 1e-6) for a, b in zip(Xp[q, row], X[row])], ord=order)
            rel.append(num / max(den, 1e-6))
        assert unnormalised[row] == pytest.approx(max(sens), rel=1e-9)
        assert ris[row] == pytest.approx(max(rel), rel=1e-9)


def test_pure_functions_edge_cases():
    values = np.zeros((2, 3))
    perturbed = np.ones((4, 2, 3))
    # A zero explanation is not normalised (divided by 1, as captum does).
    np.testing.assert_allclose(max_sensitivity(values, perturbed), np.sqrt(3))
    with pytest.raises(InvalidInputError):
        max_sensitivity(values, np.ones((4, 2, 2)))
    with pytest.raises(InvalidInputError):
        max_sensitivity(values, perturbed, norm="fro")
    with pytest.raises(InvalidInputError):
        relative_input_stability(np.ones((2, 3)), values, np.ones((4, 2, 3)), perturbed, eps=0.0)
    # Identical inputs: the input change is floored at eps, not divided by zero.
    same = relative_input_stability(
        np.ones((2, 3)), np.ones((2, 3)), np.ones((4, 2, 3)), 2 * np.ones((4, 2, 3)), form="elementwise"
    )
    np.testing.assert_allclose(same, np.sqrt(3) / 1e-6)


def test_stability_argument_errors(adapter, gxi):
    explainer, attribution = gxi
    metric = metrics.get("max_sensitivity")
    with pytest.raises(InvalidInputError, match="explainer"):
        metric(attribution, adapter, BACKGROUND)
    with pytest.raises(NotFittedError):
        metric(attribution, adapter, BACKGROUND, explainer=GradientTimesInput())
    with pytest.raises(InvalidInputError, match="produced by"):
        metric(attribution, adapter, BACKGROUND, explainer=Constant().fit(adapter, BACKGROUND))
    with pytest.raises(InvalidInputError):
        metrics.get("max_sensitivity", n_perturbations=0)(attribution, adapter, BACKGROUND, explainer=explainer)
    with pytest.raises(InvalidInputError):
        metrics.get("relative_input_stability", radius=-1.0)(attribution, adapter, BACKGROUND, explainer=explainer)


# ---------------------------------------------------------------- seed stability
def test_deterministic_explainers_are_not_rerun(adapter, gxi):
    explainer, attribution = gxi
    before = adapter.rows_evaluated
    result = metrics.get("seed_stability")(attribution, explainer=explainer)
    np.testing.assert_array_equal(result.scores, 1.0)
    np.testing.assert_array_equal(result.extras["spearman"], 1.0)
    assert adapter.rows_evaluated == before


def test_seed_stability_matches_loop_reference(adapter):
    explainer = Noisy(scale=0.5, random_state=7).fit(adapter, BACKGROUND)
    attribution = explainer.explain(X)
    result = metrics.get("seed_stability", n_seeds=3, k=3, random_state=4)(attribution, explainer=explainer)
    runs = [Noisy(scale=0.5, random_state=s).fit(adapter, BACKGROUND).explain(X).values for s in child_seeds(4, 3)]
    for row in range(X.shape[0]):
        jac, rho = [], []
        for a, b in itertools.combinations(runs, 2):
            top = lambda r: set(sorted(range(D), key=lambda i: (-abs(r[row, i]), i))[:3])  # noqa: E731
            jac.append(len(top(a) & top(b)) / len(top(a) | top(b)))
            rho.append(spearmanr(np.abs(a[row]), np.abs(b[row])).statistic)
        assert result.scores[row] == pytest.approx(np.mean(jac), abs=1e-12)
        assert result.extras["spearman"][row] == pytest.approx(np.mean(rho), abs=1e-12)
    assert 0 < result.value < 1
    assert explainer.random_state == 7  # the caller's explainer is not re-seeded


def test_seed_stability_of_a_noiseless_stochastic_explainer(adapter):
    explainer = Noisy(scale=0.0).fit(adapter, BACKGROUND)
    result = metrics.get("seed_stability", k=2)(explainer.explain(X), explainer=explainer)
    np.testing.assert_array_equal(result.scores, 1.0)
    with pytest.raises(InvalidInputError):
        metrics.get("seed_stability", n_seeds=1)(explainer.explain(X), explainer=explainer)
    with pytest.raises(InvalidInputError):
        metrics.get("seed_stability", k=D + 1)(explainer.explain(X), explainer=explainer)


def test_metadata():
    assert set(metrics.available("stability")) == {
        "max_sensitivity", "relative_input_stability", "relative_output_stability", "seed_stability"
    }
    for name in ("max_sensitivity", "relative_input_stability"):
        cls = metrics.get_class(name)
        assert cls.requires_explainer and not cls.higher_is_better
    assert metrics.get_class("seed_stability").higher_is_better
