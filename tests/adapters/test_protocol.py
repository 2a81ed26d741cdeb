"""The adapter protocol is public: a model kind written against it alone is a full citizen.

``Endpoint`` stands for a model behind a remote endpoint (rows go out serialised, scores come
back); it subclasses :class:`Adapter` using only the documented members (``__init__``,
``forward``, ``evaluation``). ``OnDevice`` adds the optional :class:`MaskedRowsOnDevice`
capability with a torch function on the CPU. Both must run ``compare`` and the masked
evaluator with the same numbers as the built-in adapter of the same function.
"""

from __future__ import annotations

import contextlib
import pathlib
import re
import threading
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest
import torch

from agnostic_xai import compare, wrap
from agnostic_xai._masked import MaskedModel
from agnostic_xai.adapters import Adapter, MaskedRowsOnDevice, TorchAdapter
from agnostic_xai.exceptions import InvalidInputError, InvalidTypeError, ModelOutputError

D = 5
NAMES = [f"x{i}" for i in range(D)]
WEIGHTS = np.array([1.5, -2.0, 0.5, 0.0, 1.0])


def scores(rows: list[list[float]]) -> list[list[float]]:
    """The 'remote' model: class probabilities of a logistic model, as plain lists."""
    Z = np.asarray(rows, dtype=np.float64)
    p = 1 / (1 + np.exp(-(Z @ WEIGHTS - 0.2)))
    return np.stack([1 - p, p], axis=1).tolist()


def local_scores(Z: np.ndarray) -> np.ndarray:
    return np.asarray(scores(Z.tolist()))


class Endpoint(Adapter):
    """A remote endpoint: one request per chunk, inside a session opened by ``evaluation``."""

    def __init__(self, function, *, batch_size: int | None = None) -> None:
        super().__init__(task="classification", output="probability", n_features=D, feature_names=NAMES,
                         batch_size=batch_size)
        self.function = function
        self.requests = 0
        self.sessions = 0
        self.in_session = False

    @contextlib.contextmanager
    def evaluation(self) -> Iterator[None]:
        self.sessions += 1
        self.in_session = True
        try:
            yield
        finally:
            self.in_session = False

    def forward(self, X: np.ndarray) -> list[list[float]]:
        if not self.in_session:
            raise RuntimeError("no session open")
        self.requests += 1
        return self.function(X.tolist())


