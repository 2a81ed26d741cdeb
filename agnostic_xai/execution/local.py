"""The ``local`` executor: every task in this process, one after the other, in the graph's order."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from .executors import Executor, OnResult, check_window
from .graph import Results, Task, call_task, checked_tasks, task_error

__all__ = ["LocalExecutor", "run_here"]


def run_here(
    tasks: Iterable[Any], shared: Sequence[Any], on_result: OnResult | None, window: int | None = None
) -> None:
    """Run ``tasks`` in this process in order (the body of :class:`LocalExecutor` and of a lane's job)."""
    if window is None:
        tasks = [task for _, task in checked_tasks(tasks)]
        results = Results(tasks)
    else:
        results = Results()
    for index, task in checked_tasks(tasks, window):
        try:
            value = call_task(task, results, shared)
        except Exception as exc:  # a failing task never sinks the run; BaseException (Ctrl-C) does
            value = task_error(exc)
        results.put(index, task, value)
        if task.gather and on_result is not None:
            on_result(index, value)


class LocalExecutor(Executor):
    """Runs each task here, in the order given (one task in flight, whatever ``window``).

    Results reach ``on_result`` as they are, unpickled (:attr:`in_process`).
    """

    name = "local"
    in_process = True

    def run(
        self,
        tasks: Iterable[Task],
        shared: Sequence[Any] = (),
        *,
        on_result: OnResult | None = None,
        window: int | None = None,
    ) -> None:
        """See :meth:`Executor.run`."""
        run_here(tasks, shared, on_result, check_window(window))
