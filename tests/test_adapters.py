import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from torch import nn

from agnostic_xai import wrap
from agnostic_xai.adapters import CallableAdapter, SklearnAdapter, TorchAdapter
from agnostic_xai.exceptions import (
    IncompatibleModelError,
    InvalidInputError,
    ModelOutputError,
)
from agnostic_xai.testing import make_mlp


def raw_forward(module, X):
    with torch.no_grad():
        return module(torch.as_tensor(X)).numpy()


# ---------------------------------------------------------------- torch
def test_torch_probability_and_logit_match_the_module(mlp_classifier, rng):
    X = rng.normal(size=(50, 5))
    logits = raw_forward(mlp_classifier, X)
    proba = wrap(mlp_classifier).predict(X)
    assert proba.dtype == np.float64 and proba.shape == (50, 3)
    np.testing.assert_allclose(proba, torch.softmax(torch.as_tensor(logits), 1).numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(wrap(mlp_classifier, output="logit").predict(X), logits, rtol=0, atol=1e-12)


def test_float32_module_agrees_with_raw_forward_to_1e6(rng):
    module = make_mlp(7, 2, (32,), seed=3)
    X = rng.normal(size=(40, 7))
    expected = raw_forward(module, X.astype(np.float32))
    np.testing.assert_allclose(wrap(module, output="logit").predict(X), expected, atol=1e-6)


def test_task_and_output_are_inferred_and_stated(mlp_classifier):
    adapter = wrap(mlp_classifier)
    assert (adapter.task, adapter.output, adapter.n_outputs) == ("classification", "probability", 3)
    assert adapter.output_names == ("class_0", "class_1", "class_2")
    regressor = wrap(make_mlp(4, 1, (8,), seed=0))
    assert (regressor.task, regressor.output, regressor.n_outputs) == ("regression", "raw", 1)


def test_single_logit_binary_is_presented_as_two_classes(rng):
    module = make_mlp(4, 1, (8,), seed=2, dtype=torch.float64)
    X = rng.normal(size=(10, 4))
    z = raw_forward(module, X)[:, 0]
    proba = wrap(module, task="classification").predict(X)
    p = 1 / (1 + np.exp(-z))
    np.testing.assert_allclose(proba, np.stack([1 - p, p], 1), atol=1e-12)
    logit = wrap(module, task="classification", output="logit").predict(X)
    np.testing.assert_allclose(logit, np.stack([-z, z], 1), atol=1e-12)


def test_softmax_head_is_detected_and_logits_are_not_invented(mlp_classifier, rng):
    model = nn.Sequential(mlp_classifier, nn.Softmax(dim=1))
    adapter = wrap(model)
    assert (adapter.task, adapter.output) == ("classification", "probability")
    X = rng.normal(size=(6, 5))
    np.testing.assert_allclose(adapter.predict(X), raw_forward(model, X), atol=1e-12)
    with pytest.raises(IncompatibleModelError, match="logits are not available"):
        wrap(model, output="logit")
    with pytest.raises(IncompatibleModelError, match="log-probabilities"):
        wrap(nn.Sequential(mlp_classifier, nn.LogSoftmax(dim=1)), output="logit")


def test_chunked_and_unchunked_predictions_are_identical(rng):
    # Identical up to float64 round-off: the BLAS picks different kernels (gemv vs blocked
    # gemm) for different batch sizes, so the last bit may differ (measured: 2.2e-16).
    module = make_mlp(6, 2, (16,), seed=0, dtype=torch.float64)
    X = rng.normal(size=(1001, 6))
    whole = wrap(module, batch_size=5000).predict(X)
    for batch_size in (1, 7, 64, 1000):
        np.testing.assert_allclose(wrap(module, batch_size=batch_size).predict(X), whole, rtol=0, atol=1e-13)


def test_rows_evaluated_counts_every_row(mlp_classifier, rng):
    adapter = wrap(mlp_classifier, batch_size=16)
    before = adapter.rows_evaluated
    adapter.predict(rng.normal(size=(70, 5)))
    assert adapter.rows_evaluated - before == 70


def test_training_flag_is_restored_and_input_not_mutated(mlp_classifier, rng):
    mlp_classifier.train()
    X = rng.normal(size=(5, 5))
    X_copy = X.copy()
    adapter = wrap(mlp_classifier)
    adapter.predict(X)
    adapter.gradient(X)
    assert all(m.training for m in mlp_classifier.modules())
    np.testing.assert_array_equal(X, X_copy)


def test_dropout_is_off_during_prediction(rng):
    model = nn.Sequential(nn.Linear(4, 32, dtype=torch.float64), nn.Dropout(0.9), nn.Linear(32, 1, dtype=torch.float64))
    model.train()
    adapter = wrap(model)
    X = rng.normal(size=(20, 4))
    np.testing.assert_array_equal(adapter.predict(X), adapter.predict(X))


def test_dataframe_columns_are_matched_by_name(mlp_classifier, rng):
    names = ["a", "b", "c", "d", "e"]
    adapter = wrap(mlp_classifier, feature_names=names)
    X = pd.DataFrame(rng.normal(size=(9, 5)), columns=names)
    shuffled = X[["e", "c", "a", "d", "b"]]
    np.testing.assert_array_equal(adapter.predict(shuffled), adapter.predict(X.to_numpy()))
    with pytest.raises(InvalidInputError, match=r"missing columns \['e'\]"):
        adapter.predict(X.drop(columns="e"))
    with pytest.raises(InvalidInputError, match=r"unexpected columns \['z'\]"):
        adapter.predict(X.assign(z=1.0))


def test_tensor_input_is_accepted(mlp_classifier, rng):
    X = rng.normal(size=(4, 5))
    adapter = wrap(mlp_classifier)
    np.testing.assert_array_equal(adapter.predict(torch.as_tensor(X)), adapter.predict(X))


def test_gradient_matches_autograd(mlp_classifier, rng):
    X = rng.normal(size=(12, 5))
    target = rng.integers(0, 3, size=12)
    grads = wrap(mlp_classifier, output="logit").gradient(X, target)
    x = torch.as_tensor(X).requires_grad_(True)
    out = mlp_classifier(x).gather(1, torch.as_tensor(target).view(-1, 1)).sum()
    (expected,) = torch.autograd.grad(out, x)
    np.testing.assert_allclose(grads, expected.numpy(), atol=1e-12)


def test_device_mismatch_is_refused(mlp_classifier):
    with pytest.raises(InvalidInputError, match="does not move your model"):
        wrap(mlp_classifier, device="meta")


def test_module_without_linear_layer_needs_feature_names():
    class Doubler(nn.Module):
        def forward(self, x):
            return 2 * x.sum(1, keepdim=True)

    with pytest.raises(InvalidInputError, match="pass feature_names"):
        wrap(Doubler())
    adapter = wrap(Doubler(), feature_names=["u", "v"])
    np.testing.assert_allclose(adapter.predict(np.array([[1.0, 2.0]])), [[6.0]])


# ---------------------------------------------------------------- scikit-learn
def test_sklearn_classifier_matches_predict_proba_and_decision_function(rng):
    X = rng.normal(size=(80, 4))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    clf = make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y)
    adapter = wrap(clf)
    assert isinstance(adapter, SklearnAdapter) and adapter.task == "classification"
    np.testing.assert_allclose(adapter.predict(X), clf.predict_proba(X), atol=1e-12)
    z = clf.decision_function(X)
    np.testing.assert_allclose(wrap(clf, output="logit").predict(X), np.stack([-z, z], 1), atol=1e-12)
    with pytest.raises(IncompatibleModelError, match="gradient methods apply to torch models"):
        adapter.gradient(X)


