"""What a report says, derived once from a :class:`~agnostic_xai.comparison.Comparison`.

:func:`report_content` is the only place where the verdict, the summary table, the
failures, the surrogate rules and the reproducibility record are worked out. The HTML,
JSON and Markdown writers only format a :class:`ReportContent`, so they cannot disagree.
"""

from __future__ import annotations

import dataclasses
import datetime
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..exceptions import AgnosticXAIError, InvalidInputError

if TYPE_CHECKING:
    from ..comparison import Comparison

__all__ = [
    "Cell",
    "CostLeader",
    "MetricVerdict",
    "ReportContent",
    "SummaryColumn",
    "SummaryRow",
    "Surrogate",
    "format_number",
    "report_content",
    "to_jsonable",
]


@dataclass(frozen=True)
class MetricVerdict:
    """Which explainer is best on one metric, and whether significantly so.

    Attributes
    ----------
    metric, family : str
    higher_is_better : bool
    best : str or None
        Best explainer by mean score (None when no explainer has a finite mean).
    winner : str or None
        ``best`` when it beats every other explainer significantly
        (:meth:`Comparison.winner`), else None.
    not_beaten : tuple of str
        Explainers that ``best`` does not beat significantly.
    excluded : tuple of str
        Explainers left out of this verdict: the comparison's references
        (:attr:`Comparison.references`) and, on ground-truth metrics, exact enumerators.
    statement : str
        The verdict as one plain-text sentence (it says when the rows are too few for any
        difference to be significant, and how many would do).
    rows_needed : int or None
        When no difference can be significant with these rows, the fewest rows that would
        allow it (:meth:`Comparison.detectability`); None otherwise.
    """

    metric: str
    family: str
    higher_is_better: bool
    best: str | None
    winner: str | None
    not_beaten: tuple[str, ...]
    excluded: tuple[str, ...]
    statement: str
    rows_needed: int | None = None


@dataclass(frozen=True)
class CostLeader:
    """The cheapest explainer per explained row (reference explainers such as ``random`` excluded)."""

    explainer: str
    seconds_per_row: float
    model_rows_per_row: float
    excluded: tuple[str, ...] = ()


@dataclass(frozen=True)
class Cell:
    """One explainer's result on one metric: mean, confidence interval and rank (1 = best)."""

    mean: float
    ci_low: float
    ci_high: float
    rank: float


@dataclass(frozen=True)
class SummaryColumn:
    """A column of the summary table and who is best in it.

    ``kind`` is ``"metric"`` (then ``key`` is the metric name), ``"overall"`` (mean rank)
    or ``"cost"`` (``seconds_per_row``, ``model_rows_per_row``).
    """

    key: str
    kind: str
    family: str
    higher_is_better: bool
    best: tuple[str, ...]


@dataclass(frozen=True)
class SummaryRow:
    """One explainer's line of the summary table; ``reference`` is its role (``""`` for candidates)."""

    explainer: str
    cells: dict[str, Cell]
    mean_rank: float
    seconds_per_row: float
    model_rows_per_row: float
    reference: str = ""


@dataclass(frozen=True)
class Surrogate:
    """The rules of a fitted surrogate tree for one explained output."""

    explainer: str
    output: int | None
    #: Name of the output, when the surrogate has one tree per output (None with one tree).
    output_name: str | None
    fidelity: float | None
    rules: str


