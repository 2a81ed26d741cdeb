"""The ``dask`` executor: every task of the graph as a Dask future, shared arguments sent once.

The shared arguments (the adapter, the rows, the background, ...) go to the cluster once,
as recomputable tasks (:func:`~agnostic_xai.execution.shared.share`), and are passed to the
tasks by reference. Each task is submitted with its dependencies (:class:`After`) as
futures, so Dask runs it when they are done; the gathered results come back to this
process as they complete. The client holds each future until every task depending on it
has finished, so that Dask can recompute a result lost with its worker; intermediate
results are then released. With a ``window``, tasks are submitted as earlier gathered ones
finish. Dask is imported only when this executor runs.

:func:`run_tasks_dask` and :func:`run_cells_dask` are the functional forms (a client, a
graph, the results as a list).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from .._checks import check_choice, check_int
from ..exceptions import InvalidInputError
from .cluster import dask_client, import_distributed, torch_threads
from .executors import Executor, OnResult, check_window
from .graph import After, Task, checked_tasks, task_error
from .shared import share

__all__ = ["DaskExecutor", "run_cells_dask", "run_tasks_dask"]

_INLINE = (type(None), bool, int, float, str, bytes)


def _call(function: Callable[..., Any], threads: int | None, *args: Any) -> Any:
    with torch_threads(threads):
        return function(*args)


def _run(
    client: Any,
    tasks: Iterable[Any],
    shared: Sequence[Any],
    *,
    retries: int,
    threads: int | None,
    on_result: OnResult | None,
    errors: str,
    window: int | None,
) -> None:
    """Submit ``tasks`` to ``client`` and hand the gathered results to ``on_result`` as they finish."""
    distributed = import_distributed()
    if not isinstance(client, distributed.Client):
        raise InvalidInputError(f"client must be a dask.distributed.Client, got {type(client).__name__}.")
    stream = checked_tasks(tasks, window)
    if window is None:
        listed = list(stream)
        uses_shared = any(task.shared for _, task in listed)
        stream = iter(listed)
    else:
        uses_shared = True
    first = next(stream, None)
    if first is None:
        return
    shared = list(shared)
    heavy = [i for i, value in enumerate(shared) if not isinstance(value, _INLINE)]
    if heavy and uses_shared:
        # Recomputable tasks, not client.scatter: scattered data lost with the last worker holding
        # it cannot be rebuilt, and Dask would cancel every task needing it (see agnostic_xai.execution.shared).
        futures_shared = share(client, [shared[i] for i in heavy], [f"shared{i}" for i in heavy], retries=retries)
        for i, future in zip(heavy, futures_shared):
            shared[i] = future
    futures: dict[int, Any] = {}
    tasks_by_index: dict[int, Task] = {}
    waiting: dict[int, int] = {}  # dependents of each task that have not finished
    finished: set[int] = set()
    exhausted = False
    index_of: dict[str, int] = {}
    pending = distributed.as_completed()
    in_flight = 0

    def submit(index: int, task: Task) -> None:
        nonlocal in_flight
        args = []
        for arg in task.args:
            if isinstance(arg, After):
                waiting[arg.index] = waiting.get(arg.index, 0) + 1
                arg = futures[arg.index]
            args.append(arg)
        if task.shared:
            args.extend(shared)
        key = f"{task.label}-{uuid.uuid4().hex}"
        future = client.submit(_call, task.function, threads, *args, key=key, retries=retries, pure=False)
        futures[index], tasks_by_index[index], index_of[future.key] = future, task, index
        in_flight += int(task.gather)
        pending.add(future)

    def fill(item: tuple[int, Task] | None) -> None:
        nonlocal exhausted
        while item is not None:
            submit(*item)
            if window is not None and in_flight >= window:
                return
            item = next(stream, None)
        exhausted = True

    def release(i: int) -> None:
        # With a window, later tasks may still depend on an intermediate result.
        if i in finished and not waiting.get(i) and (exhausted or tasks_by_index[i].gather):
            futures.pop(i, None)

    try:
        fill(first)
        for future in pending:
            i = index_of.pop(future.key)
            task = tasks_by_index[i]
            if task.gather or future.status == "error":
                try:
                    result = future.result()
                except Exception as exc:
                    if errors == "raise":
                        raise
                    result = task_error(exc)
                if task.gather and on_result is not None:
                    on_result(i, result)
            finished.add(i)
            in_flight -= int(task.gather)
            for j in task.dependencies:
                waiting[j] -= 1
                release(j)
            release(i)
            if not exhausted and (window is None or in_flight < window):
                fill(next(stream, None))
                for j in list(futures):
                    release(j)
    except BaseException:
        client.cancel([f for f in futures.values() if f is not None])
        raise


class DaskExecutor(Executor):
    """Runs every task as a Dask future (see the module notes).

    Parameters
    ----------
    client : distributed.Client, optional
        The cluster; used as it is and left open.
    scheduler : str, optional
        Address of a running scheduler (``"tcp://10.0.0.5:8786"``), connected to for the run.
    n_workers : int, optional
        Workers of the LocalCluster started for the run when neither ``client`` nor
        ``scheduler`` is given (see :func:`~agnostic_xai.execution.cluster.dask_client`).
    retries : int
        Times a task that raised is re-run (a task whose worker dies is re-run by the
        scheduler in any case).
    threads : int or None
        Torch intra-op threads inside each task (None: leave the worker's setting).
    """

    name = "dask"
    in_process = False

    def __init__(
        self,
        client: Any = None,
        *,
        scheduler: str | None = None,
        n_workers: int | None = None,
        retries: int = 2,
        threads: int | None = 1,
    ) -> None:
        if client is not None and scheduler is not None:
            raise InvalidInputError("Give either client or scheduler, not both.")
        self.client, self.scheduler = client, scheduler
        self.n_workers = check_int(n_workers, "n_workers", minimum=1, allow_none=True)
        self.retries = int(check_int(retries, "retries", minimum=0) or 0)
        self.threads = check_int(threads, "threads", minimum=1, allow_none=True)

    def run(
        self,
        tasks: Iterable[Task],
        shared: Sequence[Any] = (),
        *,
        on_result: OnResult | None = None,
        window: int | None = None,
    ) -> None:
        """See :meth:`Executor.run`."""
        window = check_window(window)
        with dask_client(self.client, scheduler=self.scheduler, n_workers=self.n_workers) as client:
            _run(client, tasks, shared, retries=self.retries, threads=self.threads, on_result=on_result,
                 errors="return", window=window)


def run_tasks_dask(
    client: Any,
    tasks: Sequence[Task],
    shared: Sequence[Any] = (),
    *,
    retries: int = 2,
    threads: int | None = 1,
    on_result: OnResult | None = None,
    errors: str = "raise",
) -> list[Any]:
    """Run ``tasks`` (calls that may depend on earlier ones) on ``client``; their results in order.

    Parameters
    ----------
    client : distributed.Client
        The cluster to run on.
    tasks : sequence of Task
        The calls, in an order where every :class:`After` refers to an earlier task.
    shared : sequence
        Trailing positional arguments of every task with ``shared=True``, sent once.
    retries, threads
        As for :class:`DaskExecutor`.
    on_result : callable, optional
        ``on_result(index, result)`` in this process as each gathered task finishes.
    errors : {"raise", "return"}
        ``"raise"``: a task that raised cancels the others and its exception is raised here;
        ``"return"``: it gives a :class:`TaskError` as its result (and as that of the tasks
        depending on it) and the others run.

    Returns
    -------
    list
        One entry per task: its result when gathered (None otherwise).
    """
    check_int(retries, "retries", minimum=0)
    check_choice(errors, "errors", ("raise", "return"))
    tasks = [task for _, task in checked_tasks(tasks)]
    results: list[Any] = [None] * len(tasks)

    def keep(index: int, result: Any) -> None:
        results[index] = result
        if on_result is not None:
            on_result(index, result)

    _run(client, tasks, shared, retries=retries, threads=threads, on_result=keep, errors=errors, window=None)
    return results


def run_cells_dask(
    client: Any,
    function: Callable[..., Any],
    cells: Sequence[Sequence[Any]],
    shared: Sequence[Any] = (),
    *,
    retries: int = 2,
    threads: int | None = 1,
    on_result: OnResult | None = None,
) -> list[Any]:
    """``[function(*cell, *shared) for cell in cells]``, each call a task on ``client``; results in order.

    An exception a call raises is raised here, after the other tasks are cancelled.
    """
    if not callable(function):
        raise InvalidInputError(f"function must be callable, got {type(function).__name__}.")
    tasks = [Task(function, tuple(cell)) for cell in cells]
    return run_tasks_dask(client, tasks, shared, retries=retries, threads=threads, on_result=on_result)
