"""Executors: the same graph gives the same results everywhere; errors, windows, lanes and the registry."""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from agnostic_xai.exceptions import InvalidInputError, InvalidTypeError, UnknownNameError
from agnostic_xai.execution import (
    After,
    Executor,
    Failure,
    Task,
    TaskError,
    available_executors,
    get_executor,
    register_executor,
)
from agnostic_xai.execution.graph import Results, call_task, checked_tasks, task_error


def block(start: int, stop: int, shared: np.ndarray) -> np.ndarray:
    return shared[start:stop] * 2


def join(*blocks: np.ndarray) -> np.ndarray:
    return np.concatenate(blocks)


def total(values: np.ndarray, shared: np.ndarray) -> float:
    return float(values.sum() + shared[0])


def fails(i: int) -> None:
    raise RuntimeError(f"task {i} failed")


def where(i: int) -> tuple[int, int]:
    return i, os.getpid()


def square(i: int) -> int:
    return i * i


def graph() -> list[Task]:
    return [
        Task(block, (0, 4), gather=False, lane="a"),
        Task(block, (4, 10), gather=False, lane="a"),
        Task(join, (After(0), After(1)), shared=False, lane="a"),
        Task(total, (After(2),), lane="a"),
        Task(fails, (7,), shared=False, lane="b"),
        Task(join, (After(4),), shared=False, lane="b"),
        Task(block, (1, 3), lane="c"),
    ]


class Threads(Executor):
    """A toy executor: independent tasks on threads, each after its dependencies."""

    name = "threads"

    def run(self, tasks, shared=(), *, on_result=None, window=None):
        tasks = [task for _, task in checked_tasks(tasks)]
        done = {i: threading.Event() for i in range(len(tasks))}
        lock = threading.Lock()
        values = {}

        def one(i):
            for j in tasks[i].dependencies:
                done[j].wait()
            try:
                value = call_task(tasks[i], _Kept(values), shared)
            except Exception as exc:
                value = task_error(exc)
            with lock:
                values[i] = value
                if tasks[i].gather and on_result is not None:
                    on_result(i, value)
            done[i].set()

        with ThreadPoolExecutor(4) as pool:
            list(pool.map(one, reversed(range(len(tasks)))))


class _Kept(Results):
    def __init__(self, values):
        super().__init__()
        self._values = values

    def take(self, index):
        return self._values[index]


def _run(executor: Executor, tasks, shared=(), window=None) -> dict[int, object]:
    seen: dict[int, object] = {}

    def arrived(i, value):
        assert i not in seen
        seen[i] = value

    executor.run(tasks, shared, on_result=arrived, window=window)
    return seen


@pytest.fixture(scope="module")
def dask_client():
    distributed = pytest.importorskip("dask.distributed")
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    with distributed.Client(cluster) as client:
        yield client
    cluster.close()


def _executors(request) -> list[Executor]:
    executors = [get_executor("local"), get_executor("processes", n_jobs=2), Threads()]
    if request.config.getoption("-m", "") != "not slow":
        executors.append(get_executor("dask", client=request.getfixturevalue("dask_client")))
    return executors


def test_every_executor_gives_the_same_results_and_errors(request):
    shared = (np.arange(10.0) + 1,)
    expected = None
    for executor in _executors(request):
        seen = _run(executor, graph(), shared)
        assert sorted(seen) == [2, 3, 4, 5, 6], executor  # intermediate results are not gathered
        np.testing.assert_array_equal(seen[2], 2 * shared[0])
        assert seen[3] == 2 * shared[0].sum() + 1
        # A task that raised, and the task depending on it, give the error; the others go on.
        assert seen[4] == TaskError("RuntimeError", "task 7 failed") == seen[5]
        np.testing.assert_array_equal(seen[6], [4.0, 6.0])
        summary = {i: np.asarray(v).tolist() if not isinstance(v, TaskError) else v for i, v in seen.items()}
        assert expected is None or summary == expected
        expected = summary


def test_a_keyboard_interrupt_stops_the_local_run():
    def interrupted(i):
        raise KeyboardInterrupt

    seen = []
    with pytest.raises(KeyboardInterrupt):
        get_executor("local").run(
            [Task(square, (1,)), Task(interrupted, (2,)), Task(square, (3,))], on_result=lambda i, v: seen.append(i)
        )
    assert seen == [0]


