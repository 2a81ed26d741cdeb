"""The :class:`Comparison` result: one tidy table from which every view is derived.

Reports depend on this module, never the other way round: :meth:`Comparison.to_html`,
:meth:`~Comparison.to_json` and :meth:`~Comparison.to_markdown` call the writers that
:mod:`agnostic_xai.reports` registers in :mod:`agnostic_xai.comparison.writers` when it is
imported (``import agnostic_xai`` imports it), so ``comparison/`` does not import ``reports/``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .._validation import check_bool, check_float, check_int, check_path, check_str
from ..attribution import Attribution
from ..exceptions import InvalidInputError, UnknownNameError
from ._arguments import check_names
from .references import reference_roles
from .stats import (
    TIE_RTOL,
    bootstrap_ci,
    holm,
    min_p_value,
    paired_wilcoxon,
    rows_needed,
    tie_tolerance,
    tolerant_rank,
)
from .writers import report_writer

if TYPE_CHECKING:
    from ..adapters import Adapter
    from ..metrics import MetricResult

__all__ = ["TABLE_COLUMNS", "Comparison"]

#: Columns of :attr:`Comparison.table`, one line per (explainer, metric, row).
TABLE_COLUMNS = (
    "explainer",
    "metric",
    "family",
    "row",
    "score",
    "higher_is_better",
    "seconds",
    "model_rows",
    "seed",
    "metric_seconds",
    "metric_model_rows",
)


@dataclass(eq=False)
class Comparison:
    """Explainers × metrics on one model, rows, output and background.

    Attributes
    ----------
    table : DataFrame
        Tidy long table, one line per (explainer, metric, row) with the score, the metric's
        direction, the explainer's cost (``seconds``, ``model_rows`` for all rows, fit
        included), its seed and the metric's own cost. Every other view derives from it.
    attributions : dict of str to Attribution
        Each explainer's explanation of the rows.
    costs : DataFrame
        One line per explainer: status, seconds and model rows (fit plus explain), the same
        per explained row, the fit's share (``fit_seconds``, ``fit_model_rows``), seed.
    failures : DataFrame
        One line per explainer or metric that failed or was skipped, with the reason.
    config : dict
        The resolved configuration (seed, explained output, rows, background size,
        explainers and metrics with their parameters, versions).
    metric_results : dict of (explainer, metric) to MetricResult
        Full metric results (curves and other extras for plots).
    explainers : dict of str to Explainer
        The fitted explainers (surrogate rules, re-runs).
    adapter : Adapter
    background : ndarray
    diagnostics : list of dict
        Metrics found degenerate on this data (:mod:`agnostic_xai.comparison.diagnostics`):
        each with ``metric``, ``kind`` and ``message``; empty when every metric can tell the
        explanations apart.
    """

    table: pd.DataFrame
    attributions: dict[str, Attribution]
    costs: pd.DataFrame
    failures: pd.DataFrame
    config: dict[str, Any]
    metric_results: dict[tuple[str, str], MetricResult] = field(default_factory=dict)
    explainers: dict[str, Any] = field(default_factory=dict)
    adapter: Adapter | None = None
    background: np.ndarray | None = None
    diagnostics: list[dict[str, Any]] = field(default_factory=list)

    # ------------------------------------------------------------------ basics
    @property
    def explainer_names(self) -> list[str]:
        """Explainers that produced an attribution, in run order."""
        return list(self.attributions)

    @property
    def metric_names(self) -> list[str]:
        """Metrics present in the table, in run order."""
        return list(dict.fromkeys(self.table["metric"]))

    @property
    def references(self) -> dict[str, str]:
        """Reference explainers by label, with their role (``"floor"`` or ``"ground truth"``).

        They frame the table and are never candidates: :meth:`summary` gives them no rank,
        :meth:`significance` and :meth:`winner` leave them out, reports mark them and never
        highlight them (:mod:`agnostic_xai.comparison.references`).
        """
        if "references" in self.config:
            return {str(k): str(v) for k, v in dict(self.config["references"] or {}).items()}
        return reference_roles(self.explainers, self.table["family"].unique() if "family" in self.table else ())

    def tie_tolerance(self, metric: str, *, rtol: float = TIE_RTOL) -> float:
        """The paired difference on ``metric`` below which two explainers are tied.

        :func:`~agnostic_xai.comparison.stats.tie_tolerance` over the metric's scores (every
        explainer, references included) and the largest ``|φ|`` of the explanations.
        """
        scores = self.table.loc[self.table["metric"] == metric, "score"].to_numpy(dtype=np.float64)
        if scores.size == 0:
            raise UnknownNameError(f"No scores for metric {metric!r}; present: {self.metric_names}.")
        scale = max((float(np.abs(a.values).max()) for a in self.attributions.values() if a.values.size), default=0.0)
        return tie_tolerance(scores, scale, rtol=rtol)

    def higher_is_better(self, metric: str) -> bool:
        """Direction of ``metric``."""
        check_str(metric, "metric")
        rows = self.table.loc[self.table["metric"] == metric, "higher_is_better"]
        if rows.empty:
            raise UnknownNameError(f"No scores for metric {metric!r}; present: {self.metric_names}.")
        return bool(rows.iloc[0])

    def __repr__(self) -> str:
        return (
            f"Comparison({len(self.attributions)} explainers × {len(self.metric_names)} metrics on "
            f"{self.config.get('n_rows', '?')} rows, output={self.config.get('output')!r}, "
            f"{len(self.failures)} failures)"
        )

    # ------------------------------------------------------------------ summary
    def summary(self, *, confidence: float = 0.95, n_resamples: int = 2000, marked: bool = True) -> pd.DataFrame:
        """Explainer × metric means with bootstrap confidence intervals, ranks and costs.

        Parameters
        ----------
        confidence : float
            Level of the percentile bootstrap intervals over rows.
        n_resamples : int
            Bootstrap resamples (seeded from the comparison's seed).
        marked : bool
            Label each metric column ``"name ↑"`` or ``"name ↓"`` by its direction.

        Returns
        -------
        DataFrame
            Index: explainer, sorted by mean rank (references last). Columns: a MultiIndex
            ``(metric, stat)`` with stats ``mean``, ``ci_low``, ``ci_high``, ``rank`` (1 is
            best; means within :meth:`tie_tolerance` of each other share the average rank;
            NaN for references, which are not ranked), then ``("cost", "seconds_per_row")``,
            ``("cost", "model_rows_per_row")``, ``("overall", "mean_rank")`` (NaN for
            references) and ``("overall", "reference")`` (the role, ``""`` for candidates).

        Raises
        ------
        InvalidInputError
            ``confidence`` outside (0, 1), ``n_resamples`` below 1 (InvalidTypeError for
            arguments of the wrong type).
        """
        check_float(confidence, "confidence", minimum=0.0, maximum=1.0, strict=True, kind="a number in (0, 1)")
        check_int(n_resamples, "n_resamples", minimum=1)
        check_bool(marked, "marked")
        seed = int(self.config.get("seed", 0))
        explainers = self.explainer_names
        references = self.references
        columns: dict[tuple[str, str], pd.Series] = {}
        ranks = []
        for metric in self.metric_names:
            block = self.table[self.table["metric"] == metric]
            higher = self.higher_is_better(metric)
            label = f"{metric} {'↑' if higher else '↓'}" if marked else metric
            means, lows, highs = {}, {}, {}
            for name, group in block.groupby("explainer", sort=False):
                scores = group["score"].to_numpy()
                finite = scores[np.isfinite(scores)]
                means[name] = float(finite.mean()) if finite.size else np.nan
                lows[name], highs[name] = bootstrap_ci(
                    scores, confidence=confidence, n_resamples=n_resamples, random_state=seed
                )
            mean = pd.Series(means).reindex(explainers)
            candidates = mean.drop([e for e in references if e in mean.index])
            rank = pd.Series(
                tolerant_rank(candidates.to_numpy(), self.tie_tolerance(metric), higher_is_better=higher),
                index=candidates.index,
            ).reindex(explainers)
            ranks.append(rank)
            columns[(label, "mean")] = mean
            columns[(label, "ci_low")] = pd.Series(lows).reindex(explainers)
            columns[(label, "ci_high")] = pd.Series(highs).reindex(explainers)
            columns[(label, "rank")] = rank
        costs = self.costs.set_index("explainer").reindex(explainers)
        columns[("cost", "seconds_per_row")] = costs["seconds_per_row"]
        columns[("cost", "model_rows_per_row")] = costs["model_rows_per_row"]
        mean_rank = pd.concat(ranks, axis=1).mean(axis=1) if ranks else pd.Series(np.nan, index=explainers)
        columns[("overall", "mean_rank")] = mean_rank
        columns[("overall", "reference")] = pd.Series({e: references.get(e, "") for e in explainers})
        frame = pd.DataFrame(columns, index=pd.Index(explainers, name="explainer"))
        frame.columns = pd.MultiIndex.from_tuples(frame.columns)
        return frame.sort_values(("overall", "mean_rank"), kind="stable")

    def scores(self, metric: str) -> pd.DataFrame:
        """Per-row scores of ``metric``: rows × explainers."""
        check_str(metric, "metric")
        block = self.table[self.table["metric"] == metric]
        if block.empty:
            raise UnknownNameError(f"No scores for metric {metric!r}; present: {self.metric_names}.")
        return block.pivot(index="row", columns="explainer", values="score").reindex(
            columns=[e for e in self.explainer_names if e in set(block["explainer"])]
        )

    def significance(
        self, metric: str, *, alpha: float = 0.05, exclude: tuple[str, ...] = (), rtol: float = TIE_RTOL
    ) -> pd.DataFrame:
        """Is the best candidate on ``metric`` significantly better than each other one?

        Paired two-sided Wilcoxon signed-rank tests of the best candidate (by mean) against
        every other on the per-row scores, Holm-corrected over the comparisons. References
        (:attr:`references`) and ``exclude`` are left out: they are not candidates. Paired
        differences within :meth:`tie_tolerance` are ties (rounding, not evidence), so
        explainers that differ by float noise are never significantly different.

        Returns
        -------
        DataFrame
            One line per other candidate: ``best``, ``mean``, ``difference`` (best − other,
            in the metric's units), ``statistic``, ``p_value``, ``p_holm``, ``n_rows``,
            ``tie`` (every paired difference within the tolerance), ``min_p_holm`` (the
            smallest Holm-adjusted p-value the test can reach with these rows) and
            ``significant`` (``p_holm < alpha``, not a tie, and the difference favours the
            best). ``attrs`` holds ``tolerance`` and the design's ``detectable``,
            ``rows_needed`` and ``note`` (see :meth:`detectability`).

        Raises
        ------
        InvalidInputError
            ``alpha`` outside (0, 1), fewer than two candidates left after ``exclude`` and
            the references (InvalidTypeError for arguments of the wrong type, such as a single
            string as ``exclude``); UnknownNameError for a metric without scores.
        """
        check_str(metric, "metric")
        check_float(alpha, "alpha", minimum=0.0, maximum=1.0, strict=True, kind="a number in (0, 1)")
        exclude = check_names(exclude, "exclude")
        drop = [e for e in (*exclude, *self.references) if e in self.explainer_names]
        wide = self.scores(metric).drop(columns=drop, errors="ignore")
        if wide.shape[1] < 2:
            raise InvalidInputError(
                f"significance needs at least two candidate explainers with {metric!r} scores"
                + (f" (references and exclusions left out: {', '.join(drop)})." if drop else ".")
            )
        higher = self.higher_is_better(metric)
        tol = self.tie_tolerance(metric, rtol=rtol)
        means = wide.mean(axis=0, skipna=True)
        best = str(means.idxmax() if higher else means.idxmin())
        lines = []
        for other in wide.columns:
            if other == best:
                continue
            a, b = wide[best].to_numpy(), wide[other].to_numpy()
            statistic, p_value, n = paired_wilcoxon(a, b, atol=tol)
            finite = np.isfinite(a) & np.isfinite(b)
            lines.append(
                {
                    "explainer": other,
                    "best": best,
                    "mean": float(means[other]),
                    "difference": float(means[best] - means[other]),
                    "statistic": statistic,
                    "p_value": p_value,
                    "n_rows": n,
                    "tie": bool(np.all(np.abs(a[finite] - b[finite]) <= tol)),
                }
            )
        result = pd.DataFrame(lines)
        m = len(result)
        result["p_holm"] = holm(result["p_value"].to_numpy())
        result["min_p_holm"] = [min(1.0, m * min_p_value(int(n))) for n in result["n_rows"]]
        favours = result["difference"] > 0 if higher else result["difference"] < 0
        result["significant"] = (result["p_holm"] < alpha) & favours & ~result["tie"]
        result = result.set_index("explainer")
        result.attrs.update(tolerance=tol, **self._design(result, alpha))
        return result

    @staticmethod
    def _design(result: pd.DataFrame, alpha: float) -> dict[str, Any]:
        """Whether these rows can show any difference at ``alpha`` at all, and if not, how many could."""
        m, n = len(result), int(result["n_rows"].min()) if len(result) else 0
        smallest = float(result["min_p_holm"].max()) if m else float("nan")
        detectable = bool(m and smallest < alpha)
        needed = None if detectable else rows_needed(m, alpha)
        note = "" if detectable else (
            f"With {n} rows and {m} Holm-corrected comparisons the smallest attainable p-value is "
            f"{smallest:.3g} ≥ α = {alpha:g}: no difference can be significant; at least {needed} rows are needed."
        )
        return {"detectable": detectable, "rows_needed": needed, "note": note, "alpha": float(alpha)}

    def detectability(self, metric: str, *, alpha: float = 0.05, exclude: tuple[str, ...] = ()) -> dict[str, Any]:
        """Can this comparison detect any difference on ``metric`` at level ``alpha``?

        A Wilcoxon signed-rank test on ``n`` paired rows cannot give a two-sided p-value below
        ``2 / 2**n`` (exact, ``n <= 50``); Holm over ``m`` comparisons multiplies the smallest
        one by ``m``. When ``m · 2 / 2**n >= alpha`` no candidate can win, whatever the
        explanations: :meth:`winner` is then None by design, not for lack of a difference.

        Returns
        -------
        dict
            ``detectable`` (bool), ``rows_needed`` (the fewest rows with which it would be,
            None when detectable), ``note`` (a sentence for reports, empty when detectable),
            ``alpha``.
        """
        return {k: v for k, v in self.significance(metric, alpha=alpha, exclude=exclude).attrs.items()
                if k != "tolerance"}

    def winner(
        self, metric: str, *, alpha: float = 0.05, exclude: tuple[str, ...] = (), rtol: float = TIE_RTOL
    ) -> str | None:
        """The best candidate on ``metric`` if it beats every other candidate significantly, else None.

        References never win (:attr:`references`). None also when the rows cannot show any
        difference at ``alpha`` (see :meth:`detectability`, which says how many rows would).
        """
        result = self.significance(metric, alpha=alpha, exclude=exclude, rtol=rtol)
        return str(result["best"].iloc[0]) if bool(result["significant"].all()) else None

    # ------------------------------------------------------------------ other views
    def agreement(self, metric: str = "rank_correlation", **params: Any) -> pd.DataFrame:
        """Explainer × explainer mean agreement (the disagreement problem, Krishna et al. 2022)."""
        from ..metrics.agreement import agreement_matrix

        return agreement_matrix(self.attributions, metric=metric, **params)

    def pareto(self, metric: str | None = None) -> pd.DataFrame:
        """Faithfulness against cost: which explainers no other beats on both.

        Parameters
        ----------
        metric : str, optional
            The quality axis; defaults to the first faithfulness metric in the table.

        Returns
        -------
        DataFrame
            ``seconds_per_row``, the metric's mean, ``on_front`` (not dominated: no other
            candidate is at least as good on both axes and better on one) and ``reference``
            (the role of a reference explainer, which is shown but never on the front).
        """
        check_str(metric, "metric", allow_none=True)
        if metric is None:
            faithful = self.table.loc[self.table["family"] == "faithfulness", "metric"]
            if faithful.empty:
                raise InvalidInputError("pareto needs a faithfulness metric in the comparison.")
            metric = str(faithful.iloc[0])
        higher = self.higher_is_better(metric)
        quality = self.scores(metric).mean(axis=0)
        cost = self.costs.set_index("explainer")["seconds_per_row"].reindex(quality.index)
        frame = pd.DataFrame({"seconds_per_row": cost, metric: quality})
        q = quality.to_numpy() if higher else -quality.to_numpy()
        c = cost.to_numpy()
        references = self.references
        candidate = np.array([e not in references for e in frame.index], dtype=bool)
        on_front = []
        for i in range(len(frame)):
            dominated = np.any(candidate & (q >= q[i]) & (c <= c[i]) & ((q > q[i]) | (c < c[i])))
            on_front.append(bool(candidate[i] and not dominated))
        frame["on_front"] = on_front
        frame["reference"] = [references.get(e, "") for e in frame.index]
        return frame.sort_values("seconds_per_row")

    def global_importance(self) -> pd.DataFrame:
        """Mean |φ| per feature (or group) per explainer, side by side (features × explainers)."""
        columns = {name: np.abs(a.values).mean(axis=0) for name, a in self.attributions.items()}
        names = next(iter(self.attributions.values())).feature_names if self.attributions else ()
        frame = pd.DataFrame(columns, index=pd.Index(names, name="feature"))
        return frame

    # ------------------------------------------------------------------ reports
    def to_html(self, path: Any, **options: Any) -> Any:
        """Write the self-contained HTML report (:func:`agnostic_xai.reports.write_html`)."""
        check_path(path, "path")
        return report_writer("html")(self, path, **options)

    def to_json(self, path: Any, **options: Any) -> Any:
        """Write the report's content as JSON (:func:`agnostic_xai.reports.write_json`)."""
        check_path(path, "path")
        return report_writer("json")(self, path, **options)

    def to_markdown(self, **options: Any) -> str:
        """The summary and verdict as Markdown, for pasting into a review (:func:`agnostic_xai.reports.to_markdown`)."""
        return str(report_writer("markdown")(self, **options))


def empty_failures() -> pd.DataFrame:
    """The failures frame with its columns and no lines."""
    return pd.DataFrame(columns=["explainer", "metric", "stage", "error", "message"])

