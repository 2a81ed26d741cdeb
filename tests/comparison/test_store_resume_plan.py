"""The result store (resume), the plan (model rows before running) and the per-cell limits."""

from __future__ import annotations

import sqlite3

import numpy as np
import pandas as pd
import pytest

from agnostic_xai import compare, plan, wrap
from agnostic_xai.comparison import Plan, ResultStore
from agnostic_xai.comparison.store import fingerprint
from agnostic_xai.exceptions import BudgetError, InvalidInputError
from agnostic_xai.testing import LinearModel

EXPLAINERS = ["exact_shapley", "kernel_shap", "permutation_shap", "random"]
METRICS = ["deletion_auc", "shapley_error", "seed_stability"]


@pytest.fixture
def task():
    rng = np.random.default_rng(3)
    weights = rng.normal(size=4)
    X = pd.DataFrame(rng.normal(size=(8, 4)), columns=list("abcd"))
    return LinearModel(weights, bias=0.2), X


def run(task, **kwargs):
    model, X = task
    options = dict(explainers=EXPLAINERS, metrics=METRICS, progress=False, seed=5, n_background=6)
    options.update(kwargs)
    return compare(model, X, **options)


def planned(task, **kwargs):
    """``plan`` with run()'s options (it takes no progress bar: it runs nothing)."""
    model, X = task
    options = dict(explainers=EXPLAINERS, metrics=METRICS, seed=5, n_background=6)
    options.update(kwargs)
    return plan(model, X, **options)


def scores(comparison):
    return comparison.table[["explainer", "metric", "row", "score"]].reset_index(drop=True)


def test_store_holds_every_cell_and_resume_recomputes_nothing(task, tmp_path):
    path = tmp_path / "results.sqlite"
    first = run(task, store=path)
    with ResultStore(path) as store:
        # 4 explainers × 3 metrics, less exact_shapley × shapley_error (the ground truth is not
        # scored against itself).
        assert store.counts() == {"attributions": 4, "cells": 11, "failed": 0}
        assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    resumed = run(task, store=path, resume=True)
    assert resumed.config["resumed_cells"] == 4 + 11
    pd.testing.assert_frame_equal(scores(first), scores(resumed))
    # Costs and extras come back too (curves for the plots).
    pd.testing.assert_frame_equal(first.costs, resumed.costs)
    curve = first.metric_results[("kernel_shap", "deletion_auc")].extras
    back = resumed.metric_results[("kernel_shap", "deletion_auc")].extras
    assert curve.keys() == back.keys()


def test_a_partly_filled_store_is_completed_to_the_uninterrupted_result(task, tmp_path):
    """Delete cells (as a kill would leave them missing) and resume: the same scores."""
    path = tmp_path / "results.sqlite"
    full = run(task, store=path)
    connection = sqlite3.connect(path)
    connection.execute("DELETE FROM cells WHERE explainer IN ('permutation_shap', 'random')")
    connection.execute("DELETE FROM attributions WHERE name = 'random'")
    connection.commit()
    connection.close()
    resumed = run(task, store=path, resume=True)
    # kernel_shap: attribution + 3 cells; exact_shapley: attribution + 2 cells (the ground truth
    # is not scored against itself); permutation_shap: attribution only (its seed_stability cell
    # re-fits it).
    assert resumed.config["resumed_cells"] == 4 + 3 + 1
    pd.testing.assert_frame_equal(scores(full), scores(resumed))


def test_a_store_of_another_configuration_is_refused(task, tmp_path):
    path = tmp_path / "results.sqlite"
    run(task, store=path)
    with pytest.raises(InvalidInputError, match="different configuration.*new --out or drop --resume"):
        run(task, store=path, resume=True, seed=6)
    with pytest.raises(InvalidInputError, match="different configuration"):
        run(task, store=path, resume=True, explainers={"kernel_shap": {"n_samples": 64}})
    model, X = task
    with pytest.raises(InvalidInputError, match="different configuration"):
        compare(model, X * 2, explainers=EXPLAINERS, metrics=METRICS, progress=False, seed=5, n_background=6,
                store=path, resume=True)
    # Without resume the store is started afresh.
    assert run(task, store=path, seed=6).config["resumed_cells"] == 0


