"""``compare(backend="dask")``: row chunks and explainer × metric cells as tasks on a Dask cluster.

For each explainer the graph holds

* one task per row chunk (:mod:`agnostic_xai.comparison.chunks`): fit a clone of the
  explainer (its own seed, so every chunk fits the same state) and explain the chunk's rows
  under the chunk's seed;
* a join task: the chunks' attributions concatenated in row order, or the failure of the
  first chunk (in row order) that failed;
* one task per pending metric: the metric scores the joined attribution (its future, never
  copied through the client); a metric that re-runs the explainer (stability, sanity)
  re-fits it in the task with the explainer's seed.

The adapter, the rows, the background, the targets, the feature groups and the ground truth
go to every worker once (:func:`~agnostic_xai.distributed.run_tasks_dask`). Results are
gathered in this process as they complete and committed to the result store here, so the
workers never need to reach its file. Every value is the one the local backend computes: the
same chunks, seeds, fits and metric seeds.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._params import clone, derive_seed
from ..attribution import Attribution
from .chunks import explain_chunk, row_chunks, with_rows
from .runner import _Cell, _failure, _limits, _portable_explainer, _run_metric
from .store import ResultStore, StoredExplainer

__all__ = ["run_compare_dask"]


@dataclass
class _Piece:
    """What one row-chunk task produced."""

    start: int
    stop: int
    attribution: Attribution | None = None
    failure: dict[str, str] | None = None
    fit_seconds: float = 0.0
    fit_model_rows: int = 0
    explainer: Any = None  # the fitted explainer, from the first chunk only


@dataclass
class _Explained:
    """An explainer's joined attribution (or its failure) and what fitting it cost."""

    attribution: Attribution | None
    failure: dict[str, str] | None = None
    fit_seconds: float = 0.0
    fit_model_rows: int = 0


@dataclass
class _Scored:
    """What one metric task produced: a result, a failure, or nothing (the explainer failed)."""

    metric: str
    result: Any = None
    failure: dict[str, str] | None = None


@dataclass
class _Roles:
    """Which task index holds what, for one explainer."""

    fitted: int | None = None
    joined: int | None = None
    metrics: dict[int, str] = field(default_factory=dict)


# ---------------------------------------------------------------------------------- the tasks
def _explain_chunk_task(
    name: str, explainer: Any, start: int, stop: int, n_chunks: int,
    adapter: Any, X: np.ndarray, background: np.ndarray, targets: np.ndarray, groups: Any,
    root_seed: int, limits: tuple[float | None, int | None], reference: Any,
) -> _Piece:
    """Fit a clone of ``explainer`` and explain rows ``[start, stop)`` under the comparison's limits."""
    explainer = clone(explainer)
    piece = _Piece(start, stop)
    fitted = False
    try:
        with _limits(*limits):
            explainer.fit(adapter, background, groups=groups)
            fitted = True
            piece.attribution = explain_chunk(explainer, X, targets, start, stop, root_seed, name)
    except Exception as exc:
        failure = _failure(name, "", "explain", exc)
        piece.failure = with_rows(failure, start, stop, n_chunks) if fitted else failure
    if fitted:
        piece.fit_seconds = float(getattr(explainer, "fit_seconds_", 0.0))
        piece.fit_model_rows = int(getattr(explainer, "fit_model_rows_", 0))
    if start == 0:
        piece.explainer = _portable_explainer(explainer) if fitted else None
    return piece


def _join_task(name: str, *pieces: _Piece) -> _Explained:
    """The chunks' attributions in row order, or the first failure in row order."""
    for piece in pieces:
        if piece.failure is not None:
            return _Explained(None, piece.failure)
    try:
        attribution = Attribution.concatenate([piece.attribution for piece in pieces])
    except Exception as exc:
        return _Explained(None, _failure(name, "", "explain", exc))
    return _Explained(attribution, None, pieces[0].fit_seconds, pieces[0].fit_model_rows)


def _fitted_task(piece: _Piece) -> Any:
    """The first chunk's fitted explainer (None when it failed to fit)."""
    return piece.explainer


def _given_task(explained: _Explained) -> _Explained:
    """A stored (resumed) attribution, put on the cluster once for its metric tasks."""
    return explained


def _metric_task(
    name: str, explainer: Any, metric_name: str, metric: Any, explained: _Explained,
    adapter: Any, X: np.ndarray, background: np.ndarray, targets: np.ndarray, groups: Any,
    root_seed: int, limits: tuple[float | None, int | None], reference: Any,
) -> _Scored:
    """One explainer × metric cell on the joined attribution; re-fits the explainer when the metric re-runs it."""
    scored = _Scored(metric_name)
    if explained.attribution is None:
        return scored
    fitted = None
    try:
        if getattr(metric, "requires_explainer", False):
            fitted = clone(explainer)
            with _limits(*limits):
                fitted.fit(adapter, background, groups=groups)
        scored.result = _run_metric(
            name, metric_name, metric, explained.attribution, adapter, background, fitted, root_seed, limits, reference
        )
    except Exception as exc:
        scored.failure = _failure(name, metric_name, "metric", exc)
    return scored


