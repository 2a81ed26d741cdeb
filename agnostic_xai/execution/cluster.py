"""Dask clients for the distributed backend: the caller's, one for a scheduler address, or a local cluster.

Dask is an optional dependency (``pip install agnostic-xai[dask]``); it is imported here,
on first use, and nowhere else at import time.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from ..exceptions import AgnosticXAIError, InvalidInputError

__all__ = ["MissingDependencyError", "dask_client", "import_distributed", "torch_threads"]


class MissingDependencyError(AgnosticXAIError, ImportError):
    """An optional dependency that the requested feature needs is not installed."""


def import_distributed() -> Any:
    """The ``dask.distributed`` module, or a clear error saying how to install it."""
    try:
        from dask import distributed
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise MissingDependencyError(
            "backend='dask' needs dask.distributed, which is not installed: "
            "pip install 'agnostic-xai[dask]' (or use backend='local')."
        ) from exc
    return distributed


@contextlib.contextmanager
def dask_client(client: Any = None, *, scheduler: str | None = None, n_workers: int | None = None) -> Iterator[Any]:
    """A ``dask.distributed.Client`` for the block; closed afterwards only if it was created here.

    Parameters
    ----------
    client : distributed.Client, optional
        Used as it is and left open.
    scheduler : str, optional
        Address of a running scheduler (``"tcp://10.0.0.5:8786"``): a client connected to it
        is opened for the block and closed after it (the cluster keeps running).
    n_workers : int, optional
        Workers of the default :class:`~distributed.LocalCluster` started when neither
        ``client`` nor ``scheduler`` is given (default: dask's choice, one per core). Each
        worker is a process with one thread: explainers and torch then use one core each,
        and shap's use of numpy's process-wide random generator stays per task.
    """
    if client is not None and scheduler is not None:
        raise InvalidInputError("Give either client or scheduler, not both.")
    if n_workers is not None and (isinstance(n_workers, bool) or not isinstance(n_workers, int) or n_workers < 1):
        raise InvalidInputError(f"n_workers must be a positive int, got {n_workers!r}.")
    distributed = import_distributed()
    if client is not None:
        if not isinstance(client, distributed.Client):
            raise InvalidInputError(f"client must be a dask.distributed.Client, got {type(client).__name__}.")
        yield client
        return
    if scheduler is not None:
        try:
            own = distributed.Client(scheduler)
        except OSError as exc:
            raise InvalidInputError(
                f"Cannot reach the dask scheduler at {scheduler!r}: {exc}. Check the address (tcp://host:8786) "
                "and that the scheduler is running."
            ) from exc
        with own:
            yield own
        return
    cluster = distributed.LocalCluster(
        n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=None
    )
    try:
        with distributed.Client(cluster) as own:
            yield own
    finally:
        cluster.close()


@contextlib.contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """Run the block with ``n`` torch intra-op threads (None: leave them), restoring the number after.

    A worker process per core that also lets torch start one thread per core would run
    ``cores²`` threads; tasks on a cluster therefore use one.
    """
    if n is None:
        yield
        return
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)
