"""The tables :func:`~agnostic_xai.explain` reads, cut into partitions of rows.

A *source* is what ``explain`` was given to read (an array or a DataFrame in memory, a
Parquet file or a directory of them, a CSV/TSV file), with its column names and, where it is
known without reading the rows, its number of rows. It cuts itself into :class:`Partition`
records of consecutive rows: the unit of work that one task explains. The rows of an
in-memory table and of a CSV chunk travel with their partition; a Parquet partition is read
where its task runs (:meth:`ParquetSource.read`), only the row groups it overlaps, so that a
worker never loads the table. The format of a path is recognised by
:func:`agnostic_xai.io._formats.sniff_format`, the same rule by which ``load_table`` reads it.
"""

from __future__ import annotations

import os
from bisect import bisect_right
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._validation import check_matrix
from ..exceptions import InvalidInputError
from ..execution.cluster import MissingDependencyError
from ._formats import sniff_format

__all__ = [
    "CsvSource",
    "MemorySource",
    "ParquetSource",
    "Partition",
    "Source",
    "open_source",
    "pyarrow_parquet",
]


@dataclass(frozen=True)
class Partition:
    """Rows ``[start, stop)`` of the table (positions), the ``index``-th partition, with their targets.

    ``target`` holds the per-row targets of these rows when ``explain`` was given an array
    of them (in-memory data only), else None.
    """

    index: int
    start: int
    stop: int
    target: np.ndarray | None = None

    @property
    def n_rows(self) -> int:
        """Rows in the partition."""
        return self.stop - self.start


def pyarrow_parquet() -> Any:
    """The ``pyarrow.parquet`` module, or a clear error saying how to install it."""
    try:
        import pyarrow.parquet as pq
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise MissingDependencyError(
            "Reading and writing Parquet needs pyarrow: pip install 'agnostic-xai[dask]' (or pyarrow)."
        ) from exc
    return pq


