"""run_cells_dask and run_tasks_dask: calls and task graphs on a Dask cluster, identical to running them here."""

from __future__ import annotations

import os
import sys
import time

import numpy as np
import pytest
import torch

from agnostic_xai import compare, wrap
from agnostic_xai.distributed import After, Task, TaskError, run_cells_dask, run_tasks_dask
from agnostic_xai.exceptions import InvalidInputError
from agnostic_xai.testing import make_mlp

distributed = pytest.importorskip("dask.distributed")
cloudpickle = pytest.importorskip("cloudpickle")

# The probe functions below travel to the workers by value (pytest imports this file under
# a name the worker processes cannot import).
cloudpickle.register_pickle_by_value(sys.modules[__name__])


def where_and_which(i: int, shared: np.ndarray) -> tuple[int, int, int, int]:
    """The task's worker process and the identity of the shared object it was given."""
    time.sleep(0.05 * (3 - i % 3))  # finish out of submission order
    # Keep the object alive, so that a copy sent with another task could not reuse its id.
    worker = distributed.get_worker()
    worker.__dict__.setdefault("kept_by_test", []).append(shared)
    return i, os.getpid(), id(shared), int(torch.get_num_threads())


def fails(i: int) -> None:
    raise RuntimeError(f"cell {i} failed")


def block(start: int, stop: int, shared: np.ndarray) -> np.ndarray:
    return shared[start:stop] * 2


def join(*blocks: np.ndarray) -> np.ndarray:
    return np.concatenate(blocks)


def total(values: np.ndarray, shared: np.ndarray) -> float:
    return float(values.sum() + shared[0])


def one_explainer(name, params, metrics, adapter, X, background, seed):
    """A whole comparison of one explainer (a cell of a larger one), as the public compare runs it."""
    return compare(adapter, X, background=background, explainers={name: params}, metrics=metrics, seed=seed,
                   progress=False)


def test_comparison_cells_match_the_local_run(client):
    rng = np.random.default_rng(0)
    adapter = wrap(make_mlp(5, 3, (8,), seed=1, dtype=torch.float64))
    X, background = rng.normal(size=(12, 5)), rng.normal(size=(8, 5))
    metrics = ["deletion_auc", "infidelity", "sparseness"]
    chosen = [
        ("smoothgrad", {"n_samples": 4}),
        ("feature_ablation", {}),
        ("integrated_gradients", {"n_steps": 8}),
    ]
    shared = (adapter, X, background, 11)
    local = [one_explainer(name, params, metrics, *shared) for name, params in chosen]
    remote = run_cells_dask(client, one_explainer, [(name, params, metrics) for name, params in chosen], shared)
    assert [cell.explainer_names for cell in remote] == [[name] for name, _ in chosen]
    for mine, theirs in zip(local, remote):
        assert theirs.failures.empty and theirs.costs["seed"].tolist() == mine.costs["seed"].tolist()
        (name,) = mine.explainer_names
        np.testing.assert_array_equal(theirs.attributions[name].values, mine.attributions[name].values)
        assert set(theirs.metric_names) == set(mine.metric_names) == {"deletion_auc", "infidelity", "sparseness"}
        for metric in mine.metric_names:
            np.testing.assert_array_equal(theirs.metric_results[(name, metric)].scores,
                                          mine.metric_results[(name, metric)].scores)


def test_shared_arguments_reach_each_worker_once_and_results_keep_their_order(client):
    big = np.arange(200_000, dtype=np.float64)
    seen = []
    results = run_cells_dask(
        client, where_and_which, [(i,) for i in range(8)], (big,), on_result=lambda i, r: seen.append(i)
    )
    assert [r[0] for r in results] == list(range(8))
    assert sorted(seen) == list(range(8))
    identities = {}
    for _, pid, identity, threads in results:
        identities.setdefault(pid, set()).add(identity)
        assert threads == 1
    # Every task on a worker got the same object: it was deserialised there once, not sent with each task.
    assert all(len(ids) == 1 for ids in identities.values())
    assert len(client.has_what()) == 2


def test_errors_and_bad_arguments(client):
    with pytest.raises(RuntimeError, match="cell 1 failed"):
        run_cells_dask(client, fails, [(1,)])
    assert run_cells_dask(client, fails, []) == []
    with pytest.raises(InvalidInputError, match="Client"):
        run_cells_dask(object(), fails, [(1,)])
    with pytest.raises(InvalidInputError, match="retries"):
        run_cells_dask(client, fails, [(1,)], retries=-1)


def test_tasks_run_after_their_dependencies_and_only_asked_results_come_back(client):
    shared = np.arange(10.0) + 1
    tasks = [
        Task(block, (0, 4), gather=False, name="test-block"),
        Task(block, (4, 10), gather=False, name="test-block"),
        Task(join, (After(0), After(1)), shared=False, name="test-join"),
        Task(total, (After(2),), name="test-total"),
    ]
    seen = []
    with distributed.get_task_stream(client) as stream:
        results = run_tasks_dask(client, tasks, (shared,), on_result=lambda i, r: seen.append(i))
    assert results[:2] == [None, None]
    np.testing.assert_array_equal(results[2], 2 * shared)
    assert results[3] == 2 * shared.sum() + 1
    assert sorted(seen) == [2, 3]  # intermediate results stay on the cluster
    keys = [record["key"] for record in stream.data]
    # The shared array went to the cluster once, as its own (recomputable) task.
    assert sum(key.startswith("agnostic-xai-shared") for key in keys) == 1, keys
    prefixes = sorted(key.rsplit("-", 1)[0] for key in keys if not key.startswith("agnostic-xai-shared"))
    assert prefixes == ["test-block", "test-block", "test-join", "test-total"]


def test_failed_tasks_and_their_dependents_are_returned_as_errors_when_asked(client):
    tasks = [Task(fails, (7,), shared=False), Task(join, (After(0),), shared=False), Task(block, (0, 2))]
    results = run_tasks_dask(client, tasks, (np.ones(3),), errors="return")
    assert results[0] == TaskError("RuntimeError", "cell 7 failed") == results[1]
    np.testing.assert_array_equal(results[2], [2.0, 2.0])
    with pytest.raises(RuntimeError, match="cell 7 failed"):  # errors="raise", even for an intermediate task
        run_tasks_dask(client, [Task(fails, (7,), shared=False, gather=False)])


def test_task_graphs_are_checked(client):
    with pytest.raises(InvalidInputError, match="earlier ones only"):
        run_tasks_dask(client, [Task(join, (After(0),))])
    with pytest.raises(InvalidInputError, match="earlier ones only"):
        run_tasks_dask(client, [Task(join, ()), Task(join, (After(-1),))])
    with pytest.raises(InvalidInputError, match="Task objects"):
        run_tasks_dask(client, [(join, ())])
    with pytest.raises(InvalidInputError, match="callable"):
        run_tasks_dask(client, [Task("join")])
    with pytest.raises(InvalidInputError, match="errors must be"):
        run_tasks_dask(client, [], errors="ignore")
    assert run_tasks_dask(client, []) == []
