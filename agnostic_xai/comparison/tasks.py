"""A comparison as a task graph: the tasks, and the one builder that lays them out for every backend.

For each explainer (a lane: its tasks run in order in one process on ``processes``):

* one task per row chunk (:mod:`agnostic_xai.comparison.chunks`): the explainer fitted in
  this process (once, shared by its tasks here: :meth:`CompareInputs.fitted`) explains the
  chunk's rows under the chunk's seed; a chunk after one that failed here is not run;
* a fitted task: the first chunk's fitted explainer, for :attr:`Comparison.explainers`;
* a join task: the chunks' attributions in row order, or the failure of the first chunk
  (in row order) that failed;
* one task per pending metric: the metric scores the joined attribution; a metric that
  re-runs the explainer (stability, sanity) uses the explainer fitted in its process.

A resumed explainer's stored attribution is a given node instead of its chunks and join.
Every task takes the :class:`~agnostic_xai.comparison.inputs.CompareInputs` as its shared
argument, and every piece of work runs under the comparison's limits
(:func:`~agnostic_xai.comparison.limits.cell_limits`).
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass, field
from typing import Any

from .._params import clone
from ..attribution import Attribution
from ..execution.failures import Failure
from ..execution.graph import After, Task
from .chunks import explain_chunk, row_chunks
from .inputs import CompareInputs, Prepared
from .limits import cell_limits
from .store import StoredExplainer

__all__ = ["Explained", "Lane", "Piece", "Scored", "build_graph", "run_metric"]


@dataclass
class Piece:
    """What one row-chunk task produced."""

    start: int
    stop: int
    attribution: Attribution | None = None
    failure: Failure | None = None
    fit_seconds: float = 0.0
    fit_model_rows: int = 0
    explainer: Any = None  # the fitted explainer, from the first chunk only
    skipped: bool = False  # not run: an earlier chunk failed in this process


@dataclass
class Explained:
    """An explainer's joined attribution (or its failure) and what fitting it cost."""

    attribution: Attribution | None
    failure: Failure | None = None
    fit_seconds: float = 0.0
    fit_model_rows: int = 0


@dataclass
class Scored:
    """What one metric task produced: a result, a failure, or nothing (the explainer failed)."""

    metric: str
    result: Any = None
    failure: Failure | None = None


@dataclass
class Lane:
    """One explainer's part of the graph: what it resumes, what it runs, and which task holds what."""

    name: str
    explainer: Any
    seed: int | None
    stored: StoredExplainer | None
    done: dict[str, Any]
    pending: list[tuple[str, Any]]
    fitted: int | None = None
    joined: int | None = None
    metrics: dict[int, str] = field(default_factory=dict)

    @property
    def resumed(self) -> bool:
        """Whether the attribution is read back from the store."""
        return self.stored is not None and self.stored.attribution is not None


def portable(explainer: Any) -> Any:
    """``explainer``, or its unfitted clone when it cannot be pickled (to travel back from a worker).

    A fitted explainer holding a compiled object of another library does not pickle; it
    comes back with its parameters, and its scores are complete.
    """
    try:
        pickle.dumps(explainer)
    except Exception:
        return clone(explainer)
    return explainer


def run_metric(metric: Any, attribution: Attribution, inputs: CompareInputs, explainer: Any) -> Any:
    """One metric cell: a clone of ``metric`` with its derived seed (and the ground truth), under the limits.

    The seed is :func:`~agnostic_xai.metrics._rng.metric_seed`: the root seed and what the
    metric draws, never the explainer, so every explainer is scored with the same random
    numbers (common random numbers) and adding an explainer changes no other's scores.
    """
    from ..metrics._rng import metric_seed

    metric = clone(metric)
    if getattr(metric, "is_stochastic", False):
        metric.set_params(random_state=metric_seed(inputs.seed, metric))
    if inputs.reference is not None and getattr(metric, "needs_reference", False):
        metric.set_params(reference=inputs.reference)
    with cell_limits(*inputs.limits):
        return metric(attribution, inputs.adapter, inputs.background, explainer=explainer)


# ---------------------------------------------------------------------------------- the tasks
def explain_chunk_task(
    name: str, explainer: Any, start: int, stop: int, n_chunks: int, travels: bool, inputs: CompareInputs
) -> Piece:
    """Explain rows ``[start, stop)`` with the explainer fitted in this process (fitting it on first use)."""
    piece = Piece(start, stop)
    entry = inputs.fitted(name)
    with entry.lock:
        if entry.failed_at is not None and entry.failed_at < start:
            piece.skipped = True
            return piece
        fitted = None
        try:
            with cell_limits(*inputs.limits):  # the first chunk here fits the explainer, under its limits
                fitted = entry.get(explainer, inputs)
                piece.attribution = explain_chunk(fitted, inputs.X, inputs.targets, start, stop, inputs.seed, name)
        except Exception as exc:
            rows = fitted is not None and n_chunks > 1  # the chunk's rows, when the explainer fitted
            piece.failure = Failure.from_exception(exc, explainer=name, stage="explain",
                                                   start=start if rows else None, stop=stop if rows else None)
            entry.failed(start)
        if fitted is not None:
            piece.fit_seconds = float(getattr(fitted, "fit_seconds_", 0.0))
            piece.fit_model_rows = int(getattr(fitted, "fit_model_rows_", 0))
            if start == 0:
                piece.explainer = portable(fitted) if travels else fitted
    return piece