@pytest.mark.parametrize("name", ["local", "processes"])
def test_a_window_bounds_the_gathered_tasks_in_flight(name, request):
    executor = get_executor(name, n_jobs=2) if name == "processes" else get_executor(name)
    consumed, delivered, most = [0], [0], [0]

    def tasks():
        for i in range(12):
            consumed[0] += 1
            most[0] = max(most[0], consumed[0] - delivered[0])
            yield Task(square, (i,), shared=False)

    def arrived(i, value):
        assert value == i * i
        delivered[0] += 1

    executor.run(tasks(), on_result=arrived, window=3)
    assert delivered[0] == 12
    assert most[0] <= 3


def test_a_window_streams_on_dask(dask_client):
    consumed, delivered, most = [0], [0], [0]

    def tasks():
        for i in range(10):
            consumed[0] += 1
            most[0] = max(most[0], consumed[0] - delivered[0])
            yield Task(square, (i,), shared=False)

    def arrived(i, value):
        assert value == i * i
        delivered[0] += 1

    get_executor("dask", client=dask_client).run(tasks(), on_result=arrived, window=2)
    assert delivered[0] == 10 and most[0] <= 2


def test_with_a_window_tasks_depend_on_intermediate_tasks_only():
    tasks = [Task(square, (2,), shared=False), Task(join, (After(0),), shared=False)]
    with pytest.raises(InvalidInputError, match="intermediate"):
        get_executor("local").run(tasks, window=2)
    tasks[0] = Task(block, (0, 2), gather=False)
    seen = _run(get_executor("local"), tasks, (np.ones(3),), window=1)
    np.testing.assert_array_equal(seen[1], [2.0, 2.0])


def test_lanes_run_in_one_process_in_order_and_stay_apart():
    tasks = [Task(where, (i,), shared=False, lane=f"lane{i % 2}") for i in (0, 2, 4, 1, 3, 5)]
    seen = _run(get_executor("processes", n_jobs=2), tasks)
    pids = {lane: {seen[i][1] for i in indices} for lane, indices in (("even", (0, 1, 2)), ("odd", (3, 4, 5)))}
    assert all(len(p) == 1 for p in pids.values())
    with pytest.raises(InvalidInputError, match="own lane"):
        get_executor("processes").run([Task(square, (1,), lane="a"), Task(join, (After(0),), lane="b")])
    with pytest.raises(InvalidInputError, match="one after the other"):
        get_executor("processes").run([Task(square, (1,), lane="a"), Task(square, (2,), lane="b"),
                                       Task(square, (3,), lane="a")])


def test_graphs_are_checked():
    local = get_executor("local")
    with pytest.raises(InvalidInputError, match="earlier ones only"):
        local.run([Task(join, (After(0),))])
    with pytest.raises(InvalidInputError, match="earlier ones only"):
        local.run([Task(join, ()), Task(join, (After(-1),))])
    with pytest.raises(InvalidInputError, match="Task objects"):
        local.run([(join, ())])
    with pytest.raises(InvalidInputError, match="callable"):
        local.run([Task("join")])
    with pytest.raises(InvalidInputError, match="window"):
        local.run([], window=0)
    local.run([])


def test_the_registry():
    assert available_executors()[:3] == ["local", "processes", "dask"]
    with pytest.raises(UnknownNameError, match="available"):
        get_executor("nowhere")
    with pytest.raises(InvalidTypeError):
        get_executor(3)
    with pytest.raises(InvalidInputError, match="built-in"):
        register_executor("local", Threads)
    with pytest.raises(InvalidTypeError, match="options"):
        get_executor("local", n_jobs=2)
    register_executor("threads-test", Threads)
    assert "threads-test" in available_executors()
    assert isinstance(get_executor("threads-test"), Threads)
    mine = Threads()
    assert get_executor(mine) is mine
    assert get_executor("local").in_process and not get_executor("processes").in_process


def test_one_failure_record():
    try:
        raise ValueError("bad row")
    except ValueError as exc:
        failure = Failure.from_exception(exc, explainer="lime", stage="explain", start=3, stop=6)
    assert failure.as_record()["explainer"] == "lime"
    assert set(failure.as_record()) == {"explainer", "metric", "stage", "error", "message"}
    assert failure.message.startswith("bad row (at test_executors.py:")
    assert str(failure).startswith("rows 3-5: ValueError: bad row")
    from agnostic_xai.exceptions import BudgetError

    known = Failure.from_exception(BudgetError("too small"), metric="m")
    assert known.message == "too small" and str(known) == "BudgetError: too small"
