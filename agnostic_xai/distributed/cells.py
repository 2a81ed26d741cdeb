"""Run small graphs of tasks (``compare``'s row chunks and metric cells) on a Dask cluster.

``compare`` cuts its work into tasks that share large arguments (the adapter, the rows, the
background, the targets, the ground truth) and differ in a few small ones (an explainer's
name and configuration, a row range, a metric). Some tasks need the results of others: a
metric cell scores the attribution joined from an explainer's row chunks.
:func:`run_tasks_dask` sends the shared arguments to the cluster once, submits every
:class:`Task` with its dependencies (:class:`After`) as Dask futures, and gathers the results
that are asked for as they complete. :func:`run_cells_dask` is the simple case: independent
calls of one function.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ..exceptions import InvalidInputError
from .cluster import import_distributed, torch_threads
from .shared import share

__all__ = ["After", "Task", "TaskError", "run_cells_dask", "run_tasks_dask"]

_INLINE = (type(None), bool, int, float, str, bytes)


@dataclass(frozen=True)
class After:
    """In a :class:`Task`'s arguments: the result of the task at ``index`` (an earlier one).

    The result stays on the cluster: the dependent task receives it there, and it is copied
    to the client only when its own task is gathered.
    """

    index: int


@dataclass(frozen=True)
class Task:
    """One call ``function(*args, *shared)`` on the cluster.

    Attributes
    ----------
    function : callable
        A module-level (picklable) function.
    args : tuple
        Leading positional arguments: small values, or :class:`After` references to the
        results of earlier tasks.
    shared : bool
        Append :func:`run_tasks_dask`'s shared arguments.
    gather : bool
        Bring the result back to the client (and pass it to ``on_result``); False for
        intermediate results that only other tasks use.
    name : str, optional
        Prefix of the Dask key (default: the function's name), as shown in Dask's task
        stream and dashboard.
    """

    function: Callable[..., Any]
    args: tuple[Any, ...] = ()
    shared: bool = True
    gather: bool = True
    name: str | None = None


@dataclass(frozen=True)
class TaskError:
    """The result, with ``errors="return"``, of a task that raised (or whose dependency raised)."""

    error: str
    message: str


def _call(function: Callable[..., Any], threads: int | None, *args: Any) -> Any:
    with torch_threads(threads):
        return function(*args)


def _check_tasks(tasks: Sequence[Any]) -> list[Task]:
    checked = []
    for i, task in enumerate(tasks):
        if not isinstance(task, Task):
            raise InvalidInputError(f"tasks must be Task objects, got {type(task).__name__} at position {i}.")
        if not callable(task.function):
            raise InvalidInputError(f"Task {i}: function must be callable, got {type(task.function).__name__}.")
        for arg in task.args:
            if isinstance(arg, After) and not (isinstance(arg.index, int) and 0 <= arg.index < i):
                raise InvalidInputError(f"Task {i} depends on task {arg.index}; a task may depend on earlier ones only.")
        checked.append(task)
    return checked


def run_tasks_dask(
    client: Any,
    tasks: Sequence[Task],
    shared: Sequence[Any] = (),
    *,
    retries: int = 2,
    threads: int | None = 1,
    on_result: Callable[[int, Any], None] | None = None,
    errors: str = "raise",
) -> list[Any]:
    """Run ``tasks`` (calls that may depend on earlier ones) on ``client``; their results in order.

    Parameters
    ----------
    client : distributed.Client
        The cluster to run on.
    tasks : sequence of Task
        The calls, in an order where every :class:`After` refers to an earlier task. All are
        submitted at once; Dask runs each when its dependencies are done.
    shared : sequence
        Trailing positional arguments of every task with ``shared=True``. Each one that is
        not a plain scalar or None (adapters, arrays, feature groups, reference
        attributions) is sent to the cluster ONCE, as a recomputable task
        (:func:`~agnostic_xai.distributed.shared.share`), and passed to the tasks by
        reference, not re-sent with each task; if a worker dies with the only copy, the
        scheduler rebuilds it.
    retries : int
        Times a task that raised is re-run. A task whose worker dies is re-run elsewhere by
        the scheduler in any case (dask's ``distributed.scheduler.allowed-failures``).
    threads : int or None
        Torch intra-op threads inside each task (None: leave the worker's setting); one
        avoids oversubscription with one single-threaded worker process per core.
    on_result : callable, optional
        Called as ``on_result(index, result)`` in the client as each gathered task finishes
        (for a progress bar, or to commit results as they come).
    errors : {"raise", "return"}
        What a task that raised does: ``"raise"`` cancels the other tasks and raises its
        exception here; ``"return"`` gives a :class:`TaskError` as its result (and as that
        of the tasks depending on it) and lets the others run. Task functions should catch
        their own errors and report them in their result; this is for what they cannot
        catch (a lost worker, a result that does not pickle).

    Returns
    -------
    list
        One entry per task: its result when gathered (None otherwise, or a
        :class:`TaskError` when it failed with ``errors="return"``).

    Notes
    -----
    The client holds each future until every task depending on it has finished, so that
    Dask can recompute a result lost with its worker; intermediate results are then
    released.
    """
    distributed = import_distributed()
    if not isinstance(client, distributed.Client):
        raise InvalidInputError(f"client must be a dask.distributed.Client, got {type(client).__name__}.")
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise InvalidInputError(f"retries must be a non-negative int, got {retries!r}.")
    if errors not in ("raise", "return"):
        raise InvalidInputError(f"errors must be 'raise' or 'return', got {errors!r}.")
    tasks = _check_tasks(tasks)
    if not tasks:
        return []
    shared = list(shared)
    heavy = [i for i, value in enumerate(shared) if not isinstance(value, _INLINE)]
    if heavy and any(task.shared for task in tasks):
        # Recomputable tasks, not client.scatter: scattered data lost with the last worker holding
        # it cannot be rebuilt, and Dask would cancel every task needing it (see .shared).
        futures_shared = share(client, [shared[i] for i in heavy], [f"shared{i}" for i in heavy], retries=retries)
        for i, future in zip(heavy, futures_shared):
            shared[i] = future
    futures: list[Any] = []
    waiting = [0] * len(tasks)  # dependents of each task that have not finished
    for task in tasks:
        args = []
        for arg in task.args:
            if isinstance(arg, After):
                waiting[arg.index] += 1
                arg = futures[arg.index]
            args.append(arg)
        if task.shared:
            args.extend(shared)
        key = f"{task.name or getattr(task.function, '__name__', 'task')}-{uuid.uuid4().hex}"
        futures.append(
            client.submit(_call, task.function, threads, *args, key=key, retries=retries, pure=False)
        )
    index = {future.key: i for i, future in enumerate(futures)}
    finished = [False] * len(tasks)
    results: list[Any] = [None] * len(tasks)

    def release(i: int) -> None:
        if finished[i] and waiting[i] == 0:
            futures[i] = None

    try:
        for future in distributed.as_completed(list(futures)):
            i = index[future.key]
            task = tasks[i]
            if task.gather or future.status == "error":
                try:
                    results[i] = future.result()
                except Exception as exc:
                    if errors == "raise":
                        raise
                    results[i] = TaskError(type(exc).__name__, str(exc) or type(exc).__name__)
                if task.gather and on_result is not None:
                    on_result(i, results[i])
            finished[i] = True
            for arg in task.args:
                if isinstance(arg, After):
                    waiting[arg.index] -= 1
                    release(arg.index)
            release(i)
    except BaseException:
        client.cancel([f for f in futures if f is not None])
        raise
    return results


def run_cells_dask(
    client: Any,
    function: Callable[..., Any],
    cells: Sequence[Sequence[Any]],
    shared: Sequence[Any] = (),
    *,
    retries: int = 2,
    threads: int | None = 1,
    on_result: Callable[[int, Any], None] | None = None,
) -> list[Any]:
    """``[function(*cell, *shared) for cell in cells]``, each call a task on ``client``.

    Parameters
    ----------
    client : distributed.Client
        The cluster to run on.
    function : callable
        A module-level (picklable) function. It should catch its own errors and report
        them in its result: an exception it raises is raised here, after the other tasks
        are cancelled.
    cells : sequence of argument tuples
        The leading positional arguments of each call (small: a name, a configured
        explainer, a list of metrics).
    shared : sequence
        Trailing positional arguments common to every call, sent to the cluster once
        (see :func:`run_tasks_dask`).
    retries : int
        Times a task that raised is re-run. A task whose worker dies is re-run elsewhere
        by the scheduler in any case (dask's ``distributed.scheduler.allowed-failures``).
    threads : int or None
        Torch intra-op threads inside each task (None: leave the worker's setting).
    on_result : callable, optional
        Called as ``on_result(index, result)`` as each task finishes (for a progress bar).

    Returns
    -------
    list
        The results in the order of ``cells``, whatever order they finished in.

    Examples
    --------
    One explainer's whole cell per task (``runner._run_explainer``, as the tests run it;
    ``compare`` itself builds finer tasks with :func:`run_tasks_dask`)::

        cells = run_cells_dask(
            client, _run_explainer,
            [(name, explainer, metric_list) for name, explainer in chosen],
            (adapter, X, background, targets, groups, seed, limits, reference),
        )
    """
    if not callable(function):
        raise InvalidInputError(f"function must be callable, got {type(function).__name__}.")
    tasks = [Task(function, tuple(cell)) for cell in cells]
    return run_tasks_dask(client, tasks, shared, retries=retries, threads=threads, on_result=on_result)
