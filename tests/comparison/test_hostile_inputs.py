"""Each bad input to compare() gets a project error naming the problem, before any cell runs;
hostile models are contained; nothing the caller passed is mutated."""

from __future__ import annotations

import os
import resource

import numpy as np
import pandas as pd
import pytest
import torch

from agnostic_xai import compare, wrap
from agnostic_xai.comparison.runner import resident_memory
from agnostic_xai.exceptions import (
    AgnosticXAIError,
    BudgetError,
    InvalidInputError,
    ModelOutputError,
    SaturationWarning,
)
from agnostic_xai.testing import LinearModel

FAST = dict(explainers=["feature_ablation", "random"], metrics=["deletion_gap"], progress=False)


@pytest.fixture
def task():
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(10, 3)), columns=["a", "b", "c"])
    return LinearModel([1.0, -2.0, 0.5]), X


def linear(X):
    return X @ np.array([1.0, -2.0, 0.5])


@pytest.mark.parametrize(
    "change, error, match",
    [
        (lambda X: X.assign(a=np.nan), InvalidInputError, "NaN or infinite"),
        (lambda X: X.assign(b=np.inf), InvalidInputError, "NaN or infinite"),
        (lambda X: X.drop(columns="c"), InvalidInputError, "missing columns \\['c'\\]"),
        (lambda X: X.rename(columns={"c": "z"}), InvalidInputError, "missing columns"),
        (lambda X: X.set_axis(["a", "a", "c"], axis=1), InvalidInputError, "duplicate column names"),
        (lambda X: X.assign(c="text"), InvalidInputError, "non-numeric columns"),
        (lambda X: X.iloc[:0], InvalidInputError, "0 rows"),
        (lambda X: X.iloc[:1], InvalidInputError, "1 rows; at least 2"),
        (lambda X: X * 0 + 1.0, InvalidInputError, "Every column is constant"),
    ],
    ids=["nan", "inf", "missing-column", "renamed-column", "duplicate-names", "text-column", "empty", "one-row",
         "all-constant"],
)
def test_bad_data(task, change, error, match):
    model, X = task
    adapter = wrap(model, feature_names=list(X.columns))
    with pytest.raises(error, match=match):
        compare(adapter, change(X), **FAST)


def test_bad_arguments(task):
    model, X = task
    adapter = wrap(model, feature_names=list(X.columns))
    cases = [
        (dict(target=5), "target out of range"),
        (dict(background=X.iloc[:1], explainers=["lime"]), "background has 1 row.*lime need at least 2"),
        (dict(memory_limit=0), "memory_limit must be a positive int"),
        (dict(max_model_rows=-1), "max_model_rows must be a positive int"),
        (dict(row_chunk=0), "row_chunk must be a positive int"),
        (dict(time_limit=float("nan")), "time_limit must be positive"),
        (dict(n_background=0), "n_background must be a positive int"),
        (dict(y=np.zeros(3)), "y must have one label per row"),
        (dict(explainers=["no_such"]), "Unknown explainer"),
    ]
    for kwargs, match in cases:
        options = {**FAST, **kwargs}
        with pytest.raises(AgnosticXAIError, match=match):
            compare(adapter, X, **options)


def test_budget_too_small_and_exact_limit(task):
    model, X = task
    # refused before any work, not discovered as a failed cell
    with pytest.raises(BudgetError, match=r"kernel_shap needs at least p \+ 2"):
        compare(model, X, explainers={"kernel_shap": {"n_samples": 4}}, metrics=["deletion_gap"], progress=False)
    with pytest.raises(BudgetError, match="permutation_shap walks whole permutations"):
        compare(model, X, explainers={"permutation_shap": {"max_evals": 3}}, metrics=["deletion_gap"], progress=False)
    wide = pd.DataFrame(np.random.default_rng(1).normal(size=(4, 17)), columns=[f"x{i}" for i in range(17)])
    skipped = compare(lambda Z: Z.sum(axis=1), wide, explainers="default", metrics=["sparseness"], progress=False)
    reasons = skipped.failures.set_index("explainer")["message"]
    assert "above the limit of 16" in reasons["exact_shapley"]
    with pytest.raises(BudgetError, match=r"2\*\*17 coalitions.*permutation_shap"):
        from agnostic_xai.explainers import get

        get("exact_shapley", max_features=16).fit(wrap(lambda Z: Z.sum(axis=1)), wide.to_numpy())


