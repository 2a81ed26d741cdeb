"""Scale out: explain whole tables and run comparisons on a Dask cluster.

:func:`explain` (from :mod:`agnostic_xai.io.explain`) explains every row of a table, in
partitions, in this process or on Dask workers, with the same values whatever the backend
and the partitioning.
:func:`run_tasks_dask` runs ``compare``'s row chunks and metric cells as Dask tasks
(:func:`run_cells_dask`: independent calls of one function). Dask is an
optional dependency (``pip install agnostic-xai[dask]``), imported only when a Dask backend
is used.
"""

from __future__ import annotations

from ..io.explain import (
    DEFAULT_PARTITION_ROWS,
    DEFAULT_ROW_CHUNK,
    ExplainResult,
    PartitionFailure,
    explain,
)
from .cells import After, Task, TaskError, run_cells_dask, run_tasks_dask
from .cluster import MissingDependencyError, dask_client
from .shared import SharedObjectError

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
