"""What :func:`~agnostic_xai.explain` returns: the attributions (or where they were written) and a summary."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..attribution import Attribution
from ..execution.failures import Failure

__all__ = ["ExplainResult"]


@dataclass(frozen=True)
class ExplainResult:
    """What :func:`explain` did: the attributions (or where they were written) and a summary.

    Attributes
    ----------
    attribution : Attribution or None
        The explained rows in table order (failed rows left out), when no ``out`` file was
        given and at least one row was explained.
    row_ids : ndarray or None
        Row id of each row of ``attribution`` (the ``id_column``, else the row's position).
    path : Path or None
        The Parquet file written when ``out`` was given.
    n_rows, n_explained : int
        Rows in the table, and rows explained.
    failures : tuple of Failure
        Row ranges that failed (``start``, ``stop``), with the error; never silently dropped.
    n_partitions : int
        Partitions (tasks) the table was cut into.
    backend : str
        The executor's name (``"local"``, ``"dask"``, ...).
    seconds : float
        Wall time of the whole run.
    model_rows : int
        Rows the model evaluated, summed over partitions (fitting included).
    explainer : str
        The explainer's name.
    seed, row_chunk : int
        Root seed and rows per seeded ``explain`` call (with the data, they fix every value).
    """

    attribution: Attribution | None
    row_ids: np.ndarray | None
    path: Path | None
    n_rows: int
    n_explained: int
    failures: tuple[Failure, ...]
    n_partitions: int
    backend: str
    seconds: float
    model_rows: int
    explainer: str
    seed: int
    row_chunk: int

    @property
    def ok(self) -> bool:
        """True when every row was explained."""
        return not self.failures

    @property
    def rows_per_second(self) -> float:
        """Explained rows per second of wall time."""
        return self.n_explained / self.seconds if self.seconds > 0 else float("nan")

    def summary(self) -> str:
        """A few lines for a terminal or a log: rows explained, speed, failed row ranges."""
        where = f" -> {self.path}" if self.path is not None else ""
        speed = f"{self.seconds:.1f} s ({self.rows_per_second:,.1f} rows/s)"
        lines = [
            f"{self.explainer}: explained {self.n_explained:,} of {self.n_rows:,} rows in {self.n_partitions} "
            + f"partitions on the {self.backend} backend, {speed}{where}"
        ]
        if self.failures:
            failed = sum((f.stop or 0) - (f.start or 0) for f in self.failures)
            lines.append(f"{failed:,} rows in {len(self.failures)} ranges FAILED:")
            lines.extend(f"  {failure}" for failure in self.failures)
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """The summary as JSON-ready values (for a report or a log)."""
        return {
            "explainer": self.explainer,
            "backend": self.backend,
            "rows": self.n_rows,
            "rows_explained": self.n_explained,
            "partitions": self.n_partitions,
            "seconds": self.seconds,
            "model_rows": self.model_rows,
            "seed": self.seed,
            "row_chunk": self.row_chunk,
            "path": None if self.path is None else str(self.path),
            "failures": [dataclasses.asdict(f) for f in self.failures],
        }
