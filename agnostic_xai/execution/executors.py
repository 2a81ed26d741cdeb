"""Executors: what runs a task graph, behind one small interface, chosen by name.

An :class:`Executor` runs the :class:`~agnostic_xai.execution.graph.Task` objects of a
graph and hands every gathered result to ``on_result`` in this process, in the order the
tasks finish. Where it runs them is its own business: ``"local"`` here, one after the
other; ``"processes"`` in worker processes, one job per lane; ``"dask"`` as tasks on a Dask
cluster. The same graph gives the same results on every executor.

A new backend is one class and one call::

    class Threads(Executor):
        name = "threads"
        def run(self, tasks, shared=(), *, on_result=None, window=None): ...

    register_executor("threads", Threads)
    compare(model, X, backend="threads")

The built-in executors are imported on first use (Dask only when ``"dask"`` is asked for).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from .._checks import check_int, shown
from ..exceptions import InvalidInputError, InvalidTypeError, UnknownNameError

__all__ = ["Executor", "OnResult", "available_executors", "get_executor", "register_executor"]

#: ``on_result(index, result)``: called in this process for every gathered task.
OnResult = Callable[[int, Any], None]

_BUILT_IN = {
    "local": "local:LocalExecutor",
    "processes": "processes:ProcessExecutor",
    "dask": "dask:DaskExecutor",
}
_REGISTERED: dict[str, Callable[..., Executor]] = {}


class Executor:
    """Runs task graphs; a subclass sets :attr:`name` and :attr:`in_process` and implements :meth:`run`.

    Attributes
    ----------
    name : str
        The name it is registered under (recorded as a comparison's ``backend``).
    in_process : bool
        True when the tasks run in this process and their results reach ``on_result``
        as they are, without being pickled (``local``): a result may then hold objects
        that do not pickle.
    """

    name: str = "executor"
    in_process: bool = False

    def run(
        self,
        tasks: Iterable[Any],
        shared: Sequence[Any] = (),
        *,
        on_result: OnResult | None = None,
        window: int | None = None,
    ) -> None:
        """Run ``tasks``; call ``on_result(index, result)`` here for each gathered one as it finishes.

        Parameters
        ----------
        tasks : iterable of Task
            The graph, in an order where every :class:`~agnostic_xai.execution.graph.After`
            refers to an earlier task; it may be a lazy iterator.
        shared : sequence
            Trailing positional arguments of every task with ``shared=True``, sent to
            where the tasks run once, not with each task.
        on_result : callable, optional
            ``on_result(index, result)``, in this process, for every task with
            ``gather=True``, in completion order. A task that raised has a
            :class:`~agnostic_xai.execution.graph.TaskError` as its result, and so do the
            tasks that depend on it; the other tasks go on. A ``BaseException`` that is not
            an ``Exception`` (``KeyboardInterrupt``) stops the run and propagates.
        window : int, optional
            At most this many gathered tasks in flight (read from ``tasks`` as earlier
            ones finish), so that a graph larger than memory streams through; tasks may
            then depend on intermediate (``gather=False``) tasks only. None: no bound.
        """
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


def check_window(window: Any) -> int | None:
    """``window`` as a positive int, or None."""
    return check_int(window, "window", minimum=1, allow_none=True)


def register_executor(name: str, factory: Callable[..., Executor]) -> None:
    """Make ``factory(**options)`` the executor of ``backend=name``.

    Parameters
    ----------
    name : str
        The backend's name; a built-in name (``"local"``, ``"processes"``, ``"dask"``)
        cannot be replaced, another registered name is replaced.
    factory : callable
        An :class:`Executor` subclass, or any callable returning an Executor, called with
        the options :func:`get_executor` receives.
    """
    if not isinstance(name, str) or not name:
        raise InvalidTypeError(f"An executor is named by a non-empty string, got {shown(name)}.")
    if name in _BUILT_IN:
        raise InvalidInputError(f"{name!r} is a built-in executor and cannot be replaced; register another name.")
    if not callable(factory):
        raise InvalidTypeError(f"factory must be callable (an Executor class), got {shown(factory)}.")
    _REGISTERED[name] = factory


def available_executors() -> list[str]:
    """Names ``backend`` accepts: the built-in executors, then the registered ones."""
    return [*_BUILT_IN, *(name for name in _REGISTERED if name not in _BUILT_IN)]


def _factory(name: str) -> Callable[..., Executor]:
    if name in _BUILT_IN:
        module, cls = _BUILT_IN[name].split(":")
        factory: Callable[..., Executor] = getattr(importlib.import_module(f"{__package__}.{module}"), cls)
        return factory
    if name in _REGISTERED:
        return _REGISTERED[name]
    raise UnknownNameError(f"Unknown executor {name!r}; available: {available_executors()}.")


def check_executor_name(spec: Any, name: str = "backend") -> None:
    """Refuse a ``backend`` that is neither a registered name nor an :class:`Executor` (nothing is built)."""
    if isinstance(spec, Executor):
        return
    if not isinstance(spec, str):
        raise InvalidTypeError(
            f"{name} must be an executor name {available_executors()} or an Executor, got {shown(spec)}."
        )
    if spec not in _BUILT_IN and spec not in _REGISTERED:
        raise UnknownNameError(f"Unknown executor {spec!r}; available: {available_executors()}.")


def get_executor(spec: Any, **options: Any) -> Executor:
    """The executor ``spec`` names (built with ``options``), or ``spec`` itself when it is an Executor.

    Parameters
    ----------
    spec : str or Executor
        ``"local"``; ``"processes"`` (options: ``n_jobs``); ``"dask"`` (options:
        ``client``, ``scheduler``, ``n_workers``, ``retries``, ``threads``); or a name
        given to :func:`register_executor`.
    **options
        Passed to the executor's factory; none may be given with an Executor instance.

    Raises
    ------
    UnknownNameError
        A name that is not registered.
    InvalidTypeError
        ``spec`` of another type, or options the executor does not take.
    """
    if isinstance(spec, Executor):
        if options:
            raise InvalidInputError(f"Options {sorted(options)} cannot be given with an Executor instance.")
        return spec
    check_executor_name(spec)
    factory = _factory(spec)
    try:
        executor = factory(**options)
    except TypeError as exc:
        if isinstance(exc, InvalidInputError):
            raise
        raise InvalidTypeError(f"Executor {spec!r} does not take these options {sorted(options)}: {exc}") from exc
    if not isinstance(executor, Executor):
        raise InvalidTypeError(f"The factory of executor {spec!r} returned {shown(executor)}, not an Executor.")
    return executor
