"""Run independent cells of work (``compare``'s explainers) as tasks on a Dask cluster.

``compare`` runs one cell per explainer: fit it, explain the rows, score the attribution
with every metric. The cells share large arguments (the adapter, the rows, the
background, the targets, the ground truth) and differ in a few small ones (the
explainer's name and configuration). :func:`run_cells_dask` sends the shared arguments to
every worker once and each cell as one task.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ..exceptions import InvalidInputError
from .cluster import import_distributed, torch_threads

__all__ = ["run_cells_dask"]

_INLINE = (type(None), bool, int, float, str, bytes)


def _call(function: Callable[..., Any], threads: int | None, *args: Any) -> Any:
    with torch_threads(threads):
        return function(*args)


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
        them in its result, as ``compare``'s per-explainer function does: an exception it
        raises is raised here, after the other tasks are cancelled.
    cells : sequence of argument tuples
        The leading positional arguments of each call (small: a name, a configured
        explainer, a list of metrics).
    shared : sequence
        Trailing positional arguments common to every call. Each one that is not a plain
        scalar or None (adapters, arrays, feature groups, reference attributions) is
        scattered to every worker ONCE (``client.scatter(..., broadcast=True)``) and passed
        to the tasks by reference, not re-sent with each task.
    retries : int
        Times a task that raised is re-run. A task whose worker dies is re-run elsewhere
        by the scheduler in any case (dask's ``distributed.scheduler.allowed-failures``).
    threads : int or None
        Torch intra-op threads inside each task (None: leave the worker's setting); one
        avoids oversubscription with one single-threaded worker process per core.
    on_result : callable, optional
        Called as ``on_result(index, result)`` as each task finishes (for a progress bar).

    Returns
    -------
    list
        The results in the order of ``cells``, whatever order they finished in.

    Examples
    --------
    The comparison runner's cells (``runner.py``)::

        cells = run_cells_dask(
            client, _run_explainer,
            [(name, explainer, metric_list) for name, explainer in chosen],
            (*arguments, None),
        )
    """
    distributed = import_distributed()
    if not isinstance(client, distributed.Client):
        raise InvalidInputError(f"client must be a dask.distributed.Client, got {type(client).__name__}.")
    if not callable(function):
        raise InvalidInputError(f"function must be callable, got {type(function).__name__}.")
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise InvalidInputError(f"retries must be a non-negative int, got {retries!r}.")
    cells = [tuple(cell) for cell in cells]
    if not cells:
        return []
    shared = list(shared)
    heavy = [i for i, value in enumerate(shared) if not isinstance(value, _INLINE)]
    if heavy:
        # A list so that dask scatters each object as it is (a tuple or array would be one object too).
        futures = client.scatter([shared[i] for i in heavy], broadcast=True, hash=False)
        for i, future in zip(heavy, futures):
            shared[i] = future
    tasks = [client.submit(_call, function, threads, *cell, *shared, retries=retries, pure=False) for cell in cells]
    index = {task.key: i for i, task in enumerate(tasks)}
    results: list[Any] = [None] * len(tasks)
    try:
        for task in distributed.as_completed(tasks):
            i = index[task.key]
            results[i] = task.result()
            if on_result is not None:
                on_result(i, results[i])
    except BaseException:
        client.cancel(tasks)
        raise
    return results
