"""Explain rows in worker processes, for explainers whose per-row loop runs inside third-party code.

shap's KernelExplainer and lime's LimeTabularExplainer explain one row at a time in Python;
their model calls are small, so one process cannot keep the cores busy. Such explainers
draw one seed per row *before* splitting the rows, explain each row under its own seed,
and hand contiguous chunks of rows to :func:`map_row_chunks`: the values are then the same
for any ``n_jobs`` (and any chunking), since no row's randomness depends on another's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .._checks import check_int
from ..exceptions import InvalidInputError

__all__ = ["check_n_jobs", "map_row_chunks"]


def check_n_jobs(n_jobs: Any) -> int:
    """``n_jobs`` as a positive int (``-1`` means every core)."""
    kind = "a positive int or -1 (all cores)"
    if check_int(n_jobs, "n_jobs", minimum=-1, kind=kind) == 0:
        raise InvalidInputError(f"n_jobs must be {kind}, got 0.")
    if n_jobs == -1:
        import os

        return max(1, os.cpu_count() or 1)
    return int(n_jobs)


def _in_worker(function: Callable[..., Any], args: tuple[Any, ...]) -> Any:
    # One process per core already: torch's intra-op threads would only oversubscribe them.
    # (loky limits the BLAS pools of its workers itself.)
    import torch

    torch.set_num_threads(1)
    return function(*args)


def map_row_chunks(
    function: Callable[..., Any], n_rows: int, n_jobs: int, per_row: tuple[np.ndarray, ...], shared: tuple[Any, ...]
) -> list[Any]:
    """``function(*shared, *chunk_of_each_per_row_array)`` over contiguous row chunks.

    Runs in-process for ``n_jobs == 1`` (or a single row); otherwise in ``min(n_jobs,
    n_rows)`` loky worker processes. Results are returned in row order.
    """
    jobs = min(n_jobs, n_rows)
    bounds = np.linspace(0, n_rows, jobs + 1).astype(int)
    chunks = [tuple(a[lo:hi] for a in per_row) for lo, hi in zip(bounds[:-1], bounds[1:], strict=True)]
    if jobs == 1:
        return [function(*shared, *chunk) for chunk in chunks]
    from joblib import Parallel, delayed

    return list(Parallel(n_jobs=jobs, backend="loky")(delayed(_in_worker)(function, (*shared, *chunk)) for chunk in chunks))
