"""A comparison's plan: the model rows and time each cell will take, before running it.

Costs are measured, not guessed: every explainer is fitted on the real background, explains
the first row once to warm up (first-call imports and compilation), then the first row and
the first two rows; every metric scores those one- and two-row explanations (with the
explainer and the ground truth it would get). A cost ``a + b·n`` fitted through the two
measurements, plus the fit cost, gives the estimate for ``n`` rows. Model rows are counted
by the adapter, so they are exact for methods whose cost is affine in the rows (a fixed
budget per row plus a fixed set-up) and estimates for the others (shap's permutation
explainer skips repeated masked rows, so its count depends on the row); seconds are as good as millisecond timings of one and
two rows are (a noisy negative slope falls back to the two-row time per two rows).

The calibration doubles as a check of the configuration: an explainer or metric that
cannot run (a budget below its minimum, say) shows up in the plan with its error, before
the real run.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .._params import clone, derive_seed
from ..execution.failures import Failure
from ..groups import FeatureGroups
from ..metrics._rng import metric_seed
from .chunks import DEFAULT_ROW_CHUNK, row_chunks
from .inputs import DEFAULT_EXACT_LIMIT, Prepared, prepare
from .limits import cell_limits
from .references import reference_roles, self_scored

__all__ = ["Plan", "make_plan", "plan"]

#: Columns of :attr:`Plan.cells`.
PLAN_COLUMNS = ("explainer", "metric", "model_rows", "seconds_estimate", "status")


@dataclass(eq=False)
class Plan:
    """What a comparison would evaluate, from a one-row calibration.

    Attributes
    ----------
    cells : DataFrame
        One line per explainer (``metric`` is ``""``: fit plus explain), per explainer ×
        metric, and for the exact ground truth: ``model_rows`` and ``seconds_estimate`` for
        all rows, and ``status`` (``"ok"`` or the error the calibration met).
    n_rows : int
        Rows the comparison explains.
    calibration_seconds : float
        Time the calibration took.
    max_model_rows : int or None
        The limit the plan was checked against.
    refusal : str or None
        Why the plan is refused (above ``max_model_rows``), or None.
    """

    cells: pd.DataFrame
    n_rows: int
    calibration_seconds: float
    max_model_rows: int | None = None
    refusal: str | None = None

    @property
    def total_model_rows(self) -> int:
        """Model rows of the whole comparison."""
        return int(self.cells["model_rows"].fillna(0).sum())

    @property
    def total_seconds(self) -> float:
        """Estimated seconds of the whole comparison (one process)."""
        return float(self.cells["seconds_estimate"].fillna(0).sum())

    def to_string(self) -> str:
        """The plan as a text table with its totals."""
        frame = self.cells.copy()
        frame["metric"] = frame["metric"].replace("", "(fit + explain)")
        frame["seconds_estimate"] = frame["seconds_estimate"].map(lambda v: f"{v:.3g}" if np.isfinite(v) else "-")
        lines = [
            frame.to_string(index=False),
            f"\ntotal: {self.total_model_rows:,} model rows, about {self.total_seconds:.3g} s in one process "
            f"({self.n_rows} rows; calibrated on 1 and 2 rows in {self.calibration_seconds:.2g} s)",
        ]
        if self.refusal is not None:
            lines.append(f"refused: {self.refusal}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"Plan({len(self.cells)} cells, {self.total_model_rows:,} model rows, ~{self.total_seconds:.3g} s)"


def _measure(adapter: Any, function: Any, limits: Any) -> tuple[Any, float, int]:
    rows, start = adapter.rows_evaluated, time.perf_counter()
    with cell_limits(*limits):
        value = function()
    return value, time.perf_counter() - start, adapter.rows_evaluated - rows


def plan(
    model: Any,
    X: Any,
    *,
    background: Any = None,
    y: Any = None,
    explainers: Any = "default",
    metrics: Any = "default",
    target: Any = None,
    feature_groups: FeatureGroups | None = None,
    seed: int = 0,
    time_limit: float | None = None,
    n_background: int = 50,
    exact_limit: int = DEFAULT_EXACT_LIMIT,
    memory_limit: int | None = None,
    max_model_rows: int | None = None,
    row_chunk: int | None = DEFAULT_ROW_CHUNK,
) -> Plan:
    """What :func:`~agnostic_xai.compare` with the same arguments would evaluate, before running it.

    Every explainer and metric is calibrated on one and two rows (see the module notes) and
    the costs are scaled to ``X``'s rows; the arguments are those of ``compare`` (checked,
    resolved and seeded the same way), less the ones that only running uses.

    Parameters
    ----------
    model, X, background, y, explainers, metrics, target, feature_groups, seed, time_limit, n_background
        As for :func:`~agnostic_xai.compare`.
    exact_limit, memory_limit, row_chunk
        As for :func:`~agnostic_xai.compare`.
    max_model_rows : int, optional
        The plan is refused (:attr:`Plan.refusal` says why) when it evaluates more model
        rows than this.

    Returns
    -------
    Plan
        Model rows and seconds per cell.

    Raises
    ------
    InvalidInputError, ModelOutputError
        As :func:`~agnostic_xai.compare` raises them, before any calibration.
    """
    prepared = prepare(
        model, X, background=background, y=y, explainers=explainers, metrics=metrics, target=target,
        feature_groups=feature_groups, seed=seed, time_limit=time_limit, n_background=n_background,
        exact_limit=exact_limit, memory_limit=memory_limit, row_chunk=row_chunk, max_model_rows=max_model_rows,
    )
    return make_plan(prepared, max_model_rows)


def make_plan(prepared: Prepared, max_model_rows: int | None) -> Plan:
    """Calibrate every cell of a prepared comparison on one row and scale to its rows (see the module docstring).

    An explainer's fixed cost per ``explain`` call is counted once per row chunk.
    """
    inputs = prepared.inputs
    chosen, metrics = list(prepared.explainers), list(prepared.metrics)
    adapter, X, background, targets, groups = inputs.adapter, inputs.X, inputs.background, inputs.targets, inputs.groups
    seed, limits, wants_reference, row_chunk = inputs.seed, inputs.limits, prepared.wants_reference, inputs.row_chunk
    began = time.perf_counter()
    n = X.shape[0]
    calls = len(row_chunks(n, row_chunk))
    k = min(2, n)
    lines: list[dict[str, Any]] = []
    reference = None
    if wants_reference:
        from .._shapley import exact_shapley

        try:
            costs = []
            for rows_ in (1, k):
                reference, seconds, rows = _measure(
                    adapter,
                    # wants_reference already applied compare's exact_limit to these players
                    lambda: exact_shapley(adapter, X[:rows_], background, targets[:rows_], groups=groups,
                                          max_features=groups.n_groups if groups is not None else X.shape[1]),
                    limits,
                )
                costs.append((rows, seconds))
            lines.append(_line("exact_shapley (ground truth)", "", *_scale(costs, n, k)))
        except Exception as exc:
            lines.append(_line("exact_shapley (ground truth)", "", np.nan, np.nan, _status(exc)))
    # The ground truth is not scored against itself in the run, so not in the plan either.
    skip, _ = self_scored(reference_roles(dict(chosen), (getattr(m, "family", "") for _, m in metrics)), metrics,
                          wants_reference)
    for name, explainer in chosen:
        explainer = clone(explainer)
        if getattr(explainer, "is_stochastic", False):
            explainer.set_params(random_state=derive_seed(seed, name))
        try:
            _, fit_seconds, fit_rows = _measure(adapter, lambda: explainer.fit(adapter, background, groups=groups), limits)
            explainer.explain(X[:1], target=targets[:1])  # warm-up: first-call imports and compilation
            costs, attributions = [], []
            for rows_ in (1, k):
                attribution, seconds, rows = _measure(
                    adapter, lambda: explainer.explain(X[:rows_], target=targets[:rows_]), limits
                )
                # The attribution also counts rows evaluated outside the adapter.
                costs.append((max(rows, int(attribution.model_rows)), seconds))
                attributions.append(attribution)
        except Exception as exc:
            lines.append(_line(name, "", np.nan, np.nan, _status(exc)))
            lines.extend(_line(name, m, np.nan, np.nan, "explainer failed") for m, _ in metrics)
            continue
        rows, seconds, status = _scale(costs, n, k, calls)
        lines.append(_line(name, "", fit_rows + rows, fit_seconds + seconds, status))
        for metric_name, metric in metrics:
            if metric_name in skip.get(name, ()):
                continue
            metric = clone(metric)
            if getattr(metric, "is_stochastic", False):
                metric.set_params(random_state=metric_seed(seed, metric))
            try:
                costs = []
                for attribution in attributions:
                    if reference is not None and getattr(metric, "needs_reference", False):
                        metric.set_params(reference=reference[: attribution.n_rows])
                    _, seconds, rows = _measure(
                        adapter, lambda: metric(attribution, adapter, background, explainer=explainer), limits
                    )
                    costs.append((rows, seconds))
            except Exception as exc:
                lines.append(_line(name, metric_name, np.nan, np.nan, _status(exc)))
                continue
            lines.append(_line(name, metric_name, *_scale(costs, n, k)))
    cells = pd.DataFrame(lines, columns=list(PLAN_COLUMNS))
    cells["model_rows"] = cells["model_rows"].astype("Float64").round().astype("Int64")
    result = Plan(cells=cells, n_rows=n, calibration_seconds=time.perf_counter() - began, max_model_rows=max_model_rows)
    if max_model_rows is not None and result.total_model_rows > max_model_rows:
        biggest = cells.sort_values("model_rows", ascending=False, na_position="last").head(3)
        named = ", ".join(
            f"{line.explainer}{' / ' + line.metric if line.metric else ''} ({int(line.model_rows):,})"
            for line in biggest.itertuples()
            if not pd.isna(line.model_rows)
        )
        result.refusal = (
            f"the plan evaluates {result.total_model_rows:,} model rows, above max_model_rows={max_model_rows:,}; "
            f"the biggest cells: {named}. Lower their budgets or the rows explained, raise the limit "
            "(--max-model-rows), or force the run (force=True, --force)."
        )
    return result


def _scale(costs: list[tuple[int, float]], n: int, k: int, calls: int = 1) -> tuple[float, float, str]:
    """Model rows and seconds for ``n`` rows in ``calls`` calls from costs on 1 and ``k`` rows: ``calls·a + b·n``."""
    (rows_1, seconds_1), (rows_k, seconds_k) = costs
    if k == 1:
        return rows_1 * n, seconds_1 * n, "ok"
    rows_per = rows_k - rows_1
    rows = calls * max(rows_1 - rows_per, 0) + rows_per * n
    seconds_per = seconds_k - seconds_1
    if seconds_per <= 0:  # timing noise on a cheap cell: charge the 2-row time per 2 rows
        seconds_per = seconds_k / 2
    return rows, calls * max(seconds_1 - seconds_per, 0.0) + seconds_per * n, "ok"


def _line(explainer: str, metric: str, rows: float, seconds: float, status: str) -> dict[str, Any]:
    return {"explainer": explainer, "metric": metric, "model_rows": rows, "seconds_estimate": seconds, "status": status}


def _status(exc: BaseException) -> str:
    return str(Failure.from_exception(exc, stage="plan"))
