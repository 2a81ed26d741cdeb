"""Where :func:`~agnostic_xai.explain`'s partitions go, in row order: one Attribution, or a Parquet file.

Partitions finish in any order (on a cluster); :class:`Sink` holds each one until those
before it have arrived, then takes it: kept for one :class:`~agnostic_xai.Attribution`
joined with :meth:`Attribution.concatenate <agnostic_xai.Attribution.concatenate>`, or
written as one row group of the output file (columns ``row_id``, one per attributed
feature, ``base_value``, ``target``) and dropped, so that only unfinished partitions are
held in memory. The file is written under a temporary name next to the output and renamed
over it when the run ends: an existing file is replaced whole or not at all, and a link at
that name is replaced, never written through.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from .._paths import temporary_sibling
from ..attribution import Attribution
from ..execution.failures import Failure
from .explain_result import ExplainResult
from .partition import ExplainJob, PartitionResult, merged

__all__ = ["RESERVED_COLUMNS", "Sink"]

#: Output columns that are not attributions; attributed features must not use these names.
RESERVED_COLUMNS = ("row_id", "base_value", "target")


class Sink:
    """Collects partition results and passes them on in row order: to a Parquet file or to memory.

    Parameters
    ----------
    path : Path or None
        The output Parquet file; None keeps the attributions for the result.
    attributed : sequence of str
        Names of the attributed features (the file's value columns).
    """

    def __init__(self, path: Path | None, attributed: Sequence[str]) -> None:
        self.path = path
        self.attributed = tuple(attributed)
        self.waiting: dict[int, PartitionResult] = {}
        self.next_index = 0
        self.kept: list[PartitionResult] = []
        self.failures: list[Failure] = []
        self.n_rows = self.n_explained = self.model_rows = self.n_partitions = 0
        self.writer: Any = None
        self.schema: Any = None
        self.temporary: Path | None = None

    def add(self, result: PartitionResult) -> None:
        """Take ``result`` and every waiting one that now follows, in partition order."""
        self.waiting[result.index] = result
        while self.next_index in self.waiting:
            self._take(self.waiting.pop(self.next_index))
            self.next_index += 1

    def _take(self, result: PartitionResult) -> None:
        self.n_partitions += 1
        self.n_rows += result.stop - result.start
        self.model_rows += result.model_rows
        self.failures.extend(result.failures)
        if result.attribution is None:
            return
        self.n_explained += result.attribution.n_rows
        if self.path is None:
            self.kept.append(result)
        else:
            self._write(result)

    def _write(self, result: PartitionResult) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        attribution = result.attribution
        assert attribution is not None and self.path is not None
        columns: dict[str, Any] = {"row_id": result.row_ids}
        columns.update({n: attribution.values[:, j] for j, n in enumerate(attribution.feature_names)})
        columns["base_value"] = attribution.base_values
        columns["target"] = attribution.target
        table = pa.Table.from_pydict(columns)
        if self.writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.schema = table.schema
            self.temporary = temporary_sibling(self.path)
            self.writer = pq.ParquetWriter(self.temporary, self.schema)
        self.writer.write_table(table.cast(self.schema))

    def close(self, finished: bool = True) -> None:
        """Close the file; put it in place when the run ``finished``, remove it otherwise."""
        if self.writer is not None:
            try:
                self.writer.close()
                if finished:
                    assert self.temporary is not None and self.path is not None
                    os.replace(self.temporary, self.path)
            finally:
                self.writer = None
                if self.temporary is not None:
                    self.temporary.unlink(missing_ok=True)

    def _attribution(self, job: ExplainJob, seconds: float) -> Attribution:
        """The kept partitions as one record: its cost is the run's, its extras say how it was seeded."""
        joined = Attribution.concatenate([r.attribution for r in self.kept if r.attribution is not None])
        params = dict(joined.params)
        if "random_state" in params and getattr(job.explainer, "is_stochastic", False):
            params["random_state"] = (
                f"derive_seed({job.seed}, {job.name!r}) for the first {job.row_chunk} rows, "
                f"derive_seed({job.seed}, {job.name!r}, str(s)) for the chunk starting at row s"
            )
        extras = {**joined.extras, "seed": job.seed, "row_chunk": job.row_chunk}
        return replace(joined, params=params, seconds=seconds, model_rows=self.model_rows, extras=extras)

    def result(self, job: ExplainJob, backend: str, seconds: float) -> ExplainResult:
        """The :class:`ExplainResult` of the run, once every partition was added and the sink closed."""
        if self.waiting:  # pragma: no cover - every submitted partition is gathered
            raise RuntimeError(f"partitions {sorted(self.waiting)} were not gathered")
        attribution = row_ids = None
        if self.path is None and self.kept:
            attribution = self._attribution(job, seconds)
            row_ids = np.concatenate([r.row_ids for r in self.kept if r.row_ids is not None])
        return ExplainResult(
            attribution=attribution,
            row_ids=row_ids,
            path=self.path if (self.path is not None and self.schema is not None) else None,
            n_rows=self.n_rows,
            n_explained=self.n_explained,
            failures=merged(self.failures),
            n_partitions=self.n_partitions,
            backend=backend,
            seconds=seconds,
            model_rows=self.model_rows,
            explainer=job.name,
            seed=job.seed,
            row_chunk=job.row_chunk,
        )