# ---------------------------------------------------------------------------------- the graph
def run_compare_dask(
    client: Any,
    chosen: Sequence[tuple[str, Any]],
    metrics: Sequence[tuple[str, Any]],
    arguments: tuple[Any, ...],
    row_chunk: int | None,
    stored: dict[str, StoredExplainer | None],
    store: ResultStore | None,
    progress: Callable[[int], None] | None = None,
    skip: dict[str, set[str]] | None = None,
) -> list[_Cell]:
    """Run the comparison's explainers × metrics on ``client``; one :class:`_Cell` per explainer, in order.

    Parameters
    ----------
    client : distributed.Client
        The cluster.
    chosen, metrics : sequences of (name, object)
        Configured explainers (stochastic ones already carry their seed) and metrics.
    arguments : tuple
        ``(adapter, X, background, targets, groups, root_seed, limits, reference)``.
    row_chunk : int or None
        Rows per chunk task (None: one chunk per explainer).
    stored : dict
        Per explainer, what a resumed store holds (or None).
    store : ResultStore, optional
        Where attributions, metric cells and failures are committed as they arrive.
    progress : callable, optional
        Called with a number of finished cells.
    skip : dict of str to set of str, optional
        Per explainer, metrics not to run (the ground truth is not scored against itself,
        :func:`~agnostic_xai.comparison.references.self_scored`).
    """
    from ..distributed import After, Task, TaskError, run_tasks_dask

    X = arguments[1]
    chunks = row_chunks(X.shape[0], row_chunk)
    tasks: list[Task] = []
    roles: dict[str, _Roles] = {}
    cells: dict[str, _Cell] = {}

    def add(task: Task) -> int:
        tasks.append(task)
        return len(tasks) - 1

    for name, explainer in chosen:
        seed = derive_seed(arguments[5], name) if getattr(explainer, "is_stochastic", False) else None
        cell = cells[name] = _Cell(name=name, seed=seed, explainer=explainer)
        role = roles[name] = _Roles()
        previous = stored.get(name)
        done = dict(previous.results or {}) if previous is not None else {}
        pending = [(m, metric) for m, metric in metrics if m not in done and m not in (skip or {}).get(name, ())]
        if previous is not None and previous.attribution is not None:
            cell.attribution = previous.attribution
            cell.fit_seconds, cell.fit_model_rows = previous.fit_seconds, previous.fit_model_rows
            cell.results.update(done)
            cell.resumed = 1 + len(done)
            if progress is not None and done:
                progress(len(done))
            if not pending:
                continue
            given = _Explained(previous.attribution, None, previous.fit_seconds, previous.fit_model_rows)
            source = add(Task(_given_task, (given,), shared=False, gather=False, name="compare-stored"))
        else:
            pieces = [
                add(Task(_explain_chunk_task, (name, explainer, start, stop, len(chunks)), gather=False,
                         name="compare-explain-chunk"))
                for start, stop in chunks
            ]
            role.fitted = add(Task(_fitted_task, (After(pieces[0]),), shared=False, name="compare-fitted"))
            source = role.joined = add(
                Task(_join_task, (name, *(After(i) for i in pieces)), shared=False, name="compare-join")
            )
        for metric_name, metric in pending:
            index = add(Task(_metric_task, (name, explainer, metric_name, metric, After(source)), name="compare-metric"))
            role.metrics[index] = metric_name
    owner = {i: name for name, role in roles.items() for i in (role.fitted, role.joined, *role.metrics) if i is not None}

    def record(failure: dict[str, str], cell: _Cell) -> None:
        cell.failures.append(failure)
        if store is not None:
            store.put_failure(failure)

    def arrived(index: int, result: Any) -> None:
        name = owner[index]
        cell, role = cells[name], roles[name]
        lost = isinstance(result, TaskError)  # the task itself failed on the cluster (a lost worker, say)
        if index == role.fitted:
            if not lost and result is not None:
                cell.explainer = result
        elif index == role.joined:
            if lost:
                result = _Explained(None, {"explainer": name, "metric": "", "stage": "explain",
                                           "error": result.error, "message": result.message})
            if result.attribution is None:
                record(result.failure, cell)
            else:
                cell.attribution = result.attribution
                cell.fit_seconds, cell.fit_model_rows = result.fit_seconds, result.fit_model_rows
                if store is not None:
                    store.put_attribution(name, cell.attribution, fit_seconds=cell.fit_seconds,
                                          fit_model_rows=cell.fit_model_rows, seed=cell.seed)
            if progress is not None and not role.metrics:
                progress(1)
        else:
            metric_name = role.metrics[index]
            if lost and cell.attribution is not None:
                record({"explainer": name, "metric": metric_name, "stage": "metric", "error": result.error,
                        "message": result.message}, cell)
            elif not lost and result.failure is not None:
                record(result.failure, cell)
            elif not lost and result.result is not None:
                cell.results[metric_name] = result.result
                if store is not None:
                    store.put_result(name, metric_name, result.result)
            if progress is not None:
                progress(1)

    run_tasks_dask(client, tasks, arguments, on_result=arrived, errors="return")
    order = [m for m, _ in metrics]
    position = {m: i for i, m in enumerate(["", *order])}
    for cell in cells.values():
        # Keep the metrics' order as configured (as the local backend gives it), whatever
        # order the cells finished in.
        cell.results = {m: cell.results[m] for m in order if m in cell.results}
        cell.failures.sort(key=lambda failure: position.get(failure["metric"], len(position)))
    return [cells[name] for name, _ in chosen]
