"""A new backend is one executor class and one registration: compare then runs on it, with local's numbers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from agnostic_xai import compare, wrap
from agnostic_xai.execution import Executor, register_executor
from agnostic_xai.execution.graph import Results, call_task, checked_tasks, task_error
from agnostic_xai.testing import make_mlp


class LastReadyFirst(Executor):
    """A toy executor: in this process, always the most recently given task whose dependencies are done.

    Independent tasks (the explainers' lanes, the metric cells) thus run in reverse order.
    """

    name = "toy"
    in_process = True

    def run(self, tasks, shared=(), *, on_result=None, window=None):
        tasks = [task for _, task in checked_tasks(tasks)]
        results, done = Results(tasks), set()
        self.order = []
        while len(done) < len(tasks):
            index = max(i for i, task in enumerate(tasks) if i not in done and set(task.dependencies) <= done)
            try:
                value = call_task(tasks[index], results, shared)
            except Exception as exc:
                value = task_error(exc)
            results.put(index, tasks[index], value)
            done.add(index)
            self.order.append(index)
            if tasks[index].gather and on_result is not None:
                on_result(index, value)


@pytest.fixture(scope="module")
def task():
    rng = np.random.default_rng(4)
    adapter = wrap(make_mlp(4, 2, (6,), seed=2, dtype=torch.float64))
    return adapter, rng.normal(size=(10, 4))


OPTIONS = dict(
    explainers={"kernel_shap": {"n_samples": 30}, "integrated_gradients": {"n_steps": 8}, "random": {}},
    metrics=["deletion_auc", "shapley_error", "sparseness", "seed_stability"],
    seed=7, n_background=5, progress=False, row_chunk=4,
)
DETERMINISTIC = ["explainer", "metric", "row", "score", "model_rows", "metric_model_rows", "seed"]


def _same(a, b):
    pd.testing.assert_frame_equal(a.table[DETERMINISTIC], b.table[DETERMINISTIC])
    for name in a.attributions:
        np.testing.assert_array_equal(a.attributions[name].values, b.attributions[name].values)
    pd.testing.assert_frame_equal(a.failures, b.failures)
    pd.testing.assert_frame_equal(a.costs[["explainer", "status", "model_rows", "fit_model_rows", "seed"]],
                                  b.costs[["explainer", "status", "model_rows", "fit_model_rows", "seed"]])


def test_a_registered_toy_executor_runs_compare_with_local_s_numbers(task):
    register_executor("toy", LastReadyFirst)
    adapter, X = task
    local = compare(adapter, X, backend="local", **OPTIONS)
    toy = compare(adapter, X, backend="toy", **OPTIONS)
    _same(local, toy)
    assert toy.config["backend"] == "toy" and local.config["backend"] == "local"
    executor = LastReadyFirst()
    mine = compare(adapter, X, backend=executor, **OPTIONS)
    _same(local, mine)
    assert mine.config["backend"] == "toy"
    assert executor.order != sorted(executor.order)  # the work really ran in another order


def test_processes_give_local_s_numbers(task):
    adapter, X = task
    local = compare(adapter, X, **OPTIONS)
    _same(local, compare(adapter, X, n_jobs=2, **OPTIONS))
    processes = compare(adapter, X, backend="processes", n_jobs=2, **OPTIONS)
    _same(local, processes)
    assert processes.config["backend"] == "processes"
    assert set(processes.explainers) == set(local.explainers)
