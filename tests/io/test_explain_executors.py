"""explain on the execution package's executors: any registered one, by name, with the local values."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from agnostic_xai import explain
from agnostic_xai.distributed import PartitionFailure
from agnostic_xai.execution import Executor, Failure, TaskError, register_executor
from agnostic_xai.explainers import get
from agnostic_xai.testing import make_mlp

D = 5


class Backwards(Executor):
    """A toy executor: reads the whole graph, runs the tasks last first, reports them in that order."""

    name = "backwards"
    in_process = True

    def run(self, tasks, shared=(), *, on_result=None, window=None):
        listed = list(tasks)
        self.seen_window = window
        for index in reversed(range(len(listed))):
            task = listed[index]
            try:
                value = task.function(*task.args, *shared)
            except Exception as exc:  # noqa: BLE001 - a failing task is a TaskError, as on every executor
                value = TaskError(type(exc).__name__, str(exc))
            on_result(index, value)


class Losing(Backwards):
    """Loses the task of the second partition, as a cluster that gave up on it would."""

    name = "losing"

    def run(self, tasks, shared=(), *, on_result=None, window=None):
        listed = list(tasks)
        for index, task in enumerate(listed):
            value = TaskError("KilledWorker", "Attempted to run task\n  on 3 different workers") if index == 1 else (
                task.function(*task.args, *shared)
            )
            on_result(index, value)


@pytest.fixture(scope="module")
def setup():
    rng = np.random.default_rng(4)
    model = make_mlp(D, 2, (6,), seed=2, dtype=torch.float64)
    return model, rng.normal(size=(30, D)), rng.normal(size=(6, D))


def test_a_registered_executor_runs_explain_with_the_local_values(setup):
    model, X, background = setup
    register_executor("backwards", Backwards)
    kwargs = {"explainer": get("sampling_shapley", n_permutations=2), "background": background, "seed": 1,
              "row_chunk": 4, "partition_rows": 8}
    local = explain(model, X, **kwargs)
    toy = explain(model, X, backend="backwards", **kwargs)
    mine = Backwards()
    as_object = explain(model, X, backend=mine, **kwargs)
    assert toy.backend == "backwards" and toy.n_partitions == 4 and toy.ok
    assert mine.seen_window is not None  # a window is always given: partitions stream
    for other in (toy, as_object):
        np.testing.assert_array_equal(other.attribution.values, local.attribution.values)
        np.testing.assert_array_equal(other.attribution.base_values, local.attribution.base_values)
        np.testing.assert_array_equal(other.row_ids, np.arange(30))


def test_the_processes_executor_gives_the_local_values(setup):
    model, X, background = setup
    kwargs = {"explainer": get("smoothgrad", n_samples=3), "background": background, "seed": 2, "row_chunk": 8}
    local = explain(model, X, partition_rows=30, **kwargs)
    remote = explain(model, X, backend="processes", partition_rows=8, **kwargs)
    assert remote.backend == "processes" and remote.n_partitions == 4
    np.testing.assert_array_equal(remote.attribution.values, local.attribution.values)


def test_a_task_that_did_not_return_is_a_failure_of_its_rows(setup):
    model, X, background = setup
    register_executor("losing", Losing)
    result = explain(model, X, explainer="saliency", background=background, backend="losing", row_chunk=4,
                     partition_rows=8)
    (failure,) = result.failures
    assert isinstance(failure, Failure) and PartitionFailure is Failure
    assert (failure.start, failure.stop, failure.error, failure.explainer) == (8, 16, "KilledWorker", "saliency")
    assert failure.message == "Attempted to run task on 3 different workers"
    assert result.n_explained == 22 and "rows 8-15: KilledWorker" in result.summary()
    assert result.to_dict()["failures"][0]["start"] == 8


def test_an_unknown_backend_and_client_without_dask_are_refused(setup):
    model, X, background = setup
    from agnostic_xai.exceptions import InvalidInputError

    with pytest.raises(InvalidInputError, match="backend"):
        explain(model, X, explainer="saliency", background=background, backend="spark")
    with pytest.raises(InvalidInputError, match="backend"):
        explain(model, X, explainer="saliency", background=background, backend=3)
    with pytest.raises(InvalidInputError, match="apply to backend='dask'"):
        explain(model, X, explainer="saliency", background=background, backend="processes", scheduler="tcp://x:1")
