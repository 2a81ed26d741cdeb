"""``explain``: every row of a table, in partitions, in this process or on a Dask cluster.

A governance review explains a whole loan book, not fifty rows. :func:`explain` cuts the
table into partitions (:mod:`~agnostic_xai.io.sources`), explains each partition where the
backend puts it (here, or on a Dask worker: :mod:`~agnostic_xai.io.partition`), and gathers
the attributions in row order (:mod:`~agnostic_xai.io.sink`), into an
:class:`~agnostic_xai.Attribution` or, for tables larger than memory, a Parquet file. This
module owns the entry point: its arguments, their checks, and the choice of backend.

The same numbers as ``compare``, whatever the partitioning
----------------------------------------------------------
A stochastic explainer draws the random numbers for all the rows of one ``explain`` call
from one generator, so the value of a row depends on which rows share its call. Rows are
therefore explained in the row chunks of :mod:`agnostic_xai.comparison.chunks`, seeded as
``compare`` seeds them: ``row_chunk`` rows per call (the last one shorter), the explainer
fitted with its own seed ``derive_seed(seed, name)``, chunk ``[s, s + row_chunk)`` explained
with ``random_state`` ``derive_seed(seed, name)`` for ``s = 0`` and
``derive_seed(seed, name, str(s))`` for the others. Partitions are unions of whole chunks
(``partition_rows`` is rounded up to a multiple of ``row_chunk``). A row's attribution thus
depends only on the data, the model, the background, the explainer, ``seed`` and
``row_chunk``: the same numbers, bit for bit, with the local or the Dask backend, one worker
or many, two partitions or twenty, and as ``compare(..., seed=seed, row_chunk=row_chunk)``
gives for the same rows. (Deterministic explainers are explained chunk by chunk too, so that
even floating-point batching is the same.) Changing ``row_chunk`` changes the random draws,
like changing the seed.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from .._checks import check_choice, check_int, check_path, is_tensor, shown
from .._params import clone, derive_seed
from .._paths import check_not_an_input
from .._validation import tensor_to_array
from ..adapters import Adapter
from ..comparison.chunks import DEFAULT_ROW_CHUNK
from ..exceptions import IncompatibleModelError, InvalidInputError, InvalidTypeError
from ..execution import Executor, Failure, SharedObjectError, Task, TaskError, available_executors, get_executor
from ..execution.cluster import dask_client
from ..groups import FeatureGroups, check_groups
from .encoding import check_encoder, csv_dtypes, encoded_columns, plain_columns, raw_columns
from .explain_result import ExplainResult
from .partition import ExplainJob, PartitionFailure, PartitionResult, explain_partition
from .portable import portable_model
from .sink import RESERVED_COLUMNS, Sink
from .sources import MemorySource, Partition, Source, open_source, pyarrow_parquet

__all__ = ["DEFAULT_PARTITION_ROWS", "DEFAULT_ROW_CHUNK", "ExplainResult", "PartitionFailure", "explain"]

#: Rows per partition when ``partition_rows`` is not given (16 row chunks of the default size).
DEFAULT_PARTITION_ROWS = 16 * DEFAULT_ROW_CHUNK


def _int(value: Any, name: str, minimum: int) -> int:
    """``value`` as an int of at least ``minimum`` (an error from :func:`check_int` otherwise)."""
    checked = check_int(value, name, minimum=minimum)
    assert checked is not None
    return checked


def _configured_explainer(explainer: Any, adapter: Adapter, feature_groups: FeatureGroups | None) -> tuple[Any, str]:
    """The configured, unfitted explainer and its name; mistakes that would fail every partition raised here."""
    from ..explainers import Explainer, get

    if isinstance(explainer, str):
        configured, name = get(explainer), explainer
    elif isinstance(explainer, Explainer):
        configured, name = clone(explainer), explainer.name or type(explainer).__name__
    else:
        raise InvalidInputError(f"explainer must be a registry name or an Explainer, got {type(explainer).__name__}.")
    if configured.requires_gradients and not adapter.is_differentiable:
        raise IncompatibleModelError(f"{name} needs gradients, which only torch models give; choose another explainer.")
    check_groups(feature_groups, adapter.n_features)
    if feature_groups is not None and not configured.supports_groups:
        raise IncompatibleModelError(f"{name} gives one value per column and cannot attribute to feature groups.")
    return configured, name


def _targets(target: Any, adapter: Adapter, source: Source) -> tuple[int | None, np.ndarray | None]:
    """``target`` as one output for every row, or as one per row (in-memory data only)."""
    if target is None:
        return None, None
    if np.ndim(target) == 0:
        target_int = _int(target, "target", 0)
        if target_int >= adapter.n_outputs:
            raise InvalidInputError(
                f"target {target_int} is out of range for a model with {adapter.n_outputs} outputs."
            )
        return target_int, None
    if not isinstance(source, MemorySource):
        raise InvalidInputError("A per-row target array needs in-memory data; for files, give an int or None.")
    rows = np.asarray(target)
    if rows.shape != (source.n_rows,):
        raise InvalidInputError(f"target must have one entry per row ({source.n_rows}), got shape {rows.shape}.")
    return None, rows


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
    row_chunk: int = DEFAULT_ROW_CHUNK,
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
        Root seed. A stochastic explainer is fitted with ``derive_seed(seed, name)``, and
        the chunk of rows starting at row ``s > 0`` is explained with
        ``derive_seed(seed, name, str(s))``, as by ``compare`` (see the module notes).
    backend : str or Executor
        The executor the partitions run on, by name (:func:`agnostic_xai.execution.available_executors`)
        or as an :class:`~agnostic_xai.execution.Executor`: ``"local"`` explains them one
        after the other in this process; ``"dask"`` makes each partition a task on a Dask
        cluster; ``"processes"`` runs them in worker processes; an executor registered with
        :func:`~agnostic_xai.execution.register_executor` runs them its way. All give
        identical values.
    client : distributed.Client, optional
        Dask client to use (left open). Without ``client`` or ``scheduler``, a
        ``LocalCluster`` of ``n_workers`` one-thread processes is started and closed.
    scheduler : str, optional
        Address of a running Dask scheduler to connect to.
    n_workers : int, optional
        Workers of the default local Dask cluster (``backend="dask"`` only).
    partition_rows : int, optional
        Rows per partition (task), rounded up to a multiple of ``row_chunk``; default
        :data:`DEFAULT_PARTITION_ROWS`. Has no effect on the values.
    row_chunk : int
        Rows explained per seeded ``explain`` call (default
        :data:`~agnostic_xai.comparison.chunks.DEFAULT_ROW_CHUNK`, as for ``compare``).
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
        (``backend="dask"``) Times Dask re-runs a task that raised outside the explainer (the explainer's own
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
    A partition whose explainer raises does not stop the run: its row chunks that failed
    are reported in ``failures`` with their row range and the other rows are still
    explained and written; ``n_explained`` says how many rows were explained.

    On the Dask backend each task uses one torch thread. The explainer's configuration, the
    model (its Adapter, or TorchScript bytes for a module that does not pickle) and the
    background are sent to the cluster once, as small tasks whose results the workers share
    (:mod:`agnostic_xai.execution.shared`), not with ``client.scatter``: scattered data
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
    executor = _executor(backend, client, scheduler)
    remote = executor is None or not executor.in_process
    check_path(out, "out", allow_none=True)
    if is_tensor(target):
        target = tensor_to_array(target, "target")
    seed = _int(seed, "seed", 0)
    row_chunk = _int(row_chunk, "row_chunk", 1)
    rows = _int(DEFAULT_PARTITION_ROWS if partition_rows is None else partition_rows, "partition_rows", 1)
    partition_rows = -(-rows // row_chunk) * row_chunk  # partitions are unions of whole chunks
    retries = _int(retries, "retries", 0)
    if out is not None:  # before any work: never write over (or into) the input
        check_not_an_input(out, [data])

    source = open_source(data, id_column)
    columns = source.columns
    if id_column is not None and id_column not in (columns or ()):
        raise InvalidInputError(f"id_column {id_column!r} is not a column of the data; columns: {list(columns or ())}.")
    if encoder is None:
        adapter, feature_columns, background_arr = plain_columns(model, columns, id_column, background)
        read_columns = None if feature_columns is None else (*feature_columns, *([id_column] if id_column else []))
    else:
        encoder = check_encoder(encoder, remote=remote)
        adapter, feature_columns, background_arr = encoded_columns(model, columns, encoder, background)
        needed = raw_columns(encoder)
        read_columns = (
            None if needed is None else (*needed, *([id_column] if id_column and id_column not in needed else []))
        )
    configured, name = _configured_explainer(explainer, adapter, feature_groups)
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
    target_int, target_rows = _targets(target, adapter, source)
    if getattr(configured, "is_stochastic", False):  # fitted with its own seed, as by compare
        configured.set_params(random_state=derive_seed(seed, name))

    job = ExplainJob(
        explainer=configured,
        name=name,
        seed=seed,
        row_chunk=row_chunk,
        groups=feature_groups,
        feature_columns=feature_columns,
        id_column=id_column,
        target=target_int,
        torch_threads=1 if remote else None,
        encoder=encoder,
        read_columns=read_columns,
    )
    if out is not None:
        pyarrow_parquet()
    model_sent = portable_model(adapter, background_arr) if remote else adapter
    shared = (job, model_sent, background_arr, source if source.reads_in_task else None)
    partitions = source.partitions(partition_rows, target_rows, csv_dtypes(encoder))
    sink = Sink(Path(out) if out is not None else None, attributed)
    try:
        with _opened(executor, client, scheduler, n_workers, retries) as (running, window):
            _run(running, window, job, shared, partitions, sink)
    except BaseException:
        sink.close(finished=False)
        raise
    sink.close()
    return sink.result(job, running.name, time.perf_counter() - start_time)


def _executor(backend: Any, client: Any, scheduler: Any) -> Executor | None:
    """The executor ``backend`` names (None for ``"dask"``: built once its client is open)."""
    if isinstance(backend, str):
        check_choice(backend, "backend", available_executors())
    elif not isinstance(backend, Executor):
        raise InvalidTypeError(
            f"backend must be an executor name {available_executors()} or an Executor, got {shown(backend)}."
        )
    if backend != "dask" and (client is not None or scheduler is not None):
        raise InvalidInputError("client and scheduler apply to backend='dask'; pass backend='dask' to use them.")
    return None if backend == "dask" else get_executor(backend)


@contextlib.contextmanager
def _opened(
    executor: Executor | None, client: Any, scheduler: Any, n_workers: Any, retries: int
) -> Iterator[tuple[Executor, int]]:
    """The executor to run on and its window (partitions in flight): a few per worker thread.

    For ``"dask"`` the client (the caller's, one connected to ``scheduler``, or a local
    cluster of ``n_workers``) is opened here, for the run, so that the window fits the cluster.
    """
    if executor is not None:
        yield executor, 2 * (os.cpu_count() or 1) + 2
        return
    with dask_client(client, scheduler=scheduler, n_workers=n_workers) as dask:
        window = 2 * max(1, sum(dask.nthreads().values())) + 2
        yield get_executor("dask", client=dask, retries=retries, threads=1), window


#: The shared arguments of a partition's task, in order, as errors name them.
_SHARED = ("job", "model", "background", "source")


def _run(
    executor: Executor, window: int, job: ExplainJob, shared: tuple[Any, ...], partitions: Any, sink: Sink
) -> None:
    """Run one task per partition on ``executor``, at most ``window`` in flight; results go to ``sink``.

    The shared arguments go where the tasks run once. A partition whose task did not return
    (on Dask: ``KilledWorker`` after dask's ``allowed-failures``, or an error outside the
    explainer after ``retries``) is a :class:`PartitionFailure` of its rows; the others go on.
    """
    submitted: dict[int, Partition] = {}

    def tasks() -> Iterator[Task]:
        for index, (partition, rows) in enumerate(partitions):
            submitted[index] = partition
            # Rows travel inside their own task: a task whose worker dies can be re-run
            # elsewhere with them. Parquet rows are read by the task (rows is None).
            yield Task(explain_partition, (partition, rows), name="explain-partition")

    def gathered(index: int, result: Any) -> None:
        partition = submitted.pop(index)
        if isinstance(result, TaskError):
            lost = Failure(
                explainer=job.name,
                stage="explain",
                error=result.error,
                message=" ".join(result.message.split()),
                start=partition.start,
                stop=partition.stop,
            )
            result = PartitionResult(partition.index, partition.start, partition.stop, failures=[lost])
        sink.add(result)

    try:
        executor.run(tasks(), shared, on_result=gathered, window=window)
    except SharedObjectError as exc:  # the executor numbers the shared objects: name them
        message = str(exc)
        for i, label in enumerate(_SHARED):
            message = message.replace(f"The shared{i} ", f"The {label} ", 1)
        raise SharedObjectError(message) from exc
