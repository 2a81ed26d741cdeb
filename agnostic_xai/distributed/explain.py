"""``explain``: every row of a table, in partitions, in this process or on a Dask cluster.

A governance review explains a whole loan book, not fifty rows. :func:`explain` cuts the
table into partitions of whole *seed blocks*, explains each partition where the backend puts
it (here, or on a Dask worker), and gathers the attributions in row order, into an
:class:`~agnostic_xai.Attribution` or, for tables larger than memory, a Parquet file.

Reproducibility whatever the partitioning
-----------------------------------------
A stochastic explainer draws the random numbers for all the rows of one ``explain`` call
from one generator, so the value of a row depends on which rows share its call. Rows are
therefore explained in fixed *seed blocks* of ``seed_block`` rows (the last one shorter):
block ``[s, s + seed_block)`` is one ``explain`` call with
``random_state = derive_seed(seed, explainer, str(s))``. Partitions are unions of whole
blocks (``partition_rows`` is rounded up to a multiple of ``seed_block``), and an
explainer's fitted state is seeded from ``derive_seed(seed, explainer, "fit")``, the same in
every partition. A row's attribution thus depends only on the data, the model, the
background, the explainer, ``seed`` and ``seed_block``: the same numbers, bit for bit, with
the local or the Dask backend, one worker or many, two partitions or twenty. (Deterministic
explainers are explained block by block too, so that even floating-point batching is the
same.) Changing ``seed_block`` changes the random draws, like changing the seed.
"""

from __future__ import annotations

import os
import time
from bisect import bisect_right
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._params import clone, derive_seed
from .._paths import check_not_an_input, temporary_sibling
from .._validation import check_choice, check_matrix, check_path, is_tensor, tensor_to_array
from ..adapters import Adapter, wrap
from ..attribution import Attribution
from ..exceptions import AgnosticXAIError, IncompatibleModelError, InvalidInputError
from ..execution.cluster import MissingDependencyError, dask_client, torch_threads
from ..execution.shared import share
from ..groups import FeatureGroups, check_groups
from .encoding import Encoder, check_encoder, csv_dtypes, encode, raw_columns

__all__ = ["DEFAULT_PARTITION_ROWS", "DEFAULT_SEED_BLOCK", "ExplainResult", "PartitionFailure", "explain"]

#: Rows per seed block: the unit of randomness (see the module notes).
DEFAULT_SEED_BLOCK = 256
#: Rows per partition when ``partition_rows`` is not given (a multiple of the seed block).
DEFAULT_PARTITION_ROWS = 8 * DEFAULT_SEED_BLOCK
#: Output columns that are not attributions; attributed features must not use these names.
RESERVED_COLUMNS = ("row_id", "base_value", "target")