def test_sklearn_model_fitted_on_a_frame_keeps_its_names(rng):
    frame = pd.DataFrame(rng.normal(size=(30, 3)), columns=["x", "y", "z"])
    reg = LinearRegression().fit(frame, frame["x"] * 2 - frame["z"])
    adapter = wrap(reg)
    assert adapter.feature_names == ("x", "y", "z") and adapter.task == "regression"
    np.testing.assert_allclose(adapter.predict(frame[["z", "x", "y"]])[:, 0], reg.predict(frame), atol=1e-12)


def test_unfitted_sklearn_model_is_refused():
    with pytest.raises(IncompatibleModelError, match="not fitted"):
        wrap(LogisticRegression())


# ---------------------------------------------------------------- callables and wrap
def test_callable_adapter_and_binary_expansion():
    adapter = wrap(lambda X: 1 / (1 + np.exp(-X[:, 0])), task="classification")
    assert isinstance(adapter, CallableAdapter)
    out = adapter.predict(np.array([[0.0, 1.0]]))
    np.testing.assert_allclose(out, [[0.5, 0.5]])
    assert adapter.n_features == 2 and adapter.n_outputs == 2


def test_wrap_returns_adapters_unchanged_and_rejects_non_models(mlp_classifier):
    adapter = wrap(mlp_classifier)
    assert wrap(adapter) is adapter
    with pytest.raises(InvalidInputError, match="already an Adapter"):
        wrap(adapter, output="logit")
    with pytest.raises(IncompatibleModelError, match="Cannot wrap"):
        wrap(42)
    assert isinstance(adapter, TorchAdapter)


@pytest.mark.parametrize(
    "bad, match",
    [
        (np.array([[np.nan, 0, 0, 0, 0]]), "NaN or infinite"),
        (np.array([[np.inf, 0, 0, 0, 0]]), "NaN or infinite"),
        (np.zeros((3, 4)), "4 columns but the model takes 5"),
        (np.zeros((0, 5)), "0 rows"),
        (np.zeros(5), "reshape"),
        (np.zeros((2, 5, 1)), "must be 2-D"),
        ("abc", "2-D numeric array"),
        (np.array([["a"] * 5]), "numeric"),
        (None, "is None"),
    ],
)
def test_bad_inputs_raise_clear_errors(mlp_classifier, bad, match):
    with pytest.raises(InvalidInputError, match=match):
        wrap(mlp_classifier).predict(bad)