def test_resume_needs_a_store_and_a_garbage_file_is_refused(task, tmp_path):
    with pytest.raises(InvalidInputError, match="needs store="):
        run(task, resume=True)
    garbage = tmp_path / "results.sqlite"
    garbage.write_bytes(b"not a database" * 100)
    with pytest.raises(InvalidInputError, match="not a usable result store"):
        run(task, store=garbage, resume=True)


def test_failed_cells_are_stored_and_retried_on_resume(task, tmp_path):
    path = tmp_path / "results.sqlite"
    # a metric that fails at run time (k beyond the 4 features); budgets are refused up front
    options = dict(explainers={"random": {}}, metrics={**{m: {} for m in METRICS}, "shapley_topk": {"k": 99}})
    first = run(task, store=path, **options)
    assert set(first.failures["metric"]) == {"shapley_topk"}
    with ResultStore(path) as store:
        assert store.counts()["failed"] == 1
    again = run(task, store=path, resume=True, **options)
    assert again.config["resumed_cells"] == 1 + 3 and len(again.failures) == 1


def test_fingerprint_is_canonical():
    a = {"b": [1, 2.0], "a": np.arange(3), "f": np.mean}
    b = {"a": np.arange(3), "f": np.mean, "b": (1, 2.0)}
    assert fingerprint(a)[1] == fingerprint(b)[1]
    assert fingerprint({**a, "a": np.arange(4)})[1] != fingerprint(a)[1]


def test_plan_counts_the_model_rows_the_run_evaluates(task):
    model, X = task
    adapter = wrap(model, feature_names=list(X.columns))
    calibrated = planned(task)
    assert isinstance(calibrated, Plan) and (calibrated.cells["status"] == "ok").all()
    comparison = compare(adapter, X, explainers=EXPLAINERS, metrics=METRICS, progress=False, seed=5, n_background=6)
    cells = calibrated.cells.set_index(["explainer", "metric"])["model_rows"]
    costs = comparison.costs.set_index("explainer")["model_rows"]
    metric_rows = comparison.table.groupby(["explainer", "metric"])["metric_model_rows"].first()
    for name in EXPLAINERS:
        # shap's permutation explainer skips repeated masked rows, so its count depends on
        # the row: an estimate (measured within 15 %); the others are exact.
        tolerance = 0.15 if name == "permutation_shap" else 0.0
        assert cells[(name, "")] == pytest.approx(costs[name], rel=tolerance)
        for metric in METRICS:
            if (name, metric) not in metric_rows:  # the ground truth, not scored against itself
                assert (name, metric) not in cells and (name, metric) == ("exact_shapley", "shapley_error")
                continue
            assert cells[(name, metric)] == pytest.approx(metric_rows[(name, metric)], rel=tolerance)
    assert "total:" in calibrated.to_string()


def test_plan_above_the_limit_is_refused_unless_forced(task):
    with pytest.raises(BudgetError, match="max_model_rows=100.*biggest cells: permutation_shap"):
        run(task, max_model_rows=100)
    calibrated = planned(task, max_model_rows=100)
    assert calibrated.refusal is not None and "--force" in calibrated.refusal
    assert len(run(task, max_model_rows=100, force=True).table) == (4 * 3 - 1) * 8


def test_a_budget_too_small_is_refused_before_planning(task):
    with pytest.raises(BudgetError, match=r"p \+ 2"):
        planned(task, explainers={"kernel_shap": {"n_samples": 3}})


def test_a_cell_past_the_memory_limit_fails_and_the_others_complete(task):
    from agnostic_xai.comparison import CellMemoryError
    from agnostic_xai.metrics import Metric

    class Hog(Metric):
        name = "hog"
        family = "complexity"
        higher_is_better = False

        def __init__(self):
            pass

        def _score(self, attribution, adapter, background, explainer):
            blocks = []
            for _ in range(400):  # up to 400 MiB, 1 MiB at a time
                blocks.append(np.ones(2**17))
            return np.zeros(attribution.n_rows), {}

    comparison = run(task, explainers=["random"], metrics={Hog(): None, "sparseness": None},
                     memory_limit=64 * 2**20)
    failed = comparison.failures.set_index("metric")
    assert failed.loc["hog", "error"] == CellMemoryError.__name__ and "memory limit of 64 MiB" in failed.loc["hog", "message"]
    assert set(comparison.table["metric"]) == {"sparseness"}