# ---------------------------------------------------------------------------------------- records
@dataclass(frozen=True)
class PartitionFailure:
    """Rows ``[start, stop)`` (positions in the table) that could not be explained, and why."""

    start: int
    stop: int
    error: str
    message: str

    def __str__(self) -> str:
        return f"rows {self.start}-{self.stop - 1}: {self.error}: {self.message}"


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
    failures : tuple of PartitionFailure
        Row ranges that failed, with the error; never silently dropped.
    n_partitions : int
        Partitions (tasks) the table was cut into.
    backend : str
        ``"local"`` or ``"dask"``.
    seconds : float
        Wall time of the whole run.
    model_rows : int
        Rows the model evaluated, summed over partitions (fitting included).
    explainer : str
        The explainer's name.
    seed, seed_block : int
        Root seed and seed-block size (with the data, they fix every value).
    """

    attribution: Attribution | None
    row_ids: np.ndarray | None
    path: Path | None
    n_rows: int
    n_explained: int
    failures: tuple[PartitionFailure, ...]
    n_partitions: int
    backend: str
    seconds: float
    model_rows: int
    explainer: str
    seed: int
    seed_block: int

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
            failed = sum(f.stop - f.start for f in self.failures)
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
            "seed_block": self.seed_block,
            "path": None if self.path is None else str(self.path),
            "failures": [f.__dict__.copy() for f in self.failures],
        }


# ---------------------------------------------------------------------------------------- sources
class _ParquetSource:
    """Row ranges of one Parquet file or a directory of them, read where the task runs.

    Only the row groups overlapping the range are read, so a worker never loads the table;
    on a cluster the path must be readable from the workers (a shared or object store).
    """

    def __init__(self, path: Path) -> None:
        pq = _pyarrow_parquet()

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
        self.n_rows = total
        self.columns = tuple(columns or ())

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


def _open_source(data: Any, id_column: str | None) -> tuple[Any, tuple[str, ...] | None]:
    """A source for ``data`` and its column names (None for an unnamed array)."""
    if isinstance(data, (str, os.PathLike)):
        path = Path(data)
        if not path.exists():
            raise InvalidInputError(f"No such file or directory: {str(path)!r}.")
        suffix = "".join(path.suffixes[-2:]).lower() if not path.is_dir() else ""
        if path.is_dir() or suffix.endswith((".parquet", ".pq")):
            source = _ParquetSource(path)
            return source, source.columns
        if suffix.endswith((".csv", ".csv.gz", ".tsv", ".tsv.gz")):
            sep = "\t" if ".tsv" in suffix else ","
            columns = tuple(str(c) for c in pd.read_csv(path, sep=sep, nrows=0).columns)
            return ("csv", path, sep), columns
        raise InvalidInputError(f"{str(path)!r}: give a .parquet file or directory, or a .csv/.tsv file.")
    if isinstance(data, pd.DataFrame):
        return data, tuple(str(c) for c in data.columns)
    if id_column is not None:
        raise InvalidInputError("id_column names a column, so data must be a DataFrame or a file, not an array.")
    # NaN is let through: the partitions holding it fail and are reported, the others run.
    return check_matrix(data, name="data", min_rows=0, allow_nonfinite=True), None


def _pyarrow_parquet() -> Any:
    try:
        import pyarrow.parquet as pq
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise MissingDependencyError(
            "Reading and writing Parquet needs pyarrow: pip install 'agnostic-xai[dask]' (or pyarrow)."
        ) from exc
    return pq


@dataclass
class _Unit:
    """One partition: rows ``[start, stop)`` and, for in-memory sources, the rows themselves."""

    index: int
    start: int
    stop: int
    rows: Any = None  # DataFrame or ndarray slice; None: the task reads them from the source
    target: np.ndarray | None = None


def _units(
    source: Any, partition_rows: int, target: np.ndarray | None, dtypes: dict[str, type] | None = None
) -> Iterator[_Unit]:
    """The partitions of ``source``; ``dtypes`` are column types for reading CSV chunks."""
    if isinstance(source, _ParquetSource):
        for i, start in enumerate(range(0, source.n_rows, partition_rows)):
            yield _Unit(i, start, min(start + partition_rows, source.n_rows))
    elif isinstance(source, tuple):  # CSV: not splittable by row without a scan, so read here in chunks
        _, path, sep = source
        start = 0
        for i, chunk in enumerate(pd.read_csv(path, sep=sep, chunksize=partition_rows, dtype=dtypes or None)):
            yield _Unit(i, start, start + len(chunk), chunk.reset_index(drop=True))
            start += len(chunk)
    else:
        n = len(source)
        for i, start in enumerate(range(0, n, partition_rows)):
            stop = min(start + partition_rows, n)
            rows = source.iloc[start:stop] if isinstance(source, pd.DataFrame) else source[start:stop]
            yield _Unit(i, start, stop, rows, None if target is None else target[start:stop])


# ---------------------------------------------------------------------------------------- the task
@dataclass
class _Job:
    """Everything a partition's task needs besides its rows (sent to each worker once)."""

    explainer: Any
    name: str
    seed: int
    seed_block: int
    groups: FeatureGroups | None
    feature_columns: tuple[str, ...] | None
    id_column: str | None
    target: int | None
    keep_data: bool
    torch_threads: int | None
    encoder: Encoder | None = None
    read_columns: tuple[str, ...] | None = None  # raw columns read from a file; None: every column


@dataclass
class _Outcome:
    """What one partition produced (arrays cover the explained rows only)."""

    index: int
    start: int
    stop: int
    row_ids: np.ndarray | None = None
    values: np.ndarray | None = None
    base_values: np.ndarray | None = None
    target: np.ndarray | None = None
    data: np.ndarray | None = None
    extras: dict[str, np.ndarray] = field(default_factory=dict)
    model_rows: int = 0
    failures: list[PartitionFailure] = field(default_factory=list)
    attributed_names: tuple[str, ...] = ()
    method: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    output: str = "raw"