def test_non_numeric_and_duplicate_columns_are_refused(mlp_classifier):
    adapter = wrap(mlp_classifier, feature_names=list("abcde"))
    frame = pd.DataFrame({"a": [1.0], "b": ["x"], "c": [1.0], "d": [1.0], "e": [1.0]})
    with pytest.raises(InvalidInputError, match=r"non-numeric columns \['b'\]"):
        adapter.predict(frame)
    dup = pd.DataFrame(np.zeros((1, 5)), columns=list("abcdd"))
    with pytest.raises(InvalidInputError, match="duplicate column names"):
        adapter.predict(dup)
    with pytest.raises(InvalidInputError, match="Duplicate feature names"):
        wrap(mlp_classifier, feature_names=list("abcdd"))


@pytest.mark.parametrize(
    "function, match",
    [
        (lambda X: np.full((len(X), 1), np.nan), "NaN or infinite"),
        (lambda X: np.zeros((len(X) + 1, 1)), "returned shape"),
        (lambda X: 1 / 0, "ZeroDivisionError"),
    ],
)
def test_model_failures_raise_model_output_errors(function, match):
    with pytest.raises(ModelOutputError, match=match):
        wrap(function).predict(np.zeros((3, 2)))


def test_target_validation(mlp_classifier, rng):
    adapter = wrap(mlp_classifier)
    X = adapter.validate(rng.normal(size=(4, 5)))
    np.testing.assert_array_equal(adapter.resolve_target(None, X), adapter.predict(X).argmax(1))
    np.testing.assert_array_equal(adapter.resolve_target(2, X), [2, 2, 2, 2])
    with pytest.raises(InvalidInputError, match="out of range"):
        adapter.resolve_target(3, X)
    with pytest.raises(InvalidInputError, match="one entry per row"):
        adapter.resolve_target([0, 1], X)
    with pytest.raises(InvalidInputError, match="whole numbers"):
        adapter.resolve_target(0.5, X)


def test_invalid_task_output_and_batch_size(mlp_classifier):
    with pytest.raises(InvalidInputError, match="task must be one of"):
        wrap(mlp_classifier, task="ranking")
    with pytest.raises(InvalidInputError, match="output must be one of"):
        wrap(mlp_classifier, output="odds")
    with pytest.raises(InvalidInputError, match="batch_size"):
        wrap(mlp_classifier, batch_size=0)
    with pytest.raises(InvalidInputError, match="regression model's output"):
        wrap(lambda X: X[:, :1], output="logit")


def test_adapters_pickle_for_worker_processes(mlp_classifier, rng):
    import pickle

    adapter = wrap(mlp_classifier, output="logit")
    X = rng.normal(size=(3, 5))
    clone = pickle.loads(pickle.dumps(adapter))
    np.testing.assert_array_equal(clone.predict(X), adapter.predict(X))
    assert clone.rows_evaluated == adapter.rows_evaluated


def test_traced_module_width_is_read_from_its_weights(mlp_classifier, rng):
    traced = torch.jit.trace(mlp_classifier, torch.zeros(1, 5, dtype=torch.float64))
    adapter = wrap(traced, output="logit")  # no feature_names: the width comes from the first Linear
    X = rng.normal(size=(4, 5))
    assert adapter.n_features == 5
    np.testing.assert_allclose(adapter.predict(X), raw_forward(mlp_classifier, X), atol=1e-12)


@pytest.mark.parametrize("outputs", [1, 2, 3])
@pytest.mark.parametrize("head", [None, "softmax", "log_softmax"])
@pytest.mark.parametrize("output", ["probability", "logit", "raw"])
def test_selected_output_is_the_selected_column_of_the_output(outputs, head, output):
    """The masked-evaluation shortcut agrees with torch_output(x)[i, target[i]] in every output space."""
    layers = [make_mlp(4, outputs, (8,), seed=outputs, dtype=torch.float64)]
    if head == "softmax":
        layers.append(torch.nn.Softmax(dim=1) if outputs > 1 else torch.nn.Sigmoid())
    elif head == "log_softmax":
        if outputs == 1:
            pytest.skip("a single log-probability column is not a classifier head")
        layers.append(torch.nn.LogSoftmax(dim=1))
    module = torch.nn.Sequential(*layers)
    try:
        adapter = wrap(module, output=output) if output != "raw" or head is None else None
    except Exception:  # logits of a probability head are refused, not invented
        return
    if adapter is None:
        return
    x = torch.as_tensor(np.random.default_rng(0).normal(scale=4.0, size=(64, 4)))
    target = torch.as_tensor(np.random.default_rng(1).integers(0, adapter.n_outputs, size=64))
    with torch.inference_mode():
        expected = adapter.torch_output(x).gather(1, target[:, None]).squeeze(1)
        got = adapter.torch_selected(x, target)
    assert got.shape == (64,)
    torch.testing.assert_close(got, expected, rtol=1e-12, atol=1e-14)
