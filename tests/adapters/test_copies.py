"""A model cannot corrupt its inputs or outputs: it gets copies, and what it returns is copied.

Every hostile model here has a well-behaved twin computing the same function; explanations
of the two must agree to rounding (atol 1e-12), on a MinMax-scaled, zero-heavy table with
one-hot groups.
"""

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from torch import nn

from agnostic_xai import compare, explainers, wrap
from agnostic_xai.exceptions import IncompatibleModelError
from agnostic_xai.groups import FeatureGroups

D = 13
NAMES = [f"c{i}" for i in range(D)]
GROUPS = FeatureGroups.from_dict({"purpose": [7, 8, 9, 10], "housing": [11, 12]}, NAMES)


def body(dtype=torch.float64):
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(D, 16), nn.Tanh(), nn.Linear(16, 2)).to(dtype)


class WritesIntoInput(nn.Module):
    """Uses its input, then scribbles on it (in-place ops in ``forward``)."""

    def __init__(self, dtype=torch.float64):
        super().__init__()
        self.body = body(dtype)

    def forward(self, x):
        out = self.body(x)
        x.mul_(2)
        x[:, 0] = 0
        return out


class ScalesInPlaceFirst(nn.Module):
    """Rescales its input in place, then uses it: the function is ``body(x / 2)``."""

    def __init__(self):
        super().__init__()
        self.body = body()

    def forward(self, x):
        x.mul_(0.5)
        return self.body(x)


class HalfInput(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = body()

    def forward(self, x):
        return self.body(x * 0.5)


class ReusesOutput(nn.Module):
    """Returns a view of one persistent buffer, overwritten by the next call."""

    def __init__(self):
        super().__init__()
        self.body = body()
        self.out = torch.zeros(200_000, 2, dtype=torch.float64)

    def forward(self, x):
        n = x.shape[0]
        self.out[:n].copy_(self.body(x))
        return self.out[:n]


WEIGHTS = np.linspace(-2, 2, D)


def sigmoid_columns(Z):
    p = 1 / (1 + np.exp(-(Z @ WEIGHTS - 0.3)))
    return np.stack([1 - p, p], axis=1)


class HostileFunction:
    """Writes into its argument and returns one reused array."""

    def __init__(self):
        self.buffer = np.empty((200_000, 2))

    def __call__(self, Z):
        p = sigmoid_columns(Z)
        Z *= 3
        Z[:, 0] = 0
        self.buffer[: len(p)] = p
        return self.buffer[: len(p)]


def pipelines(credit):
    _, X, y = credit
    good = Pipeline([("scale", StandardScaler()), ("model", LogisticRegression())]).fit(X, y)
    bad = Pipeline([("scale", StandardScaler(copy=False)), ("model", LogisticRegression())]).fit(X.copy(), y)
    return good, bad


def cases(credit):
    good_pipe, bad_pipe = pipelines(credit)
    return {
        "torch_writes_into_input": (wrap(body()), wrap(WritesIntoInput())),
        "torch_reuses_output": (wrap(body(), output="logit"), wrap(ReusesOutput(), output="logit")),
        "sklearn_scaler_copy_false": (wrap(good_pipe), wrap(bad_pipe)),
        "function_writes_and_reuses": (
            wrap(sigmoid_columns, task="classification"), wrap(HostileFunction(), task="classification")
        ),
    }


EXPLAINERS = {
    "kernel_shap": {"n_samples": 200, "random_state": 0},
    "sampling_shapley": {"random_state": 0},
    "lime": {"n_samples": 300, "random_state": 0},
    "surrogate_tree": {"random_state": 0},
    "exact_shapley": {},
}


@pytest.mark.parametrize("case", ["torch_writes_into_input", "torch_reuses_output", "sklearn_scaler_copy_false",
                                  "function_writes_and_reuses"])
@pytest.mark.parametrize("method", list(EXPLAINERS))
def test_explanations_of_a_hostile_model_equal_its_twins(credit, case, method):
    good, bad = cases(credit)[case]
    _, X, _ = credit
    background, rows = X[:20], X[100:105]
    values = []
    for adapter in (good, bad):
        explainer = explainers.get(method, **EXPLAINERS[method]).fit(adapter, background.copy(), groups=GROUPS)
        values.append(explainer.explain(rows.copy(), target=1))
    np.testing.assert_allclose(values[1].values, values[0].values, rtol=0, atol=1e-12)
    np.testing.assert_allclose(values[1].base_values, values[0].base_values, rtol=0, atol=1e-12)


@pytest.mark.parametrize("case", ["torch_reuses_output", "function_writes_and_reuses"])
def test_an_earlier_prediction_is_not_changed_by_a_later_call(credit, case):
    _, bad = cases(credit)[case]
    _, X, _ = credit
    first = bad.predict(X[:10])
    kept = first.copy()
    bad.predict(X[50:60])
    np.testing.assert_array_equal(first, kept)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_the_callers_rows_and_tensors_are_not_written(credit, dtype):
    _, X, _ = credit
    adapter = wrap(WritesIntoInput(dtype))
    rows = X[:30].copy()
    adapter.predict(rows)
    np.testing.assert_array_equal(rows, X[:30])
    tensor = torch.as_tensor(rows, dtype=dtype)
    before = tensor.clone()
    with torch.no_grad():
        adapter.torch_output(tensor)
        adapter.torch_selected(tensor, torch.ones(30, dtype=torch.long))
    assert torch.equal(tensor, before)
    converted = adapter.to_tensor(rows)
    converted.add_(1)
    np.testing.assert_array_equal(rows, X[:30])


def test_gradients_of_a_module_that_rescales_its_input_in_place(credit):
    """The module's function is body(x / 2): its gradients are the twin's, not an autograd error."""
    _, X, _ = credit
    rows, background = X[:6], X[20:40]
    for method in ("saliency", "integrated_gradients"):
        got, expected = (
            explainers.get(method).fit(wrap(m), background).explain(rows, target=1).values
            for m in (ScalesInPlaceFirst(), HalfInput())
        )
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-15)


def test_a_module_that_overwrites_what_autograd_needs_is_refused_clearly_and_isolated(credit):
    _, X, _ = credit
    adapter = wrap(WritesIntoInput())
    with pytest.raises(IncompatibleModelError, match="writes into its input in place"):
        adapter.gradient(X[:4], target=1)
    comparison = compare(adapter, X[:8], background=X[20:40], explainers=["saliency", "feature_ablation"],
                         metrics=["sparseness"], progress=False)
    failure = comparison.failures.iloc[0]
    assert (failure["explainer"], failure["error"]) == ("saliency", "IncompatibleModelError")
    assert "feature_ablation" in comparison.attributions


@pytest.mark.parametrize("method", ["gradient_shap", "deep_shap"])
def test_shaps_torch_explainers_give_the_model_copies_too(credit, method):
    """shap's Deep/GradientExplainer call the module through TargetOutput, not the adapter:
    a module that rescales its input in place (function body(x / 2)) explains as its twin."""
    _, X, _ = credit
    rows, background = X[:5], X[20:40]
    params = {"random_state": 0} if method == "gradient_shap" else {}
    got, expected = (
        explainers.get(method, **params).fit(wrap(m), background.copy()).explain(rows.copy(), target=1).values
        for m in (ScalesInPlaceFirst(), HalfInput())
    )
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)