def _failure(start: int, stop: int, exc: BaseException) -> PartitionFailure:
    message = str(exc) or type(exc).__name__
    if not isinstance(exc, AgnosticXAIError) and exc.__traceback__ is not None:
        import traceback

        frame = traceback.extract_tb(exc.__traceback__)[-1]
        message = f"{message} (at {frame.filename.rsplit('/', 1)[-1]}:{frame.lineno})"
    return PartitionFailure(int(start), int(stop), type(exc).__name__, message)


def _explain_partition(
    job: _Job, model: Any, background: np.ndarray, unit: _Unit, rows: Any = None, source: Any = None
) -> _Outcome:
    """Explain one partition block by block; errors become :class:`PartitionFailure` records.

    ``rows`` are the partition's rows when they travel with the task (in-memory data, CSV
    chunks); otherwise they are read from ``source`` (a Parquet source) here.
    """
    outcome = _Outcome(unit.index, unit.start, unit.stop)
    with torch_threads(job.torch_threads):
        try:
            adapter = _as_adapter(model)
            if rows is None:
                rows = source.read(unit.start, unit.stop, job.read_columns)
            if isinstance(rows, pd.DataFrame):
                ids = rows[job.id_column].to_numpy() if job.id_column else np.arange(unit.start, unit.stop)
                if job.encoder is not None:
                    rows = encode(job.encoder, rows)
                X = adapter.validate(rows[list(job.feature_columns)] if job.feature_columns else rows)
            else:
                ids, X = np.arange(unit.start, unit.stop), adapter.validate(rows)
            if X.shape[0] != unit.stop - unit.start:
                raise RuntimeError(f"read {X.shape[0]} rows for a partition of {unit.stop - unit.start}")
            explainer = clone(job.explainer)
            seeded = "random_state" in explainer.get_params()
            if seeded:
                explainer.set_params(random_state=derive_seed(job.seed, job.name, "fit"))
            rows_before = adapter.rows_evaluated
            explainer.fit(adapter, background, groups=job.groups)
            outcome.model_rows += adapter.rows_evaluated - rows_before
            outcome.attributed_names = explainer.attributed_names_
        except Exception as exc:
            outcome.failures.append(_failure(unit.start, unit.stop, exc))
            return outcome
        pieces: list[tuple[slice, Attribution]] = []
        for begin in range(unit.start, unit.stop, job.seed_block):
            block = slice(begin - unit.start, min(begin + job.seed_block, unit.stop) - unit.start)
            try:
                if seeded:
                    explainer.set_params(random_state=derive_seed(job.seed, job.name, str(begin)))
                target = unit.target[block] if unit.target is not None else job.target
                attribution = explainer.explain(X[block], target=target)
            except Exception as exc:
                outcome.failures.append(_failure(begin, begin + block.stop - block.start, exc))
                continue
            outcome.model_rows += attribution.model_rows
            pieces.append((block, attribution))
    if pieces:
        first = pieces[0][1]
        outcome.method, outcome.params, outcome.output = first.method, dict(first.params), first.output
        keep = np.concatenate([np.arange(b.start, b.stop) for b, _ in pieces])
        outcome.row_ids = ids[keep]
        outcome.values = np.concatenate([a.values for _, a in pieces])
        outcome.base_values = np.concatenate([a.base_values for _, a in pieces])
        outcome.target = np.concatenate([a.target for _, a in pieces])
        if job.keep_data:
            outcome.data = np.concatenate([a.data for _, a in pieces])
        outcome.extras = _per_row_extras([a for _, a in pieces])
    return outcome


def _per_row_extras(attributions: Sequence[Attribution]) -> dict[str, np.ndarray]:
    """Per-row extras (arrays with one entry per row) present in every block, concatenated."""
    common = set(attributions[0].extras)
    for a in attributions[1:]:
        common &= set(a.extras)
    out = {}
    for key in sorted(common):
        parts = [a.extras[key] for a in attributions]
        if all(
            isinstance(p, np.ndarray) and p.ndim >= 1 and p.shape[0] == a.n_rows for p, a in zip(parts, attributions)
        ):
            out[key] = np.concatenate(parts)
    return out


def _bare(unit: _Unit) -> _Unit:
    """The unit without its rows (which are passed to the task on their own)."""
    return _Unit(unit.index, unit.start, unit.stop, None, unit.target)