@pytest.mark.parametrize(
    "model, match",
    [
        (lambda X: np.full(X.shape[0], np.nan), "NaN or infinite"),
        (lambda X: np.zeros((X.shape[0] + 1, 1)), "returned shape"),
        (lambda X: 1 / 0, "The model raised ZeroDivisionError"),
    ],
    ids=["nan", "wrong-shape", "raises"],
)
def test_a_model_that_fails_on_the_rows_stops_before_any_cell(task, model, match):
    _, X = task
    with pytest.raises(ModelOutputError, match=match):
        compare(model, X, **FAST)


def test_a_model_that_fails_only_on_perturbed_rows_is_a_recorded_failure(task):
    _, X = task
    originals = X.to_numpy().copy()

    def picky(Z):
        if Z.shape[0] != originals.shape[0] or not np.allclose(Z, originals):
            raise RuntimeError("cannot score unseen rows")
        return linear(Z)

    comparison = compare(picky, X, explainers=["feature_ablation"], metrics=["sparseness"], progress=False)
    line = comparison.failures.iloc[0]
    assert (line["stage"], line["error"]) == ("explain", "ModelOutputError") and "unseen rows" in line["message"]


def test_saturated_probabilities_warn_and_point_to_logit():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, 3))
    weights = np.zeros((3, 2))
    weights[:, 1] = [40.0, 0.0, 0.0]  # |logit| of 40 saturates float32 probabilities
    model = torch.nn.Linear(3, 2)  # logits; explained as float32 probabilities by default
    with torch.no_grad():
        model.weight.copy_(torch.tensor(weights.T, dtype=torch.float32))
        model.bias.zero_()
    with pytest.warns(SaturationWarning, match=r"output='logit'") as caught:
        comparison = compare(wrap(model, task="classification"), X, **FAST)
    assert 0.05 <= comparison.config["saturated_share"] <= 1.0
    assert "%" in str(caught[0].message)
    logit = compare(wrap(model, task="classification", output="logit"), X, **FAST)  # no warning (warnings are errors in tests)
    assert logit.config["saturated_share"] is None


def test_constant_columns_are_recorded_not_refused(task):
    model, X = task
    comparison = compare(model, X.assign(b=3.0), **FAST)
    assert comparison.config["constant_features"] == ["b"]


def test_nothing_the_caller_passed_is_mutated(task):
    model, X = task
    background = X.iloc[:5].copy()
    X_before, background_before = X.copy(), background.copy()
    array = X.to_numpy().copy()
    compare(model, X, background=background, **FAST)
    compare(model, array, **FAST)
    pd.testing.assert_frame_equal(X, X_before)
    pd.testing.assert_frame_equal(background, background_before)
    np.testing.assert_array_equal(array, X_before.to_numpy())


def test_memory_stays_flat_over_thirty_runs(task):
    """30 comparisons in one process: resident memory must not keep growing (a leak test).

    The bound is generous (50 MiB) because the allocator keeps freed arenas; the measured
    growth on the development machine is printed with -s.
    """
    model, X = task
    for _ in range(3):  # warm-up: imports, caches, allocator arenas
        compare(model, X, **FAST)
    before = resident_memory()
    for _ in range(30):
        compare(model, X, **FAST)
    grown = resident_memory() - before
    print(f"RSS growth over 30 runs: {grown / 2**20:.1f} MiB (peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB, pid {os.getpid()})")
    assert grown < 50 * 2**20
