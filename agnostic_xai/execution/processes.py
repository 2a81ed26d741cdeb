"""The ``processes`` executor: each lane of the graph as one job in a pool of worker processes (joblib/loky).

A lane (:attr:`~agnostic_xai.execution.graph.Task.lane`: in ``compare``, one explainer's
chunks and metric cells) runs in one worker, in order, so that its tasks can reuse what an
earlier one built in that process (a fitted explainer). A task without a lane is a job of
its own. A lane's tasks must be given one after the other, and a task may depend only on
tasks of its own lane: a lane's results travel back when the whole lane is done.
"""

from __future__ import annotations

import pickle
from collections.abc import Iterable, Iterator, Sequence
from itertools import islice
from typing import Any

from .._checks import check_int
from ..exceptions import InvalidInputError
from .executors import Executor, OnResult, check_window
from .graph import After, Task, TaskError, checked_tasks, task_error
from .local import run_here

__all__ = ["ProcessExecutor"]

_Lane = list[tuple[int, Task]]


def _lanes(tasks: Iterable[Any], window: int | None) -> Iterator[_Lane]:
    """The graph cut into lanes, each a list of ``(index, task)``, checked as they are read.

    A named lane is complete when the next lane's first task is read (one task ahead).
    """
    owner: dict[int, object] = {}  # task index -> its lane's key
    closed: set[str] = set()
    lane: _Lane = []
    key: object = None
    for index, task in checked_tasks(tasks, window):
        this: object = task.lane if task.lane is not None else ("task", index)
        if lane and this != key:
            if isinstance(key, str):
                closed.add(key)
            yield lane
            lane = []
        if isinstance(this, str) and this in closed:
            raise InvalidInputError(
                f"Task {index} of lane {this!r} comes after another lane's tasks; give a lane's tasks one after the other."
            )
        for i in task.dependencies:
            if owner.get(i) != this:
                raise InvalidInputError(
                    f"Task {index} depends on task {i} of another lane; the processes executor runs each lane in its "
                    "own worker, so a task may depend on tasks of its own lane only."
                )
        owner[index] = this
        if task.lane is None:  # a lane of its own, complete now (no need to read ahead)
            yield [(index, task)]
            key = None
            continue
        key = this
        lane.append((index, task))
    if lane:
        yield lane


def _run_lane(lane: _Lane, shared: Sequence[Any]) -> bytes:
    """One lane in a worker: its gathered ``(index, result)`` pairs, pickled here.

    A result that does not pickle becomes a :class:`TaskError` (the others still travel).
    """
    position = {index: i for i, (index, _) in enumerate(lane)}
    local = [
        Task(
            task.function,
            tuple(After(position[a.index]) if isinstance(a, After) else a for a in task.args),
            task.shared,
            task.gather,
            task.name,
            task.lane,
        )
        for _, task in lane
    ]
    out: list[tuple[int, Any]] = []
    run_here(local, shared, lambda i, value: out.append((lane[i][0], value)))
    try:
        return pickle.dumps(out)
    except Exception:
        kept = []
        for index, value in out:
            try:
                pickle.dumps(value)
            except Exception as exc:
                value = task_error(exc)
            kept.append((index, value))
        return pickle.dumps(kept)


class ProcessExecutor(Executor):
    """Runs each lane as one job on ``n_jobs`` worker processes (joblib's loky backend).

    Parameters
    ----------
    n_jobs : int, optional
        Worker processes (None: one per core).
    """

    name = "processes"
    in_process = False

    def __init__(self, n_jobs: int | None = None) -> None:
        self.n_jobs = check_int(n_jobs, "n_jobs", minimum=1, allow_none=True)

    def run(
        self,
        tasks: Iterable[Task],
        shared: Sequence[Any] = (),
        *,
        on_result: OnResult | None = None,
        window: int | None = None,
    ) -> None:
        """See :meth:`Executor.run`; ``window`` bounds the lanes in flight."""
        from joblib import Parallel, delayed

        window = check_window(window)
        lanes = _lanes(tasks, window)
        shared = list(shared)
        n_jobs = self.n_jobs if self.n_jobs is not None else -1
        with Parallel(n_jobs=n_jobs, backend="loky", return_as="generator_unordered") as parallel:
            while True:
                batch = list(lanes) if window is None else list(islice(lanes, window))
                if not batch:
                    return
                jobs = (delayed(_run_lane)(lane, shared) for lane in batch)
                delivered: set[int] = set()
                results = iter(parallel(jobs))
                while True:
                    try:
                        payload = next(results)
                    except StopIteration:
                        break
                    except Exception as exc:
                        # The pool itself failed (a worker process died): joblib stops the batch,
                        # so every task of it not delivered yet fails with that error.
                        error = task_error(exc)
                        for lane in batch:
                            for index, task in lane:
                                if task.gather and index not in delivered and on_result is not None:
                                    on_result(index, TaskError(error.error, error.message))
                        break
                    for index, value in pickle.loads(payload):
                        delivered.add(index)
                        if on_result is not None:
                            on_result(index, value)
                if window is None:
                    return