def _merged(failures: Sequence[PartitionFailure]) -> tuple[PartitionFailure, ...]:
    """Adjacent failed ranges with the same error and message, as one range."""
    merged: list[PartitionFailure] = []
    for failure in sorted(failures, key=lambda f: f.start):
        last = merged[-1] if merged else None
        if (
            last is not None
            and last.stop == failure.start
            and (last.error, last.message) == (failure.error, failure.message)
        ):
            merged[-1] = PartitionFailure(last.start, failure.stop, last.error, last.message)
        else:
            merged.append(failure)
    return tuple(merged)


class _ScriptedModel:
    """A torch module that does not pickle, sent as TorchScript bytes and rebuilt once per worker."""

    def __init__(self, adapter: Any, example: np.ndarray) -> None:
        import io

        import torch

        module = adapter.module
        try:
            scripted = torch.jit.script(module)
        except Exception:
            with adapter.evaluation():
                scripted = torch.jit.trace(module, adapter.to_tensor(example[:1]))
        buffer = io.BytesIO()
        torch.jit.save(scripted, buffer)
        self.payload = buffer.getvalue()
        self.settings = {
            "task": adapter.task,
            "output": adapter.output,
            "feature_names": adapter.feature_names,
            "batch_size": adapter.batch_size,
        }
        self._adapter: Adapter | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {"payload": self.payload, "settings": self.settings}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._adapter = None

    def adapter(self) -> Adapter:
        if self._adapter is None:
            import io

            import torch

            module = torch.jit.load(io.BytesIO(self.payload), map_location="cpu")
            self._adapter = wrap(module, **self.settings)
        return self._adapter


def _as_adapter(model: Any) -> Adapter:
    return model.adapter() if isinstance(model, _ScriptedModel) else model


def _portable(adapter: Adapter, background: np.ndarray) -> Any:
    """The adapter itself when it pickles (cloudpickle), else its torch module as TorchScript."""
    import cloudpickle

    try:
        cloudpickle.dumps(adapter)
        return adapter
    except Exception as exc:
        if not adapter.is_differentiable:
            raise InvalidInputError(
                f"The model cannot be sent to Dask workers: pickling it failed ({type(exc).__name__}: {exc}). "
                "Define the model at module level (not inside a function), or use backend='local'."
            ) from exc
        return _ScriptedModel(adapter, background)


