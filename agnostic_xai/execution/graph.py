"""Task graphs: the calls an executor runs, how they depend on each other, and how they fail.

A graph is a sequence (or a lazy iterator) of :class:`Task` objects. A task is one call
``function(*args, *shared)``: its leading arguments are small values or :class:`After`
references to the results of earlier tasks; the shared arguments (the model, the rows, the
background: what every task needs) are given to the executor once. A task that raised, or
whose dependency did, has a :class:`TaskError` as its result. Tasks of one ``lane`` run in
one process, in order (the ``processes`` executor gives each lane to one worker, so that a
lane can reuse what it built: a fitted explainer).

This module owns those records and their checks; :mod:`agnostic_xai.execution.executors`
runs them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from ..exceptions import InvalidInputError

__all__ = ["After", "Results", "Task", "TaskError", "call_task", "check_task", "checked_tasks", "task_error"]


@dataclass(frozen=True)
class After:
    """In a :class:`Task`'s arguments: the result of the task at ``index`` (an earlier one).

    On a cluster the result stays there: the dependent task receives it there, and it is
    copied to this process only when its own task is gathered.
    """

    index: int


@dataclass(frozen=True)
class Task:
    """One call ``function(*args, *shared)``.

    Attributes
    ----------
    function : callable
        A module-level (picklable) function.
    args : tuple
        Leading positional arguments: small values, or :class:`After` references to the
        results of earlier tasks.
    shared : bool
        Append the run's shared arguments.
    gather : bool
        Bring the result back to this process (and pass it to ``on_result``); False for
        intermediate results that only other tasks use.
    name : str, optional
        A label (default: the function's name), the prefix of the task's key on Dask.
    lane : str, optional
        Tasks of one lane run in one process, in the order given (``processes`` runs each
        lane as one worker job, so a task may depend only on tasks of its own lane there).
        None: the task is a lane of its own.
    """

    function: Callable[..., Any]
    args: tuple[Any, ...] = ()
    shared: bool = True
    gather: bool = True
    name: str | None = None
    lane: str | None = None

    @property
    def label(self) -> str:
        """The task's name, or its function's."""
        return str(self.name or getattr(self.function, "__name__", "task"))

    @property
    def dependencies(self) -> list[int]:
        """Indices of the tasks whose results this one takes."""
        return [arg.index for arg in self.args if isinstance(arg, After)]


@dataclass(frozen=True)
class TaskError:
    """The result of a task that raised (or whose dependency raised): the error's type name and message."""

    error: str
    message: str


def task_error(exc: BaseException) -> TaskError:
    """The :class:`TaskError` of an exception a task raised."""
    return TaskError(type(exc).__name__, str(exc) or type(exc).__name__)


def check_task(task: Any, index: int) -> Task:
    """``task`` when it is a :class:`Task` whose :class:`After` arguments refer to earlier tasks."""
    if not isinstance(task, Task):
        raise InvalidInputError(f"tasks must be Task objects, got {type(task).__name__} at position {index}.")
    if not callable(task.function):
        raise InvalidInputError(f"Task {index}: function must be callable, got {type(task.function).__name__}.")
    if task.lane is not None and not isinstance(task.lane, str):
        raise InvalidInputError(f"Task {index}: lane must be a string or None, got {type(task.lane).__name__}.")
    for arg in task.args:
        if isinstance(arg, After) and not (
            isinstance(arg.index, int) and not isinstance(arg.index, bool) and 0 <= arg.index < index
        ):
            raise InvalidInputError(f"Task {index} depends on task {arg.index}; a task may depend on earlier ones only.")
    return task


def checked_tasks(tasks: Iterable[Any], window: int | None = None) -> Iterator[tuple[int, Task]]:
    """``(index, task)`` for each task as it is consumed, checked (lazily: ``tasks`` may be an iterator).

    With a ``window`` (tasks streamed, results released as they are gathered), a task may
    depend on intermediate (``gather=False``) tasks only: a gathered result is not kept.
    """
    if isinstance(tasks, (str, bytes)) or not isinstance(tasks, Iterable):
        raise InvalidInputError(f"tasks must be an iterable of Task objects, got {type(tasks).__name__}.")
    gathered: set[int] = set()
    for index, task in enumerate(tasks):
        task = check_task(task, index)
        if window is not None:
            late = [i for i in task.dependencies if i in gathered]
            if late:
                raise InvalidInputError(
                    f"Task {index} depends on gathered task {late[0]}; with a window, tasks may depend on "
                    "intermediate (gather=False) tasks only."
                )
            if task.gather:
                gathered.add(index)
        yield index, task


class Results:
    """Results of finished tasks that later tasks may still need, released when none does.

    With every task known in advance (``tasks`` given), a result is released once its last
    dependent has taken it; with a lazy graph, intermediate results are kept until the run
    ends and gathered ones are not kept (see :func:`checked_tasks`).
    """

    def __init__(self, tasks: Sequence[Task] | None = None) -> None:
        self._values: dict[int, Any] = {}
        self._waiting: dict[int, int] | None = None
        if tasks is not None:
            self._waiting = {}
            for task in tasks:
                for i in task.dependencies:
                    self._waiting[i] = self._waiting.get(i, 0) + 1

    def put(self, index: int, task: Task, value: Any) -> None:
        """Hold the result of task ``index`` while a later task may need it."""
        if self._waiting is None:
            if not task.gather:
                self._values[index] = value
        elif self._waiting.get(index, 0):
            self._values[index] = value

    def take(self, index: int) -> Any:
        """The result of task ``index`` for one dependent (released after the last one)."""
        value = self._values[index]
        if self._waiting is not None:
            self._waiting[index] -= 1
            if self._waiting[index] == 0:
                del self._values[index]
        return value


def call_task(task: Task, results: Results, shared: Sequence[Any]) -> Any:
    """Run ``task`` here with its dependencies' results from ``results``; a :class:`TaskError` if one failed.

    An exception the task raises propagates (the executor turns it into a :class:`TaskError`).
    """
    args = []
    failed: TaskError | None = None
    for arg in task.args:
        if isinstance(arg, After):
            arg = results.take(arg.index)
            if isinstance(arg, TaskError) and failed is None:
                failed = arg
        args.append(arg)
    if failed is not None:
        return failed
    if task.shared:
        args.extend(shared)
    return task.function(*args)
