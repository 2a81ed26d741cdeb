"""One partition's task: read or take its rows, encode them, fit the explainer, explain them chunk by chunk.

:func:`explain_partition` is the function every backend runs, once per :class:`Partition`,
with the run's :class:`ExplainJob`, model and background (shared: sent to a cluster once).
Its rows are explained in the row chunks of :mod:`agnostic_xai.comparison.chunks`, seeded
as ``compare`` seeds them (:func:`~agnostic_xai.comparison.chunks.chunk_seed`), so that a
row's values depend on neither the partitioning nor the backend and equal ``compare``'s.
Errors never escape the task: they become :class:`~agnostic_xai.execution.Failure` records of the rows they
cost (the whole partition when fitting failed, one chunk when its ``explain`` call failed).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from .._params import clone
from ..attribution import Attribution
from ..comparison.chunks import explain_rows, row_chunks
from ..execution.cluster import torch_threads
from ..execution.failures import Failure
from ..groups import FeatureGroups
from .encoding import Encoder, encode
from .portable import as_adapter
from .sources import Partition

__all__ = ["ExplainJob", "PartitionFailure", "PartitionResult", "explain_partition", "merged"]


#: The failure record of rows that could not be explained: the package's one failure type,
#: with the rows ``[start, stop)`` (positions in the table) it concerns.
PartitionFailure = Failure


def merged(failures: list[Failure]) -> tuple[Failure, ...]:
    """Adjacent failed ranges with the same error and message, as one range, in row order."""
    out: list[Failure] = []
    for item in sorted(failures, key=lambda f: f.start or 0):
        last = out[-1] if out else None
        if last is not None and last.stop == item.start and (last.error, last.message) == (item.error, item.message):
            out[-1] = replace(last, stop=item.stop)
        else:
            out.append(item)
    return tuple(out)


@dataclass(frozen=True)
class ExplainJob:
    """Everything a partition's task needs besides its rows, the model and the background (sent once).

    ``explainer`` is configured and unfitted; a stochastic one carries its own seed
    ``derive_seed(seed, name)`` as ``random_state``, as in ``compare``.
    """

    explainer: Any
    name: str
    seed: int
    row_chunk: int
    groups: FeatureGroups | None
    feature_columns: tuple[str, ...] | None
    id_column: str | None
    target: int | None
    torch_threads: int | None
    encoder: Encoder | None = None
    read_columns: tuple[str, ...] | None = None  # raw columns read from a file; None: every column


@dataclass
class PartitionResult:
    """What one partition's task produced: the attribution of its explained rows, their ids, its failures."""

    index: int
    start: int
    stop: int
    attribution: Attribution | None = None
    row_ids: np.ndarray | None = None
    fit_model_rows: int = 0
    failures: list[Failure] = field(default_factory=list)

    @property
    def model_rows(self) -> int:
        """Rows the model evaluated for this partition, fitting included."""
        return self.fit_model_rows + (0 if self.attribution is None else self.attribution.model_rows)


def _failure(job: ExplainJob, start: int, stop: int, exc: BaseException) -> Failure:
    """The failure of rows ``[start, stop)`` lost to ``exc`` (an unexpected error keeps its file:line)."""
    return Failure.from_exception(exc, explainer=job.name, stage="explain", start=int(start), stop=int(stop))


def _model_rows_of(job: ExplainJob, adapter: Any, rows: Any, partition: Partition) -> tuple[np.ndarray, np.ndarray]:
    """The row ids and the validated model input of a partition's rows."""
    if isinstance(rows, pd.DataFrame):
        ids = rows[job.id_column].to_numpy() if job.id_column else np.arange(partition.start, partition.stop)
        if job.encoder is not None:
            rows = encode(job.encoder, rows)
        X = adapter.validate(rows[list(job.feature_columns)] if job.feature_columns else rows)
    else:
        ids, X = np.arange(partition.start, partition.stop), adapter.validate(rows)
    if X.shape[0] != partition.n_rows:
        raise RuntimeError(f"read {X.shape[0]} rows for a partition of {partition.n_rows}")
    return ids, X


def explain_partition(
    partition: Partition, rows: Any, job: ExplainJob, model: Any, background: np.ndarray, source: Any = None
) -> PartitionResult:
    """Explain one partition chunk by chunk; errors become :class:`PartitionFailure` records.

    ``rows`` are the partition's rows when they travel with the task (in-memory data, CSV
    chunks); otherwise (None) they are read from ``source`` (a Parquet source) here.
    """
    result = PartitionResult(partition.index, partition.start, partition.stop)
    with torch_threads(job.torch_threads):
        try:
            adapter = as_adapter(model)
            if rows is None:
                rows = source.read(partition.start, partition.stop, job.read_columns)
            ids, X = _model_rows_of(job, adapter, rows, partition)
            explainer = clone(job.explainer)
            rows_before = adapter.rows_evaluated
            explainer.fit(adapter, background, groups=job.groups)
            result.fit_model_rows = adapter.rows_evaluated - rows_before
        except Exception as exc:  # noqa: BLE001 - every error is this partition's failure, the others go on
            result.failures.append(_failure(job, partition.start, partition.stop, exc))
            return result
        pieces: list[Attribution] = []
        kept: list[np.ndarray] = []
        for begin, end in row_chunks(partition.n_rows, job.row_chunk):
            start, stop = partition.start + begin, partition.start + end
            target = partition.target[begin:end] if partition.target is not None else job.target
            try:
                pieces.append(explain_rows(explainer, X[begin:end], target, job.seed, job.name, start))
            except Exception as exc:  # noqa: BLE001 - every error is this chunk's failure, the others go on
                result.failures.append(_failure(job, start, stop, exc))
                continue
            kept.append(np.arange(begin, end))
    if pieces:
        result.attribution = Attribution.concatenate(pieces)
        result.row_ids = ids[np.concatenate(kept)]
    return result