@dataclass(frozen=True)
class ReportContent:
    """Everything a report shows, in plain Python values.

    Attributes
    ----------
    title : str
    generated : str
        UTC time the content was derived (ISO 8601).
    overview : dict
        Rows, background size, explained output and target, explainers and metrics run,
        the model's score when labels were given.
    verdicts : tuple of MetricVerdict
        One per faithfulness metric.
    ground_truth : tuple of MetricVerdict
        One per ground-truth (exact Shapley) metric, exact explainers excluded.
    cost_leader : CostLeader or None
    n_failed, n_skipped : int
        Explainer or metric cells that failed, and explainers not run (with reasons).
    headline : tuple of str
        The summary as sentences, most important first.
    columns : tuple of SummaryColumn
    rows : tuple of SummaryRow
        Ordered by mean rank, best first.
    confidence, alpha : float
        Level of the intervals and of the significance tests.
    n_resamples : int
        Bootstrap resamples behind the intervals.
    failures : tuple of dict
        ``explainer, metric, stage, error, message`` per failure or skip.
    surrogates : tuple of Surrogate
    agreement : dict or None
        ``{"metric", "explainers", "matrix"}`` when computed.
    global_importance : dict
        ``{"features": [...], "explainers": {name: [mean |φ| per feature]}}``.
    reproducibility : dict
        The comparison's configuration: seed, rows, background size, feature and group
        names, explainer and metric parameters, versions.
    notes : tuple of str
        What was left out of the report and why.
    """

    title: str
    generated: str
    overview: dict[str, Any]
    verdicts: tuple[MetricVerdict, ...]
    ground_truth: tuple[MetricVerdict, ...]
    cost_leader: CostLeader | None
    n_failed: int
    n_skipped: int
    headline: tuple[str, ...]
    columns: tuple[SummaryColumn, ...]
    rows: tuple[SummaryRow, ...]
    confidence: float
    alpha: float
    n_resamples: int
    failures: tuple[dict[str, str], ...]
    surrogates: tuple[Surrogate, ...]
    agreement: dict[str, Any] | None
    global_importance: dict[str, Any]
    reproducibility: dict[str, Any]
    notes: tuple[str, ...]

    @property
    def metric_columns(self) -> tuple[SummaryColumn, ...]:
        """The summary columns of metrics, in run order."""
        return tuple(c for c in self.columns if c.kind == "metric")

    def column(self, key: str) -> SummaryColumn:
        """The summary column ``key``."""
        for c in self.columns:
            if c.key == key:
                return c
        raise KeyError(key)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: nested dicts and lists, NaN and infinities as None."""
        return to_jsonable(dataclasses.asdict(self))


# ---------------------------------------------------------------------- helpers
def format_number(value: Any, digits: int = 4) -> str:
    """A number for a table: ``digits`` significant digits, ``–`` when missing."""
    if value is None:
        return "–"
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    if not math.isfinite(number):
        return "–"
    return f"{number:.{digits}g}"


def to_jsonable(value: Any) -> Any:
    """``value`` as JSON-compatible Python: floats (NaN/inf -> None), lists, string keys.

    Arrays become (nested) lists, numpy scalars Python numbers, dataclasses dicts;
    anything else without a JSON form (a model, a callable) becomes its ``repr``.
    """
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_jsonable(dataclasses.asdict(value))
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (np.bool_,)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        number = float(value)
        return number if math.isfinite(number) else None
    if value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, np.ndarray):
        return to_jsonable(value.tolist())
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, (pd.Series, pd.Index)):
        return to_jsonable(value.tolist())
    if isinstance(value, pd.DataFrame):
        return to_jsonable(value.to_dict(orient="records"))
    return repr(value)


def _float(value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return float("nan")
    return number


def _best(values: Mapping[str, float], higher: bool) -> tuple[str, ...]:
    """Names whose value is the best finite one (ties all included)."""
    finite = {k: v for k, v in values.items() if math.isfinite(v)}
    if not finite:
        return ()
    target = max(finite.values()) if higher else min(finite.values())
    return tuple(k for k, v in finite.items() if v == target)


def _direction(higher: bool) -> str:
    return "↑" if higher else "↓"


def _verdict(comparison: Comparison, metric: str, alpha: float, exclude: tuple[str, ...]) -> MetricVerdict:
    # References are never candidates: they are left out of every verdict.
    exclude = tuple(dict.fromkeys((*exclude, *comparison.references)))
    family = str(comparison.table.loc[comparison.table["metric"] == metric, "family"].iloc[0])
    higher = comparison.higher_is_better(metric)
    label = f"{metric} {_direction(higher)}"
    scores = comparison.scores(metric).drop(columns=[e for e in exclude if e in comparison.explainer_names],
                                            errors="ignore")
    exclude = tuple(e for e in exclude if e in comparison.explainer_names)
    means = scores.mean(axis=0, skipna=True)
    means = means[np.isfinite(means.to_numpy(dtype=float))]
    if means.empty:
        return MetricVerdict(metric, family, higher, None, None, (), exclude, f"{label}: no explainer has a score.")
    best = str(means.idxmax() if higher else means.idxmin())
    if len(means) < 2:
        statement = f"{label}: only {best} was scored, so there is nothing to compare it with."
        return MetricVerdict(metric, family, higher, best, None, (), exclude, statement)
    try:
        significance = comparison.significance(metric, alpha=alpha, exclude=exclude)
        winner = comparison.winner(metric, alpha=alpha, exclude=exclude)
    except AgnosticXAIError as exc:
        statement = f"{label}: best by mean is {best}; significance could not be tested ({exc})."
        return MetricVerdict(metric, family, higher, best, None, (), exclude, statement)
    not_beaten = tuple(str(e) for e in significance.index[~significance["significant"].to_numpy(dtype=bool)])
    test = f"paired Wilcoxon, Holm-corrected, α = {alpha:g}"
    design = significance.attrs
    if winner is not None:
        statement = f"{label}: {winner} is significantly best ({test})."
    elif not design.get("detectable", True):
        statement = f"{label}: no significant winner can exist; {best} is best by mean. {design['note']}"
    else:
        statement = (
            f"{label}: no significant winner; {best} is best by mean but not significantly better than "
            f"{', '.join(not_beaten)} ({test})."
        )
    return MetricVerdict(
        metric, family, higher, best, winner, not_beaten, exclude, statement, design.get("rows_needed")
    )


def _exact_labels(comparison: Comparison) -> tuple[str, ...]:
    """Labels of the explainers that enumerate exact Shapley values (``is_exact``).

    They are the ground truth of ``ground_truth`` metrics, so "best against the ground
    truth" leaves them out.
    """
    return tuple(
        label for label in comparison.explainer_names if getattr(comparison.explainers.get(label), "is_exact", False)
    )


def _cost_leader(comparison: Comparison) -> CostLeader | None:
    costs = comparison.costs
    if costs.empty or "status" not in costs:
        return None
    references = tuple(e for e in costs["explainer"].astype(str) if e in comparison.references)
    candidate = (costs["status"] == "ok") & ~costs["explainer"].isin(references)
    ok = costs[candidate & np.isfinite(costs["seconds_per_row"].to_numpy(dtype=float))]
    if ok.empty:
        return None
    line = ok.sort_values("seconds_per_row", kind="stable").iloc[0]
    return CostLeader(
        str(line["explainer"]), _float(line["seconds_per_row"]), _float(line["model_rows_per_row"]), references
    )


def _summary_table(
    comparison: Comparison, summary: pd.DataFrame
) -> tuple[tuple[SummaryColumn, ...], tuple[SummaryRow, ...]]:
    families = comparison.table.drop_duplicates("metric").set_index("metric")["family"]
    metrics = comparison.metric_names
    references = comparison.references
    rows = []
    for explainer, line in summary.iterrows():
        cells = {
            m: Cell(
                mean=_float(line[(m, "mean")]),
                ci_low=_float(line[(m, "ci_low")]),
                ci_high=_float(line[(m, "ci_high")]),
                rank=_float(line[(m, "rank")]),
            )
            for m in metrics
        }
        rows.append(
            SummaryRow(
                explainer=str(explainer),
                cells=cells,
                mean_rank=_float(line[("overall", "mean_rank")]),
                seconds_per_row=_float(line[("cost", "seconds_per_row")]),
                model_rows_per_row=_float(line[("cost", "model_rows_per_row")]),
                reference=references.get(str(explainer), ""),
            )
        )
    # References are never highlighted as best or cheapest: only candidates compete.
    candidates = [r for r in rows if not r.reference]
    columns = []
    for m in metrics:
        higher = comparison.higher_is_better(m)
        best = _best({r.explainer: r.cells[m].mean for r in candidates}, higher)
        columns.append(SummaryColumn(m, "metric", str(families[m]), higher, best))
    columns.append(
        SummaryColumn("mean_rank", "overall", "", False, _best({r.explainer: r.mean_rank for r in candidates}, False))
    )
    for key in ("seconds_per_row", "model_rows_per_row"):
        best = _best({r.explainer: getattr(r, key) for r in candidates}, False)
        columns.append(SummaryColumn(key, "cost", "", False, best))
    return tuple(columns), tuple(rows)


def _surrogates(comparison: Comparison) -> tuple[Surrogate, ...]:
    """Rules of every fitted explainer that has them (``rules_``), for each explained output."""
    output_names = list(comparison.config.get("output_names") or [])
    surrogates = []
    for label, explainer in comparison.explainers.items():
        rules = getattr(explainer, "rules_", None)
        if rules is None:
            continue
        fidelity = getattr(explainer, "fidelity_", None)
        fidelity = None if fidelity is None else np.atleast_1d(np.asarray(fidelity, dtype=float))
        if isinstance(rules, str):
            score = None if fidelity is None else float(fidelity[0])
            surrogates.append(Surrogate(label, None, None, score, rules))
            continue
        rules = list(rules)
        attribution = comparison.attributions.get(label)
        explained = np.unique(attribution.target) if attribution is not None else np.arange(len(rules))
        for k in explained:
            k = int(k)
            if not 0 <= k < len(rules):
                continue
            score = None if fidelity is None else float(fidelity[k if fidelity.size > 1 else 0])
            name = output_names[k] if k < len(output_names) and len(rules) > 1 else None
            surrogates.append(Surrogate(label, k, name, score, str(rules[k])))
    return tuple(surrogates)


def _agreement(
    comparison: Comparison, agreement: str | pd.DataFrame | None
) -> tuple[dict[str, Any] | None, str | None]:
    """The agreement matrix as a record, or None and the reason it is missing."""
    if agreement is None:
        return None, None
    if isinstance(agreement, pd.DataFrame):
        matrix, metric = agreement, str(agreement.attrs.get("metric", "given"))
    else:
        metric = str(agreement)
        if len(comparison.attributions) < 2:
            return None, "Agreement between explainers needs at least two explanations."
        from .. import metrics

        if metric not in metrics.available():
            return None, f"Agreement between explainers was not computed: the metric {metric!r} is not available."
        try:
            matrix = comparison.agreement(metric)
        except AgnosticXAIError as exc:
            return None, f"Agreement between explainers was not computed: {exc}"
    if matrix.shape[0] != matrix.shape[1]:
        raise InvalidInputError(f"The agreement matrix must be square, got shape {matrix.shape}.")
    record = {
        "metric": metric,
        "explainers": [str(e) for e in matrix.index],
        "matrix": matrix.to_numpy(dtype=float).tolist(),
    }
    return record, None


def _global_importance(comparison: Comparison) -> dict[str, Any]:
    frame = comparison.global_importance() if comparison.attributions else pd.DataFrame()
    return {
        "features": [str(f) for f in frame.index],
        "explainers": {str(name): frame[name].to_numpy(dtype=float).tolist() for name in frame.columns},
    }


def _overview(comparison: Comparison) -> dict[str, Any]:
    config = comparison.config
    costs = comparison.costs
    run = [str(e) for e in costs["explainer"]] if "explainer" in costs else []
    overview = {
        "n_rows": config.get("n_rows"),
        "n_background": config.get("n_background"),
        "n_features": config.get("n_features"),
        "n_groups": len(config["groups"]) if config.get("groups") else None,
        "task": config.get("task"),
        "output": config.get("output"),
        "target": config.get("target"),
        "explainers_run": run,
        "explainers_ok": comparison.explainer_names,
        "metrics": comparison.metric_names,
        "seed": config.get("seed"),
        "seconds": config.get("seconds"),
    }
    if "model_score" in config:
        overview["model_score"] = dict(config["model_score"])
    return overview


def report_content(
    comparison: Comparison,
    *,
    title: str | None = None,
    confidence: float = 0.95,
    alpha: float = 0.05,
    n_resamples: int = 2000,
    agreement: str | pd.DataFrame | None = "rank_correlation",
) -> ReportContent:
    """Derive what a report says from ``comparison``.

    Parameters
    ----------
    comparison : Comparison
    title : str, optional
        Title of the report (default: a description of the comparison).
    confidence : float
        Level of the bootstrap confidence intervals.
    alpha : float
        Level of the significance tests behind "winner" (Holm-corrected).
    n_resamples : int
        Bootstrap resamples.
    agreement : str, DataFrame or None
        Agreement metric for the explainer × explainer matrix, a matrix already computed
        (e.g. ``comparison.agreement("feature_agreement", k=3)``), or None to leave it out.

    Returns
    -------
    ReportContent
    """
    from ..comparison import Comparison

    if not isinstance(comparison, Comparison):
        raise InvalidInputError(f"report_content needs a Comparison, got {type(comparison).__name__}.")
    if not 0 < confidence < 1:
        raise InvalidInputError(f"confidence must be in (0, 1), got {confidence!r}.")
    if not 0 < alpha < 1:
        raise InvalidInputError(f"alpha must be in (0, 1), got {alpha!r}.")
    config = comparison.config
    if title is None:
        title = (
            f"Explainer comparison: {len(comparison.explainer_names)} explainers × "
            f"{len(comparison.metric_names)} metrics on {config.get('n_rows', '?')} rows"
        )
    summary = comparison.summary(confidence=confidence, n_resamples=n_resamples, marked=False)
    columns, rows = _summary_table(comparison, summary)

    families = {c.key: c.family for c in columns if c.kind == "metric"}
    verdicts = tuple(_verdict(comparison, m, alpha, ()) for m, f in families.items() if f == "faithfulness")
    references = comparison.references
    exact = _exact_labels(comparison)
    ground_truth = tuple(_verdict(comparison, m, alpha, exact) for m, f in families.items() if f == "ground_truth")
    leader = _cost_leader(comparison)

    failures = tuple(
        {k: "" if pd.isna(v) else str(v) for k, v in record.items()}
        for record in comparison.failures.to_dict(orient="records")
    )
    n_skipped = sum(1 for f in failures if f.get("stage") == "skipped")
    n_failed = len(failures) - n_skipped

    headline = []
    if not comparison.explainer_names:
        headline.append("No explainer produced an explanation; see the failures below.")
    shown = [f"{label} ({role})" for label, role in references.items() if label in comparison.explainer_names]
    if shown:
        headline.append(f"References, shown but never ranked: {', '.join(shown)}.")
    if verdicts:
        headline.extend(f"Faithfulness, {v.statement}" for v in verdicts)
    elif comparison.explainer_names:
        headline.append("No faithfulness metric was run, so no explainer can be called most faithful.")
    for v in ground_truth:
        left_out = f" ({', '.join(v.excluded)} left out: exact enumeration is the ground truth)" if v.excluded else ""
        headline.append(f"Against exact Shapley values{left_out}, {v.statement}")
    if leader is not None:
        headline.append(
            f"Cheapest: {leader.explainer}, {format_number(leader.seconds_per_row, 3)} s and "
            f"{format_number(leader.model_rows_per_row, 4)} model rows per explained row"
            + (f" ({', '.join(leader.excluded)} left out: a reference, not a candidate)." if leader.excluded else ".")
        )
    if n_failed or n_skipped:
        headline.append(f"{n_failed} failed and {n_skipped} skipped cells (listed under Failures).")
    else:
        headline.append("No failures.")

    notes = []
    agreement_record, reason = _agreement(comparison, agreement)
    if reason:
        notes.append(reason)
    notes.extend(f"Degenerate metric: {d['message']}" for d in getattr(comparison, "diagnostics", []))

    return ReportContent(
        title=str(title),
        generated=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        overview=_overview(comparison),
        verdicts=verdicts,
        ground_truth=ground_truth,
        cost_leader=leader,
        n_failed=n_failed,
        n_skipped=n_skipped,
        headline=tuple(headline),
        columns=columns,
        rows=rows,
        confidence=float(confidence),
        alpha=float(alpha),
        n_resamples=int(n_resamples),
        failures=failures,
        surrogates=_surrogates(comparison),
        agreement=agreement_record,
        global_importance=_global_importance(comparison),
        reproducibility=to_jsonable(dict(config)),
        notes=tuple(notes),
    )
