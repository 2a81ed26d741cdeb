"""Running work: task graphs, the executors that run them (chosen by name), and the failure record.

``compare`` (and ``explain``) describe their work as a graph of
:class:`~agnostic_xai.execution.graph.Task` objects and hand it to an
:class:`~agnostic_xai.execution.executors.Executor`: ``"local"`` (this process),
``"processes"`` (joblib worker processes, one job per lane) or ``"dask"`` (a Dask
cluster), or one registered with :func:`register_executor`. Dask is an optional dependency,
imported only when its executor runs.
"""

from __future__ import annotations

from .cluster import MissingDependencyError, dask_client
from .executors import Executor, available_executors, get_executor, register_executor
from .failures import Failure
from .graph import After, Task, TaskError
from .shared import SharedObjectError

__all__ = [
    "After",
    "Executor",
    "Failure",
    "MissingDependencyError",
    "SharedObjectError",
    "Task",
    "TaskError",
    "available_executors",
    "dask_client",
    "get_executor",
    "register_executor",
]