class OnDevice(Endpoint, MaskedRowsOnDevice):
    """The endpoint's function written in torch, with masked rows built on the CPU device."""

    device = torch.device("cpu")

    def __init__(self) -> None:
        super().__init__(scores)
        self.weights = torch.as_tensor(WEIGHTS)
        self.selected_rows = 0

    def to_tensor(self, X: np.ndarray) -> torch.Tensor:
        return torch.tensor(np.asarray(X, dtype=np.float64))

    def forward_selected(self, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        assert self.in_session
        self.selected_rows += x.shape[0]
        p = 1 / (1 + torch.exp(-(x @ self.weights - 0.2)))
        return torch.where(target == 1, p, 1 - p)


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    return rng.normal(size=(12, D)), rng.normal(size=(10, D))


# ---------------------------------------------------------------- the protocol members
def test_evaluate_chunks_inside_the_evaluation_context_and_counts_rows(data):
    X, _ = data
    endpoint = Endpoint(scores, batch_size=5)
    out = endpoint.evaluate(X)
    assert out.dtype == np.float64 and out.shape == (12, 2)
    np.testing.assert_array_equal(out, local_scores(X))
    assert (endpoint.requests, endpoint.sessions, endpoint.rows_evaluated) == (3, 1, 12)
    np.testing.assert_array_equal(endpoint.predict(pd.DataFrame(X, columns=NAMES)), out)  # validating door
    assert endpoint.rows_evaluated == 24 and endpoint.n_outputs == 2


def test_evaluate_checks_what_the_model_returns():
    endpoint = Endpoint(lambda rows: [[float("nan"), 1.0]] * len(rows))
    with pytest.raises(ModelOutputError, match="NaN or infinite"):
        endpoint.evaluate(np.zeros((3, D)))
    with pytest.raises(ModelOutputError, match="raised RuntimeError: down"):
        Endpoint(lambda rows: (_ for _ in ()).throw(RuntimeError("down"))).evaluate(np.zeros((1, D)))


def test_count_rows_is_thread_safe_and_refuses_bad_counts():
    endpoint = Endpoint(scores)
    threads = [threading.Thread(target=lambda: [endpoint.count_rows(1) for _ in range(2000)]) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert endpoint.rows_evaluated == 16000
    with pytest.raises(InvalidInputError, match="n must be a non-negative int"):
        endpoint.count_rows(-1)
    with pytest.raises(InvalidTypeError):
        endpoint.count_rows(1.5)


def test_a_kind_without_forward_cannot_be_built():
    class Incomplete(Adapter):
        pass

    with pytest.raises(TypeError, match="forward"):
        Incomplete(task="regression", output="raw", n_features=1, feature_names=None, batch_size=None)


def test_the_torch_adapter_offers_the_capability_and_the_others_do_not(mlp_classifier):
    assert isinstance(wrap(mlp_classifier), MaskedRowsOnDevice)
    assert not isinstance(wrap(local_scores, task="classification"), MaskedRowsOnDevice)
    assert not isinstance(Endpoint(scores), MaskedRowsOnDevice) and isinstance(OnDevice(), MaskedRowsOnDevice)


# ---------------------------------------------------------------- the masked evaluator
def masked_reference(X, R, t, rows, masks):
    """``f_t(where(mask, x, r))`` by the plain numpy definition."""
    block = np.where(masks[:, :, None, :], X[rows][:, None, None, :], R[None, None, :, :])
    out = local_scores(block.reshape(-1, D))
    target = np.repeat(t[rows], masks.shape[1] * R.shape[0])
    return out[np.arange(target.size), target].reshape(len(rows), masks.shape[1], R.shape[0])


@pytest.mark.parametrize("kind", [Endpoint, OnDevice])
def test_masked_model_runs_on_the_public_protocol(data, kind):
    X, R = data
    adapter = kind(scores) if kind is Endpoint else kind()
    t = np.arange(12) % 2
    rows = np.array([0, 3, 7])
    masks = np.random.default_rng(1).random((3, 4, D)) < 0.5
    model = MaskedModel(adapter, X, R, t)
    assert model.on_device is (adapter if kind is OnDevice else None)
    out = model.outputs(torch.as_tensor(rows), torch.as_tensor(masks)).numpy()
    np.testing.assert_allclose(out, masked_reference(X, R, t, rows, masks), rtol=0, atol=1e-15)
    assert adapter.rows_evaluated == 3 * 4 * 10
    if kind is OnDevice:  # the capability's path was taken, inside the evaluation context
        assert adapter.selected_rows == 120 and adapter.requests == 0 and adapter.sessions == 1


def test_a_capability_that_returns_a_wrong_shape_is_refused(data):
    X, R = data

    class Broken(OnDevice):
        def forward_selected(self, x, target):
            return x[:, 0][:-1]

    with pytest.raises(ModelOutputError, match="selected outputs"):
        MaskedModel(Broken(), X, R, np.zeros(12, dtype=int)).outputs(torch.arange(2), torch.ones(3, D, dtype=bool))


# ---------------------------------------------------------------- compare
@pytest.mark.parametrize("kind", [Endpoint, OnDevice])
def test_compare_runs_on_an_adapter_written_against_the_public_protocol(data, kind):
    X, R = data
    settings = {"background": R, "explainers": {"exact_shapley": {}, "kernel_shap": {"n_samples": 64}},
                "metrics": ["deletion_auc", "infidelity", "sparseness"], "seed": 3, "progress": False}
    adapter = kind(scores) if kind is Endpoint else kind()
    mine = compare(adapter, X, **settings)
    builtin = compare(wrap(local_scores, task="classification", feature_names=NAMES), X, **settings)
    assert mine.failures.empty and adapter.rows_evaluated > 0 and adapter.requests > 0
    for name in ("exact_shapley", "kernel_shap"):
        np.testing.assert_allclose(mine.attributions[name].values, builtin.attributions[name].values,
                                   rtol=0, atol=1e-12)
    columns = ["explainer", "metric", "row", "score"]
    pd.testing.assert_frame_equal(mine.table[columns], builtin.table[columns], rtol=0, atol=1e-12)
    if kind is OnDevice:
        assert adapter.selected_rows > 0  # exact_shapley's masked rows took the capability's path


# ---------------------------------------------------------------- no private seams left
OLD_PRIVATES = re.compile(r"\._predict_validated\b|\._evaluation\(|\._rows_lock\b|\._rows\b|\._selected\(")


def test_no_module_reaches_into_the_adapters_privates():
    package = pathlib.Path(__file__).resolve().parents[2] / "agnostic_xai"
    offenders = [
        f"{path.relative_to(package)}:{number}"
        for path in sorted(package.rglob("*.py"))
        if path.parent.name != "adapters"
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if OLD_PRIVATES.search(line)
    ]
    assert offenders == []
    assert not hasattr(TorchAdapter, "_predict_validated") and not hasattr(Adapter, "_evaluation")
