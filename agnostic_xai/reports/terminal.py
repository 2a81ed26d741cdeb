"""The comparison as plain text for a terminal: key metrics, rank and cost per explainer."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import pandas as pd

from .content import report_content

if TYPE_CHECKING:
    from ..comparison import Comparison

__all__ = ["summary_text", "KEY_METRICS"]

#: Metrics shown in the terminal, one or two per family; the report has them all.
KEY_METRICS = (
    "deletion_gap",
    "faithfulness_correlation",
    "infidelity",
    "shapley_error",
    "shapley_correlation",
    "max_sensitivity",
    "seed_stability",
    "randomization_sanity",
    "sparseness",
)


def summary_text(comparison: Comparison, *, metrics: Sequence[str] | None = None, n_resamples: int = 1000) -> str:
    """Short verdict lines for the key metrics, then one line per explainer (best mean rank first).

    Columns: the mean of each key metric (``↑`` higher is better, ``↓`` lower), the mean
    rank over every metric of the comparison, milliseconds and model rows per explained row.
    """
    content = report_content(comparison, n_resamples=n_resamples, agreement=None)
    summary = comparison.summary(marked=False, n_resamples=n_resamples)
    shown = [m for m in (metrics or KEY_METRICS) if m in comparison.metric_names]
    frame = pd.DataFrame(index=summary.index)
    for metric in shown:
        arrow = "↑" if comparison.higher_is_better(metric) else "↓"
        frame[f"{metric} {arrow}"] = summary[(metric, "mean")].map(lambda v: f"{v:.3g}")
    frame["mean rank"] = summary[("overall", "mean_rank")].map(lambda v: "–" if v != v else f"{v:.1f}")
    frame["ms/row"] = (summary[("cost", "seconds_per_row")] * 1e3).map(lambda v: f"{v:.3g}")
    frame["model rows/row"] = summary[("cost", "model_rows_per_row")].map(lambda v: f"{v:,.0f}")
    references = summary[("overall", "reference")]
    if references.astype(bool).any():  # references frame the table and are not ranked
        frame["reference"] = references
    verdicts = {v.metric: v for v in (*content.verdicts, *content.ground_truth)}
    lines = []
    for metric in shown:
        verdict = verdicts.get(metric)
        if verdict is None or verdict.best is None:
            continue
        arrow = "↑" if verdict.higher_is_better else "↓"
        if verdict.winner is not None:
            lines.append(f"{metric} {arrow}: {verdict.winner} wins (significantly better than every other explainer)")
        else:
            tied = len(verdict.not_beaten)
            lines.append(f"{metric} {arrow}: best {verdict.best}, but not significantly better than {tied} other"
                         f"{'s' if tied != 1 else ''} (paired Wilcoxon, Holm, α = {content.alpha:g})")
    if content.cost_leader is not None:
        leader = content.cost_leader
        lines.append(f"cheapest: {leader.explainer}, {leader.seconds_per_row * 1e3:.3g} ms and "
                     f"{leader.model_rows_per_row:,.0f} model rows per row")
    lines.append("")
    lines.append(frame.to_string())
    if len(shown) < len(comparison.metric_names):
        lines.append(f"({len(comparison.metric_names) - len(shown)} more metrics in the report)")
    return "\n".join(lines)
