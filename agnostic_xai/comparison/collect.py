"""The collector: a comparison's results as they arrive, committed to the store, one cell per explainer.

Whatever executor runs the graph (:mod:`agnostic_xai.comparison.tasks`), its gathered
results come back to this process, and :class:`Collector` is the one place that handles
them: it starts each resumed explainer from what the store holds, commits every
attribution, metric result and failure to the store as it arrives, advances the progress
bar, turns a task lost on the way (a :class:`~agnostic_xai.execution.graph.TaskError`) into
the failure of its explainer or metric cell, and finally gives each explainer's
:class:`Cell` with its metrics in the configured order and its failures in that order too.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..attribution import Attribution
from ..execution.failures import Failure
from ..execution.graph import TaskError
from .store import ResultStore
from .tasks import Explained, Lane, Scored

__all__ = ["Cell", "Collector"]


@dataclass
class Cell:
    """What running one explainer (and its metrics) produced."""

    name: str
    seed: int | None
    explainer: Any = None
    attribution: Attribution | None = None
    fit_seconds: float = 0.0
    fit_model_rows: int = 0
    results: dict[str, Any] = field(default_factory=dict)
    failures: list[Failure] = field(default_factory=list)
    resumed: int = 0


class Collector:
    """Receives ``on_result(index, result)`` from an executor (see the module notes).

    Parameters
    ----------
    lanes : dict of str to Lane
        Per explainer, its part of the graph (:func:`~agnostic_xai.comparison.tasks.build_graph`).
    metric_names : sequence of str
        The metrics in their configured order.
    store : ResultStore, optional
        Where results are committed as they arrive.
    progress : callable, optional
        Called with a number of finished cells.
    """

    def __init__(
        self,
        lanes: dict[str, Lane],
        metric_names: Sequence[str],
        store: ResultStore | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> None:
        self.lanes, self.order, self.store, self.progress = lanes, list(metric_names), store, progress
        self._cells: dict[str, Cell] = {}
        self._owner: dict[int, str] = {}
        for name, lane in lanes.items():
            cell = self._cells[name] = Cell(name=name, seed=lane.seed, explainer=lane.explainer)
            for index in (lane.fitted, lane.joined, *lane.metrics):
                if index is not None:
                    self._owner[index] = name
            if lane.resumed:
                assert lane.stored is not None
                # Resumed: the attribution is read back, its fit cost is the stored one.
                cell.attribution = lane.stored.attribution
                cell.fit_seconds, cell.fit_model_rows = lane.stored.fit_seconds, lane.stored.fit_model_rows
                cell.results.update(lane.done)
                cell.resumed = 1 + len(lane.done)
                self._advance(len(lane.done))

    def _advance(self, n: int) -> None:
        if self.progress is not None and n:
            self.progress(n)

    def _fail(self, cell: Cell, failure: Failure) -> None:
        cell.failures.append(failure)
        if self.store is not None:
            self.store.put_failure(failure.as_record())

    def __call__(self, index: int, result: Any) -> None:
        """Take the result of task ``index``."""
        name = self._owner[index]
        cell, lane = self._cells[name], self.lanes[name]
        lost = isinstance(result, TaskError)  # the task itself failed (a lost worker, a result that does not pickle)
        if index == lane.fitted:
            if not lost and result is not None:
                cell.explainer = result
        elif index == lane.joined:
            if lost:
                result = Explained(None, Failure(name, "", "explain", result.error, result.message))
            if result.attribution is None:
                self._fail(cell, result.failure)
            else:
                cell.attribution = result.attribution
                cell.fit_seconds, cell.fit_model_rows = result.fit_seconds, result.fit_model_rows
                if self.store is not None:
                    self.store.put_attribution(name, cell.attribution, fit_seconds=cell.fit_seconds,
                                               fit_model_rows=cell.fit_model_rows, seed=cell.seed)
            if not lane.metrics:
                self._advance(1)
        else:
            metric_name = lane.metrics[index]
            if lost:
                if cell.attribution is not None:
                    self._fail(cell, Failure(name, metric_name, "metric", result.error, result.message))
            else:
                scored: Scored = result
                if scored.failure is not None:
                    self._fail(cell, scored.failure)
                elif scored.result is not None:
                    cell.results[metric_name] = scored.result
                    if self.store is not None:
                        self.store.put_result(name, metric_name, scored.result)
            self._advance(1)

    def cells(self) -> list[Cell]:
        """One :class:`Cell` per explainer, in the configured order; metrics and failures in the metrics' order."""
        position = {m: i for i, m in enumerate(["", *self.order])}
        for cell in self._cells.values():
            cell.results = {m: cell.results[m] for m in self.order if m in cell.results}
            cell.failures.sort(key=lambda failure: position.get(failure.metric, len(position)))
        return list(self._cells.values())