class ParquetSource:
    """A Parquet file or a directory of them, read partition by partition where the task runs.

    Only the row groups overlapping a partition are read; on a cluster the path must be
    readable from the workers (a shared or object store).
    """

    #: A task reads its rows from this source (the source is sent to the workers once).
    reads_in_task = True

    def __init__(self, path: Path) -> None:
        pq = pyarrow_parquet()

        files = sorted(p for p in path.rglob("*.parquet")) if path.is_dir() else [path]
        if not files:
            raise InvalidInputError(f"{str(path)!r} is a directory without .parquet files.")
        self.groups: list[tuple[str, int]] = []
        starts: list[int] = []
        total = 0
        columns: list[str] | None = None
        for file in files:
            try:
                meta = pq.ParquetFile(file)
            except Exception as exc:
                raise InvalidInputError(f"Cannot read {str(file)!r} as Parquet: {exc}") from exc
            names = [n for n in meta.schema_arrow.names if not n.startswith("__index_level_")]
            if columns is None:
                columns = names
            elif names != columns:
                raise InvalidInputError(f"{str(file)!r} has columns {names}, unlike {columns} in {str(files[0])!r}.")
            for group in range(meta.num_row_groups):
                self.groups.append((str(file), group))
                starts.append(total)
                total += meta.metadata.row_group(group).num_rows
        self.starts = starts
        self.n_rows: int | None = total
        self.columns: tuple[str, ...] | None = tuple(columns or ())

    def partitions(
        self, partition_rows: int, target: np.ndarray | None = None, dtypes: dict[str, type] | None = None
    ) -> Iterator[tuple[Partition, Any]]:
        """``(partition, None)`` for each partition: the task reads its rows."""
        assert self.n_rows is not None
        for i, start in enumerate(range(0, self.n_rows, partition_rows)):
            yield Partition(i, start, min(start + partition_rows, self.n_rows)), None

    def read(self, start: int, stop: int, columns: Sequence[str] | None) -> pd.DataFrame:
        """Rows ``[start, stop)`` of ``columns`` (None: every column)."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        first = bisect_right(self.starts, start) - 1
        tables, offset = [], self.starts[first]
        index = first
        while index < len(self.groups) and self.starts[index] < stop:
            file, group = self.groups[index]
            wanted = None if columns is None else list(columns)
            tables.append(pq.ParquetFile(file).read_row_group(group, columns=wanted))
            index += 1
        table = pa.concat_tables(tables) if len(tables) > 1 else tables[0]
        return table.slice(start - offset, stop - start).to_pandas()


class CsvSource:
    """A CSV or TSV file (gzipped or not): read here in chunks, each sent with its partition.

    A CSV file cannot be split by row without a scan, so its row count is not known before
    the last chunk has been read.
    """

    reads_in_task = False

    def __init__(self, path: Path, sep: str) -> None:
        self.path, self.sep = path, sep
        self.n_rows: int | None = None
        self.columns: tuple[str, ...] | None = tuple(str(c) for c in pd.read_csv(path, sep=sep, nrows=0).columns)

    def partitions(
        self, partition_rows: int, target: np.ndarray | None = None, dtypes: dict[str, type] | None = None
    ) -> Iterator[tuple[Partition, Any]]:
        """``(partition, rows)`` for each chunk; ``dtypes`` are column types to read the chunks with."""
        start = 0
        for i, chunk in enumerate(pd.read_csv(self.path, sep=self.sep, chunksize=partition_rows, dtype=dtypes or None)):
            yield Partition(i, start, start + len(chunk)), chunk.reset_index(drop=True)
            start += len(chunk)


class MemorySource:
    """An array or a DataFrame in memory; each partition's rows travel with it."""

    reads_in_task = False

    def __init__(self, data: pd.DataFrame | np.ndarray) -> None:
        self.data = data
        self.n_rows: int | None = len(data)
        self.columns: tuple[str, ...] | None = (
            tuple(str(c) for c in data.columns) if isinstance(data, pd.DataFrame) else None
        )

    def partitions(
        self, partition_rows: int, target: np.ndarray | None = None, dtypes: dict[str, type] | None = None
    ) -> Iterator[tuple[Partition, Any]]:
        """``(partition, rows)`` for each slice of ``partition_rows`` rows, with its ``target`` entries."""
        n = len(self.data)
        for i, start in enumerate(range(0, n, partition_rows)):
            stop = min(start + partition_rows, n)
            rows = self.data.iloc[start:stop] if isinstance(self.data, pd.DataFrame) else self.data[start:stop]
            yield Partition(i, start, stop, None if target is None else target[start:stop]), rows


#: What :func:`open_source` returns.
Source = ParquetSource | CsvSource | MemorySource


def open_source(data: Any, id_column: str | None) -> Source:
    """The source of ``data``: a path (Parquet file or directory, CSV/TSV file), a DataFrame or an array.

    Raises
    ------
    InvalidInputError
        A path that does not exist or names no table format, a Parquet file that cannot be
        read, an array with ``id_column``, or an array that is not a matrix.
    """
    if isinstance(data, (str, os.PathLike)):
        path = Path(data)
        if not path.exists():
            raise InvalidInputError(f"No such file or directory: {str(path)!r}.")
        found = sniff_format(path)
        if found is not None and found.kind == "parquet":
            return ParquetSource(path)
        if found is not None and found.kind == "csv":
            assert found.sep is not None
            return CsvSource(path, found.sep)
        raise InvalidInputError(f"{str(path)!r}: give a .parquet file or directory, or a .csv/.tsv file.")
    if isinstance(data, pd.DataFrame):
        return MemorySource(data)
    if id_column is not None:
        raise InvalidInputError("id_column names a column, so data must be a DataFrame or a file, not an array.")
    # NaN is let through: the partitions holding it fail and are reported, the others run.
    return MemorySource(check_matrix(data, name="data", min_rows=0, allow_nonfinite=True))
