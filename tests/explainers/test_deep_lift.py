"""DeepLIFT against captum, closed forms and summation-to-delta, on every supported head."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from captum.attr import DeepLift as CaptumDeepLift
from numpy.testing import assert_allclose
from sklearn.linear_model import LogisticRegression
from torch import nn

from agnostic_xai import explainers, wrap
from agnostic_xai.exceptions import IncompatibleModelError, InvalidInputError
from agnostic_xai.explainers.deep_lift import DeepLift
from agnostic_xai.explainers.gradients import IntegratedGradients
from agnostic_xai.groups import FeatureGroups
from agnostic_xai.testing import LinearModel, Standardize, make_mlp, seeded

# captum warns that it sets hooks on the model, and that inputs did not require gradients.
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning:captum")

F64 = torch.float64


@pytest.fixture
def data(rng):
    X = rng.normal(size=(6, 5))
    background = rng.normal(loc=0.3, size=(40, 5))
    return X, background


def mlp(activation: type[nn.Module] = nn.ReLU, outputs: int = 3, seed: int = 1, **kwargs) -> nn.Sequential:
    """A seeded float64 MLP 5 -> 16 -> 16 -> outputs with the given activation."""
    base = make_mlp(5, outputs, (16, 16), seed=seed, dtype=F64)
    return nn.Sequential(*[activation(**kwargs) if isinstance(layer, nn.ReLU) else layer for layer in base])


def captum_values(model: nn.Module, X: np.ndarray, baseline: np.ndarray, target: np.ndarray) -> np.ndarray:
    attribution = CaptumDeepLift(model).attribute(
        torch.tensor(X), baselines=torch.tensor(baseline), target=torch.tensor(target)
    )
    return attribution.detach().numpy()


# ---------------------------------------------------------------------- against captum
@pytest.mark.parametrize(
    ("activation", "kwargs"),
    [
        (nn.ReLU, {}),
        (nn.Tanh, {}),
        (nn.Sigmoid, {}),
        (nn.ELU, {}),
        (nn.LeakyReLU, {"negative_slope": 0.1}),
        (nn.Softplus, {}),
    ],
)
def test_matches_captum_on_logits(data, activation, kwargs):
    X, background = data
    model = mlp(activation, **kwargs)
    attribution = DeepLift().fit(wrap(model, output="logit"), background).explain(X)
    reference = captum_values(model, X, background.mean(axis=0, keepdims=True), attribution.target)
    assert_allclose(attribution.values, reference, rtol=1e-9, atol=1e-12)


def test_matches_captum_with_standardize_and_given_baseline(data):
    X, background = data
    model = nn.Sequential(Standardize(background.mean(axis=0), background.std(axis=0), dtype=F64), *mlp())
    baseline = np.full(5, -0.5)
    attribution = DeepLift(baseline=baseline).fit(wrap(model, output="logit"), background).explain(X, target=1)
    reference = captum_values(model, X, baseline[None, :], np.ones(6, dtype=np.int64))
    assert_allclose(attribution.values, reference, rtol=1e-9, atol=1e-12)
    assert_allclose(attribution.base_values, model(torch.as_tensor(baseline[None, :]))[0, 1].item(), rtol=1e-12)


def test_softmax_head_is_captum_direction_with_exact_summation(data):
    # captum rescales the softmax elementwise and subtracts the mean multiplier over the whole
    # batch; explained one row at a time its values are ours times (dz_t - mean(dz)) / dz_t,
    # and they do not add up to the change in probability. Ours do.
    X, background = data
    logits = mlp()
    model = nn.Sequential(*logits, nn.Softmax(dim=1))
    attribution = DeepLift().fit(model, background).explain(X)
    baseline = background.mean(axis=0, keepdims=True)
    with torch.no_grad():
        dz = (logits(torch.as_tensor(X)) - logits(torch.as_tensor(baseline))).numpy()
    t = attribution.target
    factor = (dz[np.arange(6), t] - dz.mean(axis=1)) / dz[np.arange(6), t]
    captum_rows = np.vstack([captum_values(model, X[i : i + 1], baseline, t[i : i + 1]) for i in range(6)])
    assert_allclose(captum_rows, factor[:, None] * attribution.values, rtol=1e-9, atol=1e-14)
    change = wrap(model).predict(X)[np.arange(6), t] - attribution.base_values
    assert_allclose(attribution.values.sum(axis=1), change, atol=1e-14)
    assert np.abs(captum_rows.sum(axis=1) - change).max() > 1e-4


# ---------------------------------------------------------------------- summation to delta
def binary_single(head: list[nn.Module]) -> nn.Sequential:
    return nn.Sequential(*mlp(outputs=1, seed=4), *head)


@pytest.mark.parametrize(
    ("make_model", "output"),
    [
        (lambda: mlp(), "logit"),
        (lambda: mlp(), "probability"),  # softmax applied by the adapter
        (lambda: nn.Sequential(*mlp(), nn.Softmax(dim=-1)), "probability"),
        (lambda: nn.Sequential(*mlp(), nn.LogSoftmax(dim=1)), "probability"),
        (lambda: binary_single([]), "logit"),  # presented as [-z, z]
        (lambda: binary_single([]), "probability"),  # sigmoid applied by the adapter
        (lambda: binary_single([nn.Sigmoid()]), "probability"),
        (lambda: binary_single([nn.LogSigmoid()]), "probability"),
        (
            lambda: nn.Sequential(
                nn.Linear(5, 8, dtype=F64),
                nn.BatchNorm1d(8, dtype=F64),
                nn.GELU(),
                nn.Dropout(0.3),
                nn.Linear(8, 8, dtype=F64),
                nn.SiLU(),
                nn.Linear(8, 1, dtype=F64),
            ),
            "raw",
        ),
    ],
)
@pytest.mark.parametrize("target", [0, 1])
def test_summation_to_delta_on_every_head(data, make_model, output, target):
    X, background = data
    with seeded(7):
        model = make_model()
    if output == "raw":
        model[1].running_mean.uniform_(-1, 1)  # a non-trivial affine batch norm
        target = 0
    adapter = wrap(model, output=output)
    attribution = DeepLift().fit(adapter, background).explain(X, target=target)
    change = adapter.predict(X)[:, target] - attribution.base_values
    assert np.abs(change).max() > 1e-3
    assert_allclose(attribution.values.sum(axis=1), change, atol=1e-13)
    assert np.abs(attribution.extras["convergence_delta"]).max() < 1e-13
    assert attribution.additivity_gap(adapter).max() < 1e-13


def test_adapter_softmax_equals_module_softmax(data):
    X, background = data
    model = mlp()
    by_adapter = DeepLift().fit(wrap(model, output="probability"), background).explain(X)
    in_module = DeepLift().fit(nn.Sequential(*model, nn.Softmax(dim=1)), background).explain(X)
    assert_allclose(by_adapter.values, in_module.values, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("target", [0, 1])
def test_two_class_softmax_is_the_sigmoid_of_the_margin(data, target):
    X, background = data
    two = mlp(outputs=2)
    margin = copy.deepcopy(two[:-1])
    last = nn.Linear(16, 1, dtype=F64)
    with torch.no_grad():
        last.weight.copy_(two[-1].weight[1:] - two[-1].weight[:1])
        last.bias.copy_(two[-1].bias[1:] - two[-1].bias[:1])
    margin.append(last)
    softmax = DeepLift().fit(wrap(two, output="probability"), background).explain(X, target=target)
    sigmoid = DeepLift().fit(wrap(margin, output="probability"), background).explain(X, target=target)
    assert_allclose(softmax.values, sigmoid.values, rtol=1e-10, atol=1e-15)


def test_linear_network_is_its_shapley_value_and_integrated_gradients(data):
    X, background = data
    model = nn.Sequential(nn.Linear(5, 1, dtype=F64))
    attribution = DeepLift().fit(model, background).explain(X)
    weights = model[0].weight.detach().numpy()[0]
    assert_allclose(attribution.values, weights * (X - background.mean(axis=0)), atol=1e-14)
    ig = IntegratedGradients(n_steps=1).fit(model, background).explain(X)
    assert_allclose(attribution.values, ig.values, atol=1e-14)


def test_rows_at_the_reference_fall_back_to_the_derivative(data):
    # Where x - x' is below rounding level, difference quotients are replaced by derivatives
    # (every layer and the softmax): the values become the first-order term grad f(x) (x - x').
    X, background = data
    model = nn.Sequential(*mlp(nn.Tanh), nn.Softmax(dim=1))
    baseline = background.mean(axis=0)
    step = np.array([1e-12, -2e-12, 0.0, 1e-12, 0.0])
    rows = np.vstack([baseline, baseline + step, X[0]])
    attribution = DeepLift().fit(model, background).explain(rows, target=1)
    assert np.all(attribution.values[0] == 0.0)
    gradient = wrap(model).gradient(rows[1:2], target=1)[0]
    assert_allclose(attribution.values[1], gradient * (rows[1] - baseline), rtol=1e-10, atol=1e-30)
    assert np.abs(attribution.extras["convergence_delta"]).max() < 1e-13


# ---------------------------------------------------------------------- options and invariances
def test_groups_are_column_sums(data):
    X, background = data
    groups = FeatureGroups(names=("a", "b"), indices=((0, 1, 4), (2, 3)), feature_names=tuple("vwxyz"))
    columns = DeepLift().fit(mlp(), background).explain(X)
    grouped = DeepLift().fit(mlp(), background, groups=groups).explain(X)
    assert grouped.feature_names == ("a", "b")
    assert_allclose(grouped.values, columns.values @ groups.matrix.T, atol=1e-15)


def test_batch_size_inplace_relu_and_float32(data):
    X, background = data
    model = mlp()
    reference = DeepLift().fit(model, background).explain(X, target=2)
    blocked = DeepLift().fit(wrap(model, batch_size=4), background).explain(X, target=2)
    assert_allclose(blocked.values, reference.values, rtol=1e-12, atol=1e-15)
    inplace = nn.Sequential(*[nn.ReLU(inplace=True) if isinstance(m, nn.ReLU) else m for m in model])
    assert_allclose(DeepLift().fit(inplace, background).explain(X, target=2).values, reference.values, atol=1e-15)
    single = DeepLift().fit(copy.deepcopy(model).float(), background).explain(X, target=2)
    assert single.values.dtype == np.float64
    assert_allclose(single.values, reference.values, rtol=1e-3, atol=1e-5)
    assert np.abs(single.extras["convergence_delta"]).max() < 1e-5
    assert reference.model_rows == 6 + 1


# ---------------------------------------------------------------------- refusals
@pytest.mark.parametrize(
    ("model", "named"),
    [
        (
            nn.Sequential(nn.Linear(5, 8, dtype=F64), nn.LayerNorm(8, dtype=F64), nn.Linear(8, 2, dtype=F64)),
            "LayerNorm",
        ),
        (nn.Sequential(nn.Linear(5, 8, dtype=F64), nn.Softmax(dim=1), nn.Linear(8, 2, dtype=F64)), "Softmax"),
        (nn.Sequential(nn.Linear(5, 8, dtype=F64), nn.GLU(), nn.Linear(4, 2, dtype=F64)), "GLU"),
        (LinearModel(np.ones(5)), "LinearModel"),
    ],
)
def test_unsupported_layers_are_named(data, model, named):
    _, background = data
    with pytest.raises(IncompatibleModelError, match=named) as info:
        DeepLift().fit(model, background)
    assert "integrated_gradients" in str(info.value)


def test_sequential_with_its_own_forward_is_refused(data):
    class Residual(nn.Sequential):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return super().forward(x) + x[:, :2]

    model = Residual(nn.Linear(5, 8, dtype=F64), nn.ReLU(), nn.Linear(8, 2, dtype=F64))
    _, background = data
    with pytest.raises(IncompatibleModelError, match="does not reproduce"):
        DeepLift().fit(model, background)


def test_sklearn_model_and_bad_baseline_are_refused(data):
    X, background = data
    model = LogisticRegression().fit(X.repeat(5, axis=0), np.arange(30) % 2)
    with pytest.raises(IncompatibleModelError, match="gradients"):
        explainers.get("deep_lift").fit(model, background)
    with pytest.raises(InvalidInputError, match="baseline"):
        DeepLift(baseline=np.zeros(4)).fit(mlp(), background)
