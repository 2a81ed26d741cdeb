"""Scale out: explain whole tables and run comparisons on a Dask cluster.

:func:`explain` (from :mod:`agnostic_xai.io.explain`) explains every row of a table, in
partitions, in this process or on Dask workers, with the same values whatever the backend
and the partitioning.
:func:`run_tasks_dask` runs a task graph on a Dask cluster (:func:`run_cells_dask`:
independent calls of one function); both live in :mod:`agnostic_xai.execution`, with the
other executors, and are re-exported here. Dask is an
optional dependency (``pip install agnostic-xai[dask]``), imported only when a Dask backend
is used.
"""

from __future__ import annotations

from ..execution.cluster import MissingDependencyError, dask_client
from ..execution.dask import run_cells_dask, run_tasks_dask
from ..execution.graph import After, Task, TaskError
from ..execution.shared import SharedObjectError
from ..io.explain import (
    DEFAULT_PARTITION_ROWS,
    DEFAULT_ROW_CHUNK,
    ExplainResult,
    PartitionFailure,
    explain,
)

__all__ = [
    "DEFAULT_PARTITION_ROWS",
    "DEFAULT_ROW_CHUNK",
    "After",
    "ExplainResult",
    "MissingDependencyError",
    "PartitionFailure",
    "SharedObjectError",
    "Task",
    "TaskError",
    "dask_client",
    "explain",
    "run_cells_dask",
    "run_tasks_dask",
]