# ---------------------------------------------------------------------------------------- entry point
def _check_int(value: Any, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise InvalidInputError(f"{name} must be an int of at least {minimum}, got {value!r}.")
    return int(value)


def _plain_columns(
    model: Any, columns: tuple[str, ...] | None, id_column: str | None, background: Any
) -> tuple[Adapter, tuple[str, ...] | None, np.ndarray]:
    """The adapter, the data's columns it takes (None for an array) and the background, without an encoder."""
    names = None if columns is None else tuple(c for c in columns if c != id_column)
    adapter = model if isinstance(model, Adapter) else wrap(model, feature_names=names)
    feature_columns: tuple[str, ...] | None = None
    if columns is not None:
        feature_columns = adapter.feature_names if adapter.feature_names is not None else names
        missing = [c for c in feature_columns or () if c not in columns]
        if missing:
            raise InvalidInputError(f"The data lacks the model's feature columns {missing}.")
    return adapter, feature_columns, adapter.validate(background, name="background")


def _encoded_columns(
    model: Any, columns: tuple[str, ...] | None, encoder: Encoder, background: Any
) -> tuple[Adapter, tuple[str, ...], np.ndarray]:
    """The adapter, the encoded columns it takes and the encoded background, with an encoder.

    The background (raw rows, like the data) is encoded here, which also checks the encoder
    before any partition runs.
    """
    if columns is None:
        raise InvalidInputError("An encoder needs named columns: give the data as a DataFrame or a file, not an array.")
    needed = raw_columns(encoder)
    missing = [c for c in needed or () if c not in columns]
    if missing:
        raise InvalidInputError(f"The data lacks the columns {missing} that the encoder reads.")
    if not isinstance(background, pd.DataFrame):
        raise InvalidInputError(
            "With an encoder, background must be raw rows like the data (a DataFrame), got "
            f"{type(background).__name__}; it is encoded with the encoder."
        )
    encoded = encode(encoder, background)
    names = tuple(str(c) for c in encoded.columns)
    adapter = model if isinstance(model, Adapter) else wrap(model, feature_names=names)
    feature_columns = adapter.feature_names if adapter.feature_names is not None else names
    missing = [c for c in feature_columns if c not in names]
    if missing:
        raise InvalidInputError(
            f"The encoder does not give the model's feature columns {missing}; it gives {list(names)}."
        )
    return adapter, tuple(feature_columns), adapter.validate(encoded[list(feature_columns)], name="background")


def explain(
    model: Any,
    data: Any,
    *,
    explainer: Any,
    background: Any,
    target: Any = None,
    seed: int = 0,
    backend: str = "local",
    client: Any = None,
    scheduler: str | None = None,
    n_workers: int | None = None,
    partition_rows: int | None = None,
    seed_block: int = DEFAULT_SEED_BLOCK,
    feature_groups: FeatureGroups | None = None,
    id_column: str | None = None,
    out: str | os.PathLike[str] | None = None,
    retries: int = 2,
    encoder: Any = None,
) -> ExplainResult:
    """Explain every row of a table, partition by partition, locally or on a Dask cluster.

    Parameters
    ----------
    model : Adapter or model
        Anything :func:`agnostic_xai.wrap` accepts. A model that is not an Adapter is wrapped
        with the table's column names (minus ``id_column``) as feature names.
    data : array-like, DataFrame, or path
        The rows: in memory, a ``.parquet`` file or directory (read partition by partition
        where the task runs: on a cluster, a path the workers can read), or a ``.csv``/
        ``.tsv`` file (read here in chunks and sent to the workers; convert large CSV files
        to Parquet). Columns other than the model's features and ``id_column`` are ignored
        when the model names its features.
    explainer : str or Explainer
        A registry name (``"kernel_shap"``) or a configured, unfitted Explainer.
    background : array-like or DataFrame of shape (b, d)
        Background rows (fitted once per partition; sent to the cluster once); raw rows like
        the data when an ``encoder`` is given.
    target : int, array of shape (n,) or None
        Explained output; None explains each row's predicted class. An array only for
        in-memory data.
    seed : int
        Root seed. Block ``[s, s + seed_block)`` is explained with
        ``derive_seed(seed, explainer_name, str(s))`` (see the module notes).
    backend : {"local", "dask"}
        ``"local"`` explains the partitions one after the other in this process; ``"dask"``
        makes each partition a task on a Dask cluster. Both give identical values.
    client : distributed.Client, optional
        Dask client to use (left open). Without ``client`` or ``scheduler``, a
        ``LocalCluster`` of ``n_workers`` one-thread processes is started and closed.
    scheduler : str, optional
        Address of a running Dask scheduler to connect to.
    n_workers : int, optional
        Workers of the default local cluster.
    partition_rows : int, optional
        Rows per partition (task), rounded up to a multiple of ``seed_block``; default
        :data:`DEFAULT_PARTITION_ROWS`. Has no effect on the values.
    seed_block : int
        Rows explained per seeded ``explain`` call (default :data:`DEFAULT_SEED_BLOCK`).
    feature_groups : FeatureGroups, optional
        Attribute to groups of columns.
    id_column : str, optional
        Column carrying the row ids written to ``row_id`` (default: the row's position).
    out : path, optional
        Write the attributions to this Parquet file, in row order, one row group per
        partition, instead of returning them: columns ``row_id``, one per attributed
        feature, ``base_value`` and ``target``. Only finished partitions are held in memory.
        The file is written under a temporary name next to ``out`` and renamed to it when the
        run ends, so an existing file is replaced whole or not at all (a link at that name is
        replaced, never written through). An ``out`` that is the data (also through a symbolic
        or hard link), lies inside a data directory, or is a directory is refused before any work.
    encoder : TableEncoder or callable, optional
        Encodes each partition's raw rows before they are explained, for tables with text or
        categorical columns or missing values: a :class:`~agnostic_xai.io.TableEncoder`
        already fitted (on a sample of the data, say), or a function ``DataFrame ->
        DataFrame`` of the model's columns, one row per input row. It is applied where the
        partition runs (on Dask, on the workers: it must pickle) and is never refitted, so
        every partition is encoded the same way. ``background`` is then raw rows too, encoded
        with it, and the model is wrapped with the encoded column names. Rows it cannot encode
        (a category it was not fitted on, a missing value without imputation) fail their
        partition, reported in ``failures`` with the encoder's error.
    retries : int
        Times Dask re-runs a task that raised outside the explainer (the explainer's own
        errors are caught and reported, not retried). A task whose worker dies is re-run on
        another worker by the scheduler in any case (up to dask's
        ``distributed.scheduler.allowed-failures``, 3 by default).

    Returns
    -------
    ExplainResult
        ``.attribution`` (when ``out`` is None), ``.row_ids``, ``.n_explained``,
        ``.failures`` (row ranges whose explainer raised, with the error) and ``.summary()``.

    Notes
    -----
    A partition whose explainer raises does not stop the run: its seed blocks that failed
    are reported in ``failures`` with their row range and the other rows are still
    explained and written; ``n_explained`` says how many rows were explained.

    On the Dask backend each task uses one torch thread. The explainer's configuration, the
    model (its Adapter, or TorchScript bytes for a module that does not pickle) and the
    background are sent to the cluster once, as small tasks whose results the workers share
    (:mod:`agnostic_xai.distributed.shared`), not with ``client.scatter``: scattered data
    lost with the last worker holding it cannot be rebuilt, and Dask then cancels every
    partition ("already forgotten"). When a worker dies, the scheduler re-runs its
    partitions on the other workers (or on the worker its nanny restarts), rebuilding the
    shared objects if every copy was lost, with the same seeds, so the values are the same
    as without the loss; tests kill a worker mid-run on 1- and 2-worker clusters. A
    partition whose task still cannot finish is reported in ``failures`` with its row range
    and the other partitions go on: ``KilledWorker`` after its workers died more than
    Dask's ``distributed.scheduler.allowed-failures`` times (3 by default; partitions queued
    on a dying worker count such a death too), or an error outside the explainer after
    ``retries``. Recovery needs the scheduler and this process to stay up; it does not cover
    losing either. If the shared objects cannot be rebuilt on a worker at all (a package
    missing there), :class:`~agnostic_xai.distributed.SharedObjectError` is raised before
    any partition is submitted.
    """
    start_time = time.perf_counter()
    check_choice(backend, "backend", ("local", "dask"))
    check_path(out, "out", allow_none=True)
    if is_tensor(target):
        target = tensor_to_array(target, "target")
    if backend == "local" and (client is not None or scheduler is not None):
        raise InvalidInputError("client and scheduler apply to backend='dask'; pass backend='dask' to use them.")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InvalidInputError(f"seed must be a non-negative int, got {seed!r}.")
    seed_block = _check_int(seed_block, "seed_block", 1)
    partition_rows = _check_int(
        DEFAULT_PARTITION_ROWS if partition_rows is None else partition_rows, "partition_rows", 1
    )
    partition_rows = -(-partition_rows // seed_block) * seed_block
    retries = _check_int(retries, "retries", 0)
    if out is not None:  # before any work: never write over (or into) the input
        check_not_an_input(out, [data])

    source, columns = _open_source(data, id_column)
    if id_column is not None and id_column not in (columns or ()):
        raise InvalidInputError(f"id_column {id_column!r} is not a column of the data; columns: {list(columns or ())}.")
    if encoder is None:
        adapter, feature_columns, background_arr = _plain_columns(model, columns, id_column, background)
        read_columns = None if feature_columns is None else (*feature_columns, *([id_column] if id_column else []))
    else:
        encoder = check_encoder(encoder, remote=backend == "dask")
        adapter, feature_columns, background_arr = _encoded_columns(model, columns, encoder, background)
        needed = raw_columns(encoder)
        read_columns = (
            None if needed is None else (*needed, *([id_column] if id_column and id_column not in needed else []))
        )

    from ..explainers import Explainer, get

    if isinstance(explainer, str):
        configured, name = get(explainer), explainer
    elif isinstance(explainer, Explainer):
        configured, name = clone(explainer), explainer.name or type(explainer).__name__
    else:
        raise InvalidInputError(f"explainer must be a registry name or an Explainer, got {type(explainer).__name__}.")
    # Mistakes that would make every partition fail are reported here, once.
    if configured.requires_gradients and not adapter.is_differentiable:
        raise IncompatibleModelError(f"{name} needs gradients, which only torch models give; choose another explainer.")
    check_groups(feature_groups, adapter.n_features)
    if feature_groups is not None and not configured.supports_groups:
        raise IncompatibleModelError(f"{name} gives one value per column and cannot attribute to feature groups.")
    attributed = (
        feature_groups.names
        if feature_groups is not None
        else (adapter.feature_names or tuple(f"x{i}" for i in range(adapter.n_features)))
    )
    clash = sorted(set(attributed) & set(RESERVED_COLUMNS))
    if out is not None and clash:
        raise InvalidInputError(
            f"Attributed features {clash} clash with the output columns {list(RESERVED_COLUMNS)}; rename them."
        )

    n_known = (
        None if isinstance(source, tuple) else (source.n_rows if isinstance(source, _ParquetSource) else len(source))
    )
    target_rows: np.ndarray | None = None
    target_int: int | None = None
    if target is not None:
        if np.ndim(target) == 0:
            target_int = _check_int(target, "target", 0)
            if target_int >= adapter.n_outputs:
                raise InvalidInputError(
                    f"target {target_int} is out of range for a model with {adapter.n_outputs} outputs."
                )
        elif isinstance(source, (pd.DataFrame, np.ndarray)):
            target_rows = np.asarray(target)
            if target_rows.shape != (n_known,):
                raise InvalidInputError(
                    f"target must have one entry per row ({n_known}), got shape {target_rows.shape}."
                )
        else:
            raise InvalidInputError("A per-row target array needs in-memory data; for files, give an int or None.")

    job = _Job(
        explainer=configured,
        name=name,
        seed=int(seed),
        seed_block=seed_block,
        groups=feature_groups,
        feature_columns=feature_columns,
        id_column=id_column,
        target=target_int,
        keep_data=out is None,
        torch_threads=1 if backend == "dask" else None,
        encoder=encoder,
        read_columns=read_columns,
    )
    if out is not None:
        _pyarrow_parquet()
    units = _units(source, partition_rows, target_rows, csv_dtypes(encoder))
    sink = _Sink(Path(out) if out is not None else None, attributed)
    try:
        if backend == "local":
            file_source = source if isinstance(source, _ParquetSource) else None
            for unit in units:
                sink.add(_explain_partition(job, adapter, background_arr, _bare(unit), unit.rows, file_source))
        else:
            with dask_client(client, scheduler=scheduler, n_workers=n_workers) as dask:
                _run_on_dask(
                    dask, job, _portable(adapter, background_arr), background_arr, source, units, sink, retries
                )
    except BaseException:
        sink.close(finished=False)
        raise
    sink.close()
    return sink.result(job, backend, time.perf_counter() - start_time)


def _run_on_dask(
    client: Any,
    job: _Job,
    model: Any,
    background: np.ndarray,
    source: Any,
    units: Iterator[_Unit],
    sink: _Sink,
    retries: int,
) -> None:
    """Submit partitions as tasks, at most a few per worker thread in flight, and pass results on in order.

    The job, the model, the background (and a Parquet source) are shared as recomputable tasks,
    not scattered: scattered data lost with its last worker cannot be rebuilt, and every task
    needing it is then cancelled; a task's result is rebuilt by the scheduler (see
    :mod:`agnostic_xai.distributed.shared`). A partition whose worker dies is re-run by the
    scheduler with the same seeds; one that still cannot finish (``KilledWorker`` after dask's
    ``allowed-failures``, or an error outside the explainer after ``retries``) is reported as a
    :class:`PartitionFailure` for its rows, and the other partitions go on.
    """
    from dask.distributed import as_completed

    labels = ["job", "model", "background"] + (["source"] if isinstance(source, _ParquetSource) else [])
    objects = [job, model, background] + ([source] if isinstance(source, _ParquetSource) else [])
    futures = share(client, objects, labels, retries=retries)
    shared, source_future = futures[:3], (futures[3] if len(futures) > 3 else None)
    window = 2 * max(1, sum(client.nthreads().values())) + 2
    pending = as_completed()
    submitted: dict[Any, _Unit] = {}

    def submit(unit: _Unit) -> None:
        # In-memory rows and CSV chunks travel inside their own task: the scheduler keeps a
        # task's arguments, so a task whose worker dies can be re-run elsewhere. Parquet rows
        # are read by the task.
        bare = _bare(unit)
        task = client.submit(_explain_partition, *shared, bare, unit.rows, source_future, retries=retries, pure=False)
        submitted[task.key] = bare
        pending.add(task)

    def gathered(task: Any) -> _Outcome:
        unit = submitted.pop(task.key)
        try:
            return task.result()
        except Exception as exc:  # noqa: BLE001 - lost (KilledWorker), cancelled, or raised outside the explainer
            return _Outcome(unit.index, unit.start, unit.stop, failures=[_task_failure(unit, exc)])

    for unit in units:
        submit(unit)
        if len(submitted) >= window:
            sink.add(gathered(next(pending)))
    for task in pending:
        sink.add(gathered(task))


def _task_failure(unit: _Unit, exc: BaseException) -> PartitionFailure:
    """The failure record of a partition whose task did not return: its rows and the task's error."""
    from concurrent.futures import CancelledError

    from dask.distributed import KilledWorker

    if isinstance(exc, (KilledWorker, CancelledError)):  # raised here, by the client: no useful location
        message = " ".join((str(exc) or type(exc).__name__).split())
        return PartitionFailure(unit.start, unit.stop, type(exc).__name__, message)
    return _failure(unit.start, unit.stop, exc)  # raised in the task: where it was raised


class _Sink:
    """Collects partition outcomes and passes them on in row order: to a Parquet file or to memory."""

    def __init__(self, path: Path | None, attributed: Sequence[str]) -> None:
        self.path = path
        self.attributed = tuple(attributed)
        self.waiting: dict[int, _Outcome] = {}
        self.next_index = 0
        self.kept: list[_Outcome] = []
        self.failures: list[PartitionFailure] = []
        self.n_rows = self.n_explained = self.model_rows = self.n_partitions = 0
        self.writer: Any = None
        self.schema: Any = None
        self.temporary: Path | None = None

    def add(self, outcome: _Outcome) -> None:
        self.waiting[outcome.index] = outcome
        while self.next_index in self.waiting:
            self._take(self.waiting.pop(self.next_index))
            self.next_index += 1

    def _take(self, outcome: _Outcome) -> None:
        self.n_partitions += 1
        self.n_rows += outcome.stop - outcome.start
        self.model_rows += outcome.model_rows
        self.failures.extend(outcome.failures)
        if outcome.values is None:
            return
        self.n_explained += outcome.values.shape[0]
        if self.path is None:
            self.kept.append(outcome)
            return
        self._write(outcome)

    def _write(self, outcome: _Outcome) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        names = outcome.attributed_names or self.attributed
        columns = {"row_id": outcome.row_ids}
        columns.update({n: outcome.values[:, j] for j, n in enumerate(names)})
        columns["base_value"] = outcome.base_values
        columns["target"] = outcome.target
        table = pa.Table.from_pydict(columns)
        if self.writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.schema = table.schema
            # Written next to the output and renamed over it when complete: the old file (or
            # whatever a link at that name leads to) is never written into, nor left half-written.
            self.temporary = temporary_sibling(self.path)
            self.writer = pq.ParquetWriter(self.temporary, self.schema)
        self.writer.write_table(table.cast(self.schema))

    def close(self, finished: bool = True) -> None:
        """Close the file; put it in place when the run ``finished``, remove it otherwise."""
        if self.writer is not None:
            try:
                self.writer.close()
                if finished:
                    os.replace(self.temporary, self.path)
            finally:
                self.writer = None
                if self.temporary is not None:
                    self.temporary.unlink(missing_ok=True)

    def result(self, job: _Job, backend: str, seconds: float) -> ExplainResult:
        if self.waiting:  # pragma: no cover - every submitted partition is gathered
            raise RuntimeError(f"partitions {sorted(self.waiting)} were not gathered")
        attribution = row_ids = None
        if self.path is None and self.kept:
            first = self.kept[0]
            extras: dict[str, Any] = {}
            for key in set.intersection(*(set(o.extras) for o in self.kept)):
                extras[key] = np.concatenate([o.extras[key] for o in self.kept])
            extras.update({"seed": job.seed, "seed_block": job.seed_block})
            params = dict(first.params)
            if "random_state" in params:
                params["random_state"] = f"derive_seed({job.seed}, {job.name!r}, str(block start))"
            attribution = Attribution(
                values=np.concatenate([o.values for o in self.kept]),
                base_values=np.concatenate([o.base_values for o in self.kept]),
                data=np.concatenate([o.data for o in self.kept]),
                target=np.concatenate([o.target for o in self.kept]),
                feature_names=first.attributed_names,
                method=first.method,
                params=params,
                output=first.output,
                seconds=seconds,
                model_rows=self.model_rows,
                extras=extras,
                groups=job.groups,
            )
            row_ids = np.concatenate([o.row_ids for o in self.kept])
        return ExplainResult(
            attribution=attribution,
            row_ids=row_ids,
            path=self.path if (self.path is not None and self.schema is not None) else None,
            n_rows=self.n_rows,
            n_explained=self.n_explained,
            failures=_merged(self.failures),
            n_partitions=self.n_partitions,
            backend=backend,
            seconds=seconds,
            model_rows=self.model_rows,
            explainer=job.name,
            seed=job.seed,
            seed_block=job.seed_block,
        )
