"""The :class:`Comparison` result: one tidy table from which every view is derived."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..attribution import Attribution
from ..exceptions import InvalidInputError, UnknownNameError
from .stats import bootstrap_ci, holm, paired_wilcoxon

if TYPE_CHECKING:
    from ..adapters import Adapter
    from ..metrics import MetricResult

__all__ = ["Comparison", "TABLE_COLUMNS"]

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

    def higher_is_better(self, metric: str) -> bool:
        """Direction of ``metric``."""
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
            Index: explainer, sorted by mean rank. Columns: a MultiIndex
            ``(metric, stat)`` with stats ``mean``, ``ci_low``, ``ci_high``, ``rank`` (1 is
            best, ties averaged), then ``("cost", "seconds_per_row")``,
            ``("cost", "model_rows_per_row")`` and ``("overall", "mean_rank")``.
        """
        seed = int(self.config.get("seed", 0))
        explainers = self.explainer_names
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
            rank = (-mean if higher else mean).rank(method="average", na_option="keep")
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
        frame = pd.DataFrame(columns, index=pd.Index(explainers, name="explainer"))
        frame.columns = pd.MultiIndex.from_tuples(frame.columns)
        return frame.sort_values(("overall", "mean_rank"), kind="stable")

    def scores(self, metric: str) -> pd.DataFrame:
        """Per-row scores of ``metric``: rows × explainers."""
        block = self.table[self.table["metric"] == metric]
        if block.empty:
            raise UnknownNameError(f"No scores for metric {metric!r}; present: {self.metric_names}.")
        return block.pivot(index="row", columns="explainer", values="score").reindex(
            columns=[e for e in self.explainer_names if e in set(block["explainer"])]
        )

    def significance(self, metric: str, *, alpha: float = 0.05, exclude: tuple[str, ...] = ()) -> pd.DataFrame:
        """Is the best explainer on ``metric`` significantly better than each other one?

        Paired two-sided Wilcoxon signed-rank tests of the best explainer (by mean) against
        every other on the per-row scores, Holm-corrected over the comparisons.

        Returns
        -------
        DataFrame
            One line per other explainer: ``best``, ``mean``, ``difference`` (best − other,
            in the metric's units), ``statistic``, ``p_value``, ``p_holm``, ``n_rows`` and
            ``significant`` (``p_holm < alpha`` and the difference favours the best).
        """
        wide = self.scores(metric).drop(columns=[e for e in exclude if e in self.explainer_names])
        if wide.shape[1] < 2:
            raise InvalidInputError(f"significance needs at least two explainers with {metric!r} scores.")
        higher = self.higher_is_better(metric)
        means = wide.mean(axis=0, skipna=True)
        best = str(means.idxmax() if higher else means.idxmin())
        lines = []
        for other in wide.columns:
            if other == best:
                continue
            statistic, p_value, n = paired_wilcoxon(wide[best].to_numpy(), wide[other].to_numpy())
            lines.append(
                {
                    "explainer": other,
                    "best": best,
                    "mean": float(means[other]),
                    "difference": float(means[best] - means[other]),
                    "statistic": statistic,
                    "p_value": p_value,
                    "n_rows": n,
                }
            )
        result = pd.DataFrame(lines)
        result["p_holm"] = holm(result["p_value"].to_numpy())
        favours = result["difference"] > 0 if higher else result["difference"] < 0
        result["significant"] = (result["p_holm"] < alpha) & favours
        return result.set_index("explainer")

    def winner(self, metric: str, *, alpha: float = 0.05, exclude: tuple[str, ...] = ()) -> str | None:
        """The best explainer on ``metric`` if it beats every other significantly, else None."""
        result = self.significance(metric, alpha=alpha, exclude=exclude)
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
            ``seconds_per_row``, the metric's mean and ``on_front`` (not dominated: no other
            explainer is at least as good on both axes and better on one).
        """
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
        on_front = []
        for i in range(len(frame)):
            dominated = np.any((q >= q[i]) & (c <= c[i]) & ((q > q[i]) | (c < c[i])))
            on_front.append(not dominated)
        frame["on_front"] = on_front
        return frame.sort_values("seconds_per_row")

    def global_importance(self) -> pd.DataFrame:
        """Mean |φ| per feature (or group) per explainer, side by side (features × explainers)."""
        columns = {name: np.abs(a.values).mean(axis=0) for name, a in self.attributions.items()}
        names = next(iter(self.attributions.values())).feature_names if self.attributions else ()
        frame = pd.DataFrame(columns, index=pd.Index(names, name="feature"))
        return frame

    # ------------------------------------------------------------------ reports
    def to_html(self, path: Any, **options: Any) -> Any:
        """Write the self-contained HTML report (see :mod:`agnostic_xai.reports`)."""
        from ..reports import write_html

        return write_html(self, path, **options)

    def to_json(self, path: Any, **options: Any) -> Any:
        """Write the report's content as JSON (see :mod:`agnostic_xai.reports`)."""
        from ..reports import write_json

        return write_json(self, path, **options)

    def to_markdown(self, **options: Any) -> str:
        """The summary and verdict as Markdown, for pasting into a review."""
        from ..reports import to_markdown

        return to_markdown(self, **options)


def empty_failures() -> pd.DataFrame:
    """The failures frame with its columns and no lines."""
    return pd.DataFrame(columns=["explainer", "metric", "stage", "error", "message"])

