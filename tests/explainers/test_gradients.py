"""Gradient explainers against closed forms, captum, and their own documented properties."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from captum.attr import InputXGradient as CaptumInputXGradient
from captum.attr import IntegratedGradients as CaptumIntegratedGradients
from captum.attr import Saliency as CaptumSaliency
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.linear_model import LogisticRegression
from torch import nn

from agnostic_xai import explainers, wrap
from agnostic_xai.exceptions import IncompatibleModelError, InvalidInputError, ModelOutputError, UnknownNameError
from agnostic_xai.explainers.gradients import (
    ExpectedGradients,
    InputXGradient,
    IntegratedGradients,
    Saliency,
    SmoothGrad,
    quadrature,
)
from agnostic_xai.groups import FeatureGroups
from agnostic_xai.testing import AdditiveModel, linear_shapley, make_mlp

# captum warns that the inputs it was given did not require gradients.
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning:captum")

GRADIENT_METHODS = ["saliency", "input_x_gradient", "integrated_gradients", "smoothgrad", "expected_gradients"]


@pytest.fixture
def data(rng):
    X = rng.normal(size=(6, 5))
    background = rng.normal(loc=0.3, size=(40, 5))
    return X, background


def smooth_mlp(d: int, k: int, seed: int) -> nn.Sequential:
    """A float64 tanh MLP: smooth along any path, so quadrature converges fast."""
    relu = make_mlp(d, k, (16, 16), seed=seed, dtype=torch.float64)
    return nn.Sequential(*[nn.Tanh() if isinstance(layer, nn.ReLU) else layer for layer in relu])


def groups5() -> FeatureGroups:
    return FeatureGroups(names=("a", "b", "c"), indices=((0, 3), (1,), (2, 4)), feature_names=tuple("vwxyz"))


# ---------------------------------------------------------------------- quadrature
@pytest.mark.parametrize("method", ["gauss_legendre", "trapezoid", "riemann_right", "riemann_middle"])
def test_quadrature_weights_sum_to_one_and_integrate_a_line(method):
    alphas, weights = quadrature(method, 7)
    assert alphas.min() >= 0 and alphas.max() <= 1
    assert_allclose(weights.sum(), 1.0, rtol=1e-14)
    if method != "riemann_right":  # right Riemann sums are biased even for a line
        assert_allclose(weights @ alphas, 0.5, rtol=1e-14)


# ---------------------------------------------------------------------- integrated gradients
def test_integrated_gradients_of_linear_model_is_its_shapley_value(linear_setup):
    model, weights, X, background = linear_setup
    adapter = wrap(model)
    for n_steps in (1, 50):
        attribution = IntegratedGradients(n_steps=n_steps).fit(adapter, background).explain(X)
        assert_allclose(attribution.values, linear_shapley(weights, X, background), atol=1e-10)
        assert_allclose(attribution.base_values, background.mean(axis=0) @ weights + 0.3, atol=1e-12)
        assert np.abs(attribution.extras["convergence_delta"]).max() < 1e-12
        assert attribution.output == "raw"


def test_integrated_gradients_with_a_given_baseline(linear_setup):
    model, weights, X, background = linear_setup
    baseline = np.linspace(-1, 1, X.shape[1])
    attribution = IntegratedGradients(baseline=baseline).fit(model, background).explain(X)
    assert_allclose(attribution.values, weights * (X - baseline), atol=1e-10)
    assert_allclose(attribution.base_values, baseline @ weights + 0.3, atol=1e-12)


def test_integrated_gradients_completeness_smooth_mlp(data):
    # Gauss-Legendre is spectrally accurate on a smooth path: 16 steps reach rounding error,
    # while the trapezoid rule still errs by about 1e-4 of f(x) - f(x') at 64 steps, and
    # its error falls like 1/n_steps^2.
    X, background = data
    adapter = wrap(smooth_mlp(5, 3, seed=0))
    gl = IntegratedGradients(n_steps=16).fit(adapter, background).explain(X)
    change = np.abs(adapter.predict(X)[np.arange(len(X)), gl.target] - gl.base_values)
    assert (np.abs(gl.extras["convergence_delta"]) / change).max() < 1e-10
    trapezoid_errors = []
    for n_steps in (16, 64):
        trap = IntegratedGradients(n_steps=n_steps, method="trapezoid").fit(adapter, background).explain(X)
        trapezoid_errors.append(np.abs(trap.extras["convergence_delta"]).max())
    assert 1e-8 < trapezoid_errors[1] < 1e-3 * change.max()
    assert trapezoid_errors[0] / trapezoid_errors[1] > 8


def test_integrated_gradients_completeness_relu_mlp(data, mlp_classifier):
    # ReLU kinks on the path make the integrand non-smooth: every rule converges at low order
    # (the gap falls roughly like 1/n_steps). Relative to the largest change in probability it
    # is below 1e-2 at 64 Gauss-Legendre steps and below 1e-3 at 1024.
    X, background = data
    adapter = wrap(mlp_classifier)
    gaps = {}
    for n_steps in (64, 1024):
        attribution = IntegratedGradients(n_steps=n_steps).fit(adapter, background).explain(X)
        change = adapter.predict(X)[np.arange(len(X)), attribution.target] - attribution.base_values
        gaps[n_steps] = np.abs(attribution.extras["convergence_delta"]).max() / np.abs(change).max()
    assert gaps[64] < 1e-2
    assert gaps[1024] < 1e-3
    # The reported delta is the additivity gap of the record.
    assert_allclose(np.abs(attribution.extras["convergence_delta"]), attribution.additivity_gap(adapter), atol=1e-15)


@pytest.mark.parametrize(
    ("ours", "theirs", "factor"),
    [
        ("gauss_legendre", "gausslegendre", 1.0),
        ("riemann_right", "riemann_right", 1.0),
        ("riemann_middle", "riemann_middle", 1.0),
        # captum's trapezoid weights sum to (n - 1) / n instead of 1.
        ("trapezoid", "riemann_trapezoid", 19 / 20),
    ],
)
def test_integrated_gradients_matches_captum(data, mlp_classifier, ours, theirs, factor):
    X, background = data
    adapter = wrap(mlp_classifier, output="probability")
    attribution = IntegratedGradients(n_steps=20, method=ours).fit(adapter, background).explain(X, target=2)
    reference = CaptumIntegratedGradients(adapter.torch_output).attribute(
        torch.as_tensor(X),
        baselines=torch.as_tensor(background.mean(axis=0, keepdims=True)),
        target=2,
        n_steps=20,
        method=theirs,
    )
    # captum casts its quadrature weights to float32, so agreement stops at about 1e-7.
    assert_allclose(factor * attribution.values, reference.detach().numpy(), rtol=1e-6, atol=1e-12)


def test_integrated_gradients_groups_are_column_sums(data, mlp_classifier):
    X, background = data
    columns = IntegratedGradients().fit(mlp_classifier, background).explain(X)
    grouped = IntegratedGradients().fit(mlp_classifier, background, groups=groups5()).explain(X)
    assert grouped.feature_names == ("a", "b", "c")
    assert_allclose(grouped.values, columns.values @ groups5().matrix.T, atol=1e-15)
    assert_allclose(grouped.extras["convergence_delta"], columns.extras["convergence_delta"], atol=1e-15)


def test_integrated_gradients_counts_model_rows_and_ignores_batch_size(data, mlp_classifier):
    X, background = data
    big = IntegratedGradients(n_steps=10).fit(wrap(mlp_classifier), background).explain(X, target=0)
    small = IntegratedGradients(n_steps=10).fit(wrap(mlp_classifier, batch_size=7), background).explain(X, target=0)
    assert big.model_rows == small.model_rows == 6 * 10 + 6 + 1
    assert_allclose(small.values, big.values, rtol=1e-12, atol=1e-15)


def test_float32_model_gives_float64_values_close_to_float64_model(data):
    X, background = data
    model64 = make_mlp(5, 3, (16,), seed=2, dtype=torch.float64)
    model32 = copy.deepcopy(model64).float()
    v64 = IntegratedGradients().fit(model64, background).explain(X, target=1).values
    v32 = IntegratedGradients().fit(model32, background).explain(X, target=1).values
    assert v32.dtype == np.float64
    assert_allclose(v32, v64, rtol=1e-4, atol=1e-6)


# ---------------------------------------------------------------------- local gradients
@pytest.mark.parametrize("absolute", [False, True])
def test_saliency_matches_captum(data, mlp_classifier, absolute):
    X, background = data
    adapter = wrap(mlp_classifier, output="logit")
    attribution = Saliency(abs=absolute).fit(adapter, background).explain(X, target=1)
    reference = CaptumSaliency(mlp_classifier).attribute(torch.as_tensor(X), target=1, abs=absolute)
    assert_allclose(attribution.values, reference.numpy(), rtol=1e-12, atol=1e-15)
    assert_array_equal(attribution.base_values, 0.0)
    assert (attribution.values >= 0).all() == absolute


def test_input_x_gradient_matches_captum_and_sums_over_groups(data, mlp_classifier):
    X, background = data
    adapter = wrap(mlp_classifier)
    attribution = InputXGradient().fit(adapter, background).explain(X, target=0)
    reference = CaptumInputXGradient(adapter.torch_output).attribute(torch.as_tensor(X), target=0)
    assert_allclose(attribution.values, reference.detach().numpy(), rtol=1e-12, atol=1e-15)
    grouped = InputXGradient().fit(adapter, background, groups=groups5()).explain(X, target=0)
    assert_allclose(grouped.values, attribution.values @ groups5().matrix.T, atol=1e-15)


def test_input_x_gradient_of_linear_model(linear_setup):
    model, weights, X, background = linear_setup
    assert_allclose(InputXGradient().fit(model, background).explain(X).values, weights * X, atol=1e-12)


# ---------------------------------------------------------------------- SmoothGrad
def test_smoothgrad_is_seeded(data, mlp_classifier):
    X, background = data
    first = SmoothGrad(n_samples=10).fit(mlp_classifier, background).explain(X)
    again = SmoothGrad(n_samples=10).fit(mlp_classifier, background).explain(X)
    other = SmoothGrad(n_samples=10, random_state=1).fit(mlp_classifier, background).explain(X)
    assert_array_equal(first.values, again.values)
    assert np.abs(first.values - other.values).max() > 1e-6


def test_smoothgrad_with_tiny_noise_is_the_gradient(data, mlp_classifier):
    X, background = data
    plain = Saliency().fit(mlp_classifier, background).explain(X, target=1).values
    smooth = SmoothGrad(n_samples=200, noise=1e-6).fit(mlp_classifier, background).explain(X, target=1).values
    assert_allclose(smooth, plain, atol=1e-6 * np.abs(plain).max())


def test_smoothgrad_matches_gaussian_smoothing_of_additive_model(rng):
    # Columns of AdditiveModel(4): sin, x^2/2, tanh(2x), x, with derivatives cos(x), x, ., 1.
    # Under N(0, s^2) noise: E cos(x + e) = cos(x) exp(-s^2/2), E (x + e) = x, E 1 = 1.
    X = rng.normal(size=(5, 4))
    background = rng.normal(size=(500, 4))
    explainer = SmoothGrad(n_samples=400, noise=0.8).fit(AdditiveModel(4), background)
    attribution = explainer.explain(X)
    s = 0.8 * background.std(axis=0)
    expected = {0: np.cos(X[:, 0]) * np.exp(-(s[0] ** 2) / 2), 1: X[:, 1], 3: np.ones(len(X))}
    error = attribution.extras["standard_error"]
    for column, value in expected.items():
        assert (np.abs(attribution.values[:, column] - value) <= 5 * error[:, column] + 1e-12).all()
    assert_allclose(error[:, 1], s[1] / np.sqrt(400), rtol=0.15)  # the std of x + e is s
    assert_array_equal(error[:, 3], 0.0)
    # The smoothing is visible: cos(x) itself lies far outside the error bars.
    assert (np.abs(attribution.values[:, 0] - np.cos(X[:, 0])) > 5 * error[:, 0]).any()


def test_smoothgrad_does_not_depend_on_batch_size(data, mlp_classifier):
    X, background = data
    big = SmoothGrad(n_samples=20).fit(wrap(mlp_classifier), background).explain(X)
    small = SmoothGrad(n_samples=20).fit(wrap(mlp_classifier, batch_size=7), background).explain(X)
    assert_allclose(small.values, big.values, rtol=1e-12, atol=1e-15)


# ---------------------------------------------------------------------- expected gradients
def test_expected_gradients_of_linear_model_approach_shapley(linear_setup):
    # For f(x) = w.x + c each draw contributes w_i (x_i - b_i): the estimate is w (x - mean of
    # the sampled b), whose standard error is |w_i| std(b_i) / sqrt(n_samples).
    model, weights, X, background = linear_setup
    n_samples = 2000
    attribution = ExpectedGradients(n_samples=n_samples).fit(model, background).explain(X)
    exact = linear_shapley(weights, X, background)
    error = attribution.extras["standard_error"]
    assert_allclose(
        error, np.broadcast_to(np.abs(weights) * background.std(axis=0) / np.sqrt(n_samples), X.shape), rtol=0.1
    )
    assert (np.abs(attribution.values - exact) <= 5 * error).all()
    assert np.abs(attribution.values - exact).max() < 0.1
    assert_allclose(attribution.base_values, background.mean(axis=0) @ weights + 0.3, atol=1e-12)


def test_expected_gradients_standard_error_is_the_spread_over_seeds(data, mlp_classifier):
    X, background = data
    adapter = wrap(mlp_classifier)
    runs = [
        ExpectedGradients(n_samples=100, random_state=seed).fit(adapter, background).explain(X[:3], target=0)
        for seed in range(30)
    ]
    spread = np.std([run.values for run in runs], axis=0, ddof=1)
    reported = np.mean([run.extras["standard_error"] for run in runs], axis=0)
    ratio = spread.mean() / reported.mean()
    assert 0.8 < ratio < 1.25, ratio
    # Additive in expectation: the gap is within a few standard errors of its sum.
    gaps = np.array([run.additivity_gap(adapter) for run in runs])
    sum_errors = np.array([run.extras["sum_standard_error"] for run in runs])
    assert np.mean(gaps <= 3 * sum_errors) > 0.95


def test_expected_gradients_is_seeded_and_blocking_free(data, mlp_classifier):
    X, background = data
    first = ExpectedGradients(n_samples=30).fit(wrap(mlp_classifier), background).explain(X)
    blocked = ExpectedGradients(n_samples=30).fit(wrap(mlp_classifier, batch_size=7), background).explain(X)
    other = ExpectedGradients(n_samples=30, random_state=3).fit(wrap(mlp_classifier), background).explain(X)
    assert_allclose(blocked.values, first.values, rtol=1e-12, atol=1e-15)
    assert np.abs(first.values - other.values).max() > 1e-6
    assert first.model_rows == 6 + 6 * 30 + 40  # target resolution, gradients, background outputs


def test_expected_gradients_groups_are_column_sums(data, mlp_classifier):
    X, background = data
    columns = ExpectedGradients(n_samples=30).fit(mlp_classifier, background).explain(X)
    grouped = ExpectedGradients(n_samples=30).fit(mlp_classifier, background, groups=groups5()).explain(X)
    assert_allclose(grouped.values, columns.values @ groups5().matrix.T, atol=1e-14)
    assert grouped.extras["standard_error"].shape == (6, 3)
    assert_allclose(grouped.extras["sum_standard_error"], columns.extras["sum_standard_error"], rtol=1e-12)


# ---------------------------------------------------------------------- contracts and refusals
@pytest.mark.parametrize("name", ["saliency", "smoothgrad"])
def test_non_additive_gradients_refuse_groups(data, mlp_classifier, name):
    _, background = data
    with pytest.raises(IncompatibleModelError, match="feature groups"):
        explainers.get(name).fit(mlp_classifier, background, groups=groups5())


@pytest.mark.parametrize("name", GRADIENT_METHODS)
def test_sklearn_model_is_refused_at_fit(data, name):
    X, background = data
    model = LogisticRegression().fit(X.repeat(5, axis=0), np.arange(30) % 2)
    with pytest.raises(IncompatibleModelError, match="gradients"):
        explainers.get(name).fit(model, background)


@pytest.mark.parametrize("name", GRADIENT_METHODS)
def test_registered_and_leaves_model_flags_alone(data, name):
    X, background = data
    model = nn.Sequential(
        nn.Linear(5, 8, dtype=torch.float64), nn.Dropout(0.5), nn.ReLU(), nn.Linear(8, 2, dtype=torch.float64)
    )
    model.train()
    explainer = explainers.get(name)
    assert explainer.requires_gradients
    first = explainer.fit(model, background).explain(X).values
    assert model.training  # restored
    assert_array_equal(explainer.explain(X).values, first)  # dropout off while explaining
    assert first.dtype == np.float64 and first.shape == (6, 5)


@pytest.mark.parametrize(
    ("explainer", "error"),
    [
        (IntegratedGradients(n_steps=0), InvalidInputError),
        (IntegratedGradients(n_steps=1, method="trapezoid"), InvalidInputError),
        (IntegratedGradients(method="simpson"), UnknownNameError),
        (IntegratedGradients(baseline=[0.0, 1.0]), InvalidInputError),
        (IntegratedGradients(baseline=[0.0, 1.0, np.nan, 0.0, 0.0]), InvalidInputError),
        (SmoothGrad(noise=-0.1), InvalidInputError),
        (SmoothGrad(n_samples=1), InvalidInputError),
        (SmoothGrad(n_samples=2.5), InvalidInputError),
        (ExpectedGradients(n_samples=0), InvalidInputError),
        (Saliency(abs="yes"), InvalidInputError),
    ],
)
def test_bad_parameters_are_refused_at_fit(data, mlp_classifier, explainer, error):
    _, background = data
    with pytest.raises(error):
        explainer.fit(mlp_classifier, background)


class _Kink(nn.Module):
    """sqrt(|x_0|): finite everywhere, its gradient infinite at x_0 = 0."""

    in_features = 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, :1].abs().sqrt()


def test_non_finite_gradients_are_an_error(rng):
    background = rng.normal(size=(10, 2))
    with pytest.raises(ModelOutputError, match="NaN or infinite for 1 of 2 rows"):
        Saliency().fit(_Kink(), background).explain(np.array([[0.0, 1.0], [1.0, 1.0]]))