def join_task(name: str, *pieces: Piece) -> Explained:
    """The chunks' attributions in row order, or the first failure in row order."""
    for piece in pieces:
        if piece.failure is not None:
            return Explained(None, piece.failure)
    try:
        attribution = Attribution.concatenate([piece.attribution for piece in pieces])  # type: ignore[misc]
    except Exception as exc:
        return Explained(None, Failure.from_exception(exc, explainer=name, stage="explain"))
    return Explained(attribution, None, pieces[0].fit_seconds, pieces[0].fit_model_rows)


def fitted_task(piece: Piece) -> Any:
    """The first chunk's fitted explainer (None when it failed to fit)."""
    return piece.explainer


def fitted_here_task(name: str, inputs: CompareInputs) -> Any:
    """The explainer fitted in this process, if a task fitted it (a resumed explainer, run here)."""
    return inputs.fitted(name).explainer


def given_task(explained: Explained) -> Explained:
    """A stored (resumed) attribution, as a node of the graph for its metric tasks."""
    return explained


def metric_task(
    name: str, explainer: Any, metric_name: str, metric: Any, explained: Explained, inputs: CompareInputs
) -> Scored:
    """One explainer × metric cell on the joined attribution."""
    scored = Scored(metric_name)
    if explained.attribution is None:
        return scored
    try:
        if getattr(metric, "requires_explainer", False):
            entry = inputs.fitted(name)
            with entry.lock:
                with cell_limits(*inputs.limits):
                    fitted = entry.get(explainer, inputs)
                scored.result = run_metric(metric, explained.attribution, inputs, fitted)
        else:
            scored.result = run_metric(metric, explained.attribution, inputs, None)
    except Exception as exc:
        scored.failure = Failure.from_exception(exc, explainer=name, metric=metric_name, stage="metric")
    return scored


# ---------------------------------------------------------------------------------- the graph
def build_graph(
    prepared: Prepared,
    stored: dict[str, StoredExplainer | None],
    skip: dict[str, set[str]],
    *,
    in_process: bool,
) -> tuple[list[Task], dict[str, Lane]]:
    """The comparison's tasks (shared argument: ``prepared.inputs``) and, per explainer, its :class:`Lane`.

    ``stored`` holds what a resumed store has per explainer; ``skip`` the metrics not run
    per explainer (:func:`~agnostic_xai.comparison.references.self_scored`); ``in_process``
    says whether results stay in this process (a fitted explainer then need not pickle).
    """
    chunks = row_chunks(prepared.inputs.X.shape[0], prepared.inputs.row_chunk)
    tasks: list[Task] = []
    lanes: dict[str, Lane] = {}

    def add(task: Task) -> int:
        tasks.append(task)
        return len(tasks) - 1

    for name, explainer in prepared.explainers:
        previous = stored.get(name)
        done = dict(previous.results or {}) if previous is not None else {}
        pending = [(m, metric) for m, metric in prepared.metrics if m not in done and m not in skip.get(name, ())]
        lane = lanes[name] = Lane(name, explainer, prepared.stochastic_seed(name, explainer), previous, done, pending)
        if lane.resumed:
            if not pending:
                continue
            assert previous is not None and previous.attribution is not None
            given = Explained(previous.attribution, None, previous.fit_seconds, previous.fit_model_rows)
            source = add(Task(given_task, (given,), shared=False, gather=False, name="compare-stored", lane=name))
        else:
            pieces = [
                add(Task(explain_chunk_task, (name, explainer, start, stop, len(chunks), not in_process),
                         gather=False, name="compare-explain-chunk", lane=name))
                for start, stop in chunks
            ]
            lane.fitted = add(Task(fitted_task, (After(pieces[0]),), shared=False, name="compare-fitted", lane=name))
            source = lane.joined = add(
                Task(join_task, (name, *(After(i) for i in pieces)), shared=False, name="compare-join", lane=name)
            )
        for metric_name, metric in pending:
            index = add(Task(metric_task, (name, explainer, metric_name, metric, After(source)),
                             name="compare-metric", lane=name))
            lane.metrics[index] = metric_name
        if lane.resumed and in_process:
            lane.fitted = add(Task(fitted_here_task, (name,), name="compare-fitted", lane=name))
    return tasks, lanes
