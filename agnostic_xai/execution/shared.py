"""Objects every task needs (a model, a background, a job), held on a Dask cluster so they survive lost workers.

Why not ``client.scatter(..., broadcast=True)``
-----------------------------------------------
Scattered data has no recipe: the scheduler knows it only as bytes held by some workers.
``broadcast=True`` puts a replica on every worker *at scatter time*, but nothing keeps them
there: the scheduler's Active Memory Manager (on by default, every 2 s) drops replicas that no
waiting task on that worker needs (``ReduceReplicas``), a restarted worker comes back empty,
and workers that join later never had one. When the worker holding the last replica dies, the
scheduler logs "caused the cluster to lose scattered data, which can't be recovered", forgets
the key, and every task depending on it is cancelled ("already forgotten"), although the task
itself could simply have run again. A worker that dies during the broadcast can also make
``scatter`` raise or wait forever for a copy to the dead worker.

:func:`share` makes each object the result of a tiny task instead (``cloudpickle.loads`` of
its bytes). The scheduler keeps a task's run spec, so when every copy of the result is lost it
recomputes it on a live worker, and the dependent tasks wait for it instead of being
cancelled. The object travels as opaque bytes, so the scheduler never unpickles it (it needs
neither torch nor the model's code), and other workers copy the result from a peer as usual.
"""

from __future__ import annotations

import uuid
import warnings
from collections.abc import Sequence
from typing import Any

from ..exceptions import AgnosticXAIError, InvalidInputError

__all__ = ["SharedObjectError", "share"]


class SharedObjectError(AgnosticXAIError, RuntimeError):
    """An object that every task needs could not be rebuilt on a Dask worker."""


def _unpickled(payload: bytes) -> Any:
    """Rebuild a shared object on a worker (the body of a shared object's task)."""
    import cloudpickle

    return cloudpickle.loads(payload)


def share(client: Any, objects: Sequence[Any], labels: Sequence[str], *, retries: int = 2) -> list[Any]:
    """Put each object on the cluster as a recomputable task and return its futures, once it exists.

    Parameters
    ----------
    client : distributed.Client
        The cluster.
    objects : sequence
        Objects that pickle with cloudpickle (an adapter, an array, a configuration).
    labels : sequence of str
        A short name per object, used in the task keys (``"model"``) and in errors.
    retries : int
        Times a task that raised while rebuilding an object is re-run.

    Returns
    -------
    list of distributed.Future
        One future per object, finished, to pass to ``client.submit`` as an argument: each
        task that needs it gets it from a worker that holds it, and if every copy is lost with
        its workers, the scheduler rebuilds it from the bytes it keeps.

    Raises
    ------
    SharedObjectError
        When an object cannot be rebuilt on a worker (a module missing there, say): every task
        would fail the same way, so this is reported once, before any task is submitted.
    """
    import cloudpickle
    from dask.distributed import wait

    if len(objects) != len(labels):
        raise InvalidInputError(f"{len(objects)} objects but {len(labels)} labels.")
    run = uuid.uuid4().hex
    futures = []
    with warnings.catch_warnings():
        # Dask warns about graphs over 10 MB and suggests sending data once, as a future that
        # tasks refer to: that is what this is, so a large model does not deserve the warning.
        warnings.filterwarnings("ignore", message="Sending large graph", category=UserWarning)
        for obj, label in zip(objects, labels):
            payload = cloudpickle.dumps(obj)
            futures.append(
                client.submit(_unpickled, payload, key=f"agnostic-xai-{label}-{run}", pure=False, retries=retries)
            )
    wait(futures)
    for future, label in zip(futures, labels):
        if future.status == "error":
            exc = future.exception()
            raise SharedObjectError(
                f"The {label} could not be rebuilt on a Dask worker: {type(exc).__name__}: {exc}. "
                "The workers need the same packages (and versions) as this process."
            ) from exc
        if future.status != "finished":
            raise SharedObjectError(f"The {label} could not be put on the Dask cluster (its task is {future.status}).")
    return futures
