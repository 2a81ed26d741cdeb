"""Limits that hold: a cell past its time or memory limit is failed even when the model swallows
the interruption; any finite positive limit is accepted; SystemExit from a model fails one cell
and KeyboardInterrupt stops the run with a resumable store."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest
import torch

from agnostic_xai import compare, wrap
from agnostic_xai.comparison import CellExit
from agnostic_xai.comparison.limits import cell_limits
from agnostic_xai.exceptions import ModelOutputError

WEIGHTS = np.array([1.0, -2.0, 0.5])
FAST = dict(explainers=["feature_ablation", "random"], metrics=["deletion_gap"], progress=False, row_chunk=None)


@pytest.fixture
def X():
    rng = np.random.default_rng(0)
    return pd.DataFrame(rng.normal(size=(8, 3)), columns=["a", "b", "c"])


class Swallowing:
    """A third-party-style model: its work is wrapped in ``try/except Exception: return fallback``.

    Call number ``slow_call`` spins for ``seconds`` (or allocates ``mib`` MiB, a block at a
    time); an exception raised into it is swallowed and a fallback output returned.
    """

    def __init__(self, slow_call: int, seconds: float = 0.0, mib: int = 0) -> None:
        self.calls, self.slow_call, self.seconds, self.mib = 0, slow_call, seconds, mib
        self.swallowed: list[str] = []

    def __call__(self, X: np.ndarray) -> np.ndarray:
        self.calls += 1
        try:
            if self.calls == self.slow_call:
                deadline = time.monotonic() + self.seconds
                while time.monotonic() < deadline:
                    pass
                blocks = [np.ones(2**17) for _ in range(self.mib)]  # 1 MiB each
                del blocks
            return X @ WEIGHTS
        except Exception as exc:  # noqa: BLE001 - the point of the test
            self.swallowed.append(type(exc).__name__)
            return np.zeros(X.shape[0])


def test_a_model_that_swallows_the_timeout_still_fails_its_cell(X):
    model = Swallowing(slow_call=2, seconds=3.0)  # call 1 is compare's check of the model
    comparison = compare(wrap(model, feature_names=list(X.columns)), X, time_limit=0.5, **FAST)
    assert model.swallowed and model.swallowed[0] == "CellTimeout"
    failures = comparison.failures.set_index("explainer")
    assert failures.loc["feature_ablation", "error"] == "CellTimeout"
    assert "time limit of 0.5 s" in failures.loc["feature_ablation", "message"]
    assert "feature_ablation" not in comparison.attributions
    assert "random" in comparison.attributions  # the others complete


def test_a_swallowed_timeout_fails_the_cell_in_worker_processes_too(X):
    # n_jobs=2: each explainer runs in a loky worker (its main thread, so SIGALRM interrupts
    # there); each worker has its own copy of the model, whose next call is the slow one.
    model = Swallowing(slow_call=2, seconds=3.0)  # call 1 is compare's check, in this process
    comparison = compare(wrap(model, feature_names=list(X.columns)), X, time_limit=0.5, n_jobs=2,
                         **{**FAST, "explainers": ["feature_ablation", "exact_shapley"]})
    failures = comparison.failures.set_index("explainer")
    assert set(failures.index) == {"feature_ablation", "exact_shapley"}
    assert set(failures["error"]) == {"CellTimeout"}


def test_a_model_that_swallows_the_memory_error_still_fails_its_cell(X):
    model = Swallowing(slow_call=2, mib=300)
    comparison = compare(wrap(model, feature_names=list(X.columns)), X, memory_limit=64 * 2**20, **FAST)
    assert model.swallowed == ["CellMemoryError"]
    failures = comparison.failures.set_index("explainer")
    assert failures.loc["feature_ablation", "error"] == "CellMemoryError"
    assert "memory limit of 64 MiB" in failures.loc["feature_ablation", "message"]
    assert "random" in comparison.attributions


class _Spike(torch.nn.Module):
    """A linear model whose forward builds (and frees) a large intermediate, all inside TorchScript."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.n = n
        self.weight = torch.nn.Parameter(torch.tensor(WEIGHTS).reshape(3, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        big = torch.ones(self.n, dtype=torch.float64)
        return x @ self.weight + big.sum() * 0.0


def test_a_transient_allocation_inside_one_native_call_is_caught_on_return(X):
    # The periodic check runs between Python bytecodes and cannot see memory that a TorchScript
    # forward allocates and frees in one call; the peak (VmHWM, reset per cell) does.
    from agnostic_xai.comparison import limits

    if not limits._reset_peak() or limits._peak_memory() is None:
        pytest.skip("no per-process peak RSS to reset on this platform")
    model = torch.jit.script(_Spike(40 * 2**20 // 8 * 5))  # 200 MiB of float64
    adapter = wrap(model, feature_names=list(X.columns), output="raw")
    comparison = compare(adapter, X, memory_limit=64 * 2**20, explainers=["feature_ablation"],
                         metrics=["sparseness"], progress=False)
    failures = comparison.failures
    assert list(failures["error"]) == ["CellMemoryError"], failures
    assert int(failures["message"].str.extract(r"grew memory by (\d+) MiB")[0].iloc[0]) >= 190


@pytest.mark.parametrize("limit", [1e10, 1e12, 10**400, np.float32(1.0)], ids=["1e10", "1e12", "10**400", "float32"])
def test_any_finite_positive_time_limit_is_accepted(X, limit):
    comparison = compare(wrap(lambda Z: Z @ WEIGHTS, feature_names=list(X.columns)), X, time_limit=limit, **FAST)
    assert comparison.failures.empty, comparison.failures.to_dict("records")
    assert set(comparison.attributions) == {"feature_ablation", "random"}


class _Exits(torch.nn.Module):
    """A torch model whose forward calls ``sys.exit`` once gradients are asked of it."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = torch.nn.Linear(3, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if torch.is_grad_enabled() and x.requires_grad:
            raise SystemExit(3)
        return self.linear(x)


def test_systemexit_from_a_model_fails_that_cell_only(X, tmp_path):
    adapter = wrap(_Exits().double(), feature_names=list(X.columns), output="raw")
    comparison = compare(adapter, X, explainers=["saliency", "feature_ablation"], metrics=["sparseness"],
                         progress=False, store=tmp_path / "store.sqlite")
    failures = comparison.failures.set_index("explainer")
    assert failures.loc["saliency", "error"] == CellExit.__name__
    assert "SystemExit(3)" in failures.loc["saliency", "message"]
    assert list(comparison.attributions) == ["feature_ablation"]
    assert set(comparison.table["metric"]) == {"sparseness"}


def test_systemexit_from_the_model_s_first_call_is_a_model_error(X):
    def exits(Z: np.ndarray) -> np.ndarray:
        raise SystemExit(0)  # would make the command line report success

    with pytest.raises(ModelOutputError, match="SystemExit"):
        compare(wrap(exits, feature_names=list(X.columns)), X, **FAST)


def test_a_cell_raising_systemexit_under_limits_becomes_cellexit():
    for limits in ((None, None), (10.0, None), (None, 2**30)):
        with pytest.raises(CellExit, match=r"SystemExit\(2\)"):
            with cell_limits(*limits):
                raise SystemExit(2)


class _Interrupts:
    """A model that raises KeyboardInterrupt on one call (as Ctrl-C would), once."""

    def __init__(self, on_call: int) -> None:
        self.calls, self.on_call = 0, on_call

    def __call__(self, X: np.ndarray) -> np.ndarray:
        self.calls += 1
        if self.calls == self.on_call:
            raise KeyboardInterrupt
        return X @ WEIGHTS


def test_keyboardinterrupt_stops_the_run_and_resume_completes_the_table(X, tmp_path):
    options = dict(explainers=["feature_ablation", "random", "exact_shapley"], metrics=["deletion_gap", "sparseness"],
                   progress=False)
    counting = _Interrupts(on_call=0)
    full = compare(wrap(counting, feature_names=list(X.columns)), X, **options)
    calls = counting.calls
    store = tmp_path / "store.sqlite"
    model = _Interrupts(on_call=calls - 2)  # inside the last explainer's cells
    adapter = wrap(model, feature_names=list(X.columns))
    with pytest.raises(KeyboardInterrupt):
        compare(adapter, X, store=store, **options)
    model.on_call = 0
    resumed = compare(adapter, X, store=store, resume=True, **options)
    assert 0 < resumed.config["resumed_cells"] < 3 * 3
    columns = ["explainer", "metric", "row", "score"]
    pd.testing.assert_frame_equal(resumed.table[columns], full.table[columns], check_exact=False, atol=1e-12, rtol=0)


def test_keyboardinterrupt_is_never_converted_into_a_cell_failure():
    for limits in ((None, None), (10.0, None), (None, 2**30)):
        with pytest.raises(KeyboardInterrupt):
            with cell_limits(*limits):
                raise KeyboardInterrupt
