"""Which plots the HTML report shows, in which order, and how each becomes a PNG.

This module owns the report's plan of plots (leaderboards of the key metrics first, then
curves, agreement, global importance, the per-row plots of one explainer and the surrogate
trees, the other leaderboards last, so that ``max_plots`` drops those first) and drawing a
planned plot on an Agg canvas, without pyplot or any global figure.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..exceptions import InvalidInputError
from . import plots
from .content import ReportContent
from .terminal import KEY_METRICS

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from ..comparison import Comparison

__all__ = ["PlannedPlot", "plan_plots", "render_png"]


@dataclass
class PlannedPlot:
    """A plot to draw: its heading, caption, size in inches and drawing function."""

    heading: str
    caption: str
    size: tuple[float, float]
    draw: Callable[[Axes], Any]


def render_png(plot: PlannedPlot) -> bytes:
    """Draw ``plot`` on an Agg canvas (no pyplot, no global figure) and return PNG bytes."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=plot.size, dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    plot.draw(figure.add_subplot())
    buffer = io.BytesIO()
    # No "Software" tag: it would carry a URL inside the image.
    figure.savefig(buffer, format="png", metadata={"Software": None})
    figure.clear()
    return buffer.getvalue()


def _focus_explainer(comparison: Comparison, content: ReportContent, explainer: str | None) -> str | None:
    """The explainer whose per-row plots are shown: given, or the best by mean rank."""
    if explainer is not None:
        if explainer not in comparison.attributions:
            raise InvalidInputError(
                f"explainer {explainer!r} has no attribution in this comparison; present: {comparison.explainer_names}."
            )
        return explainer
    for row in content.rows:  # ordered by mean rank
        if row.explainer in comparison.attributions:
            return row.explainer
    return comparison.explainer_names[0] if comparison.explainer_names else None


def _tree_drawer(fitted: Any, output: int | None) -> Callable[[Axes], Any]:
    """Draw the top two levels of ``fitted``'s tree for ``output``."""
    return lambda ax: plots.plot_tree(fitted, ax=ax, output=output, max_depth=2, fontsize=10)


def plan_plots(
    comparison: Comparison,
    content: ReportContent,
    summary: pd.DataFrame,
    rows_to_show: Sequence[int],
    explainer: str | None,
) -> list[PlannedPlot]:
    """Every plot the report would show, in order."""
    level = f"{content.confidence:.0%}"
    n_explainers = max(len(comparison.explainer_names), 1)
    planned: list[PlannedPlot] = []
    # Leaderboards of the key metrics first; the others go last, so that max_plots drops
    # them before the curves, the per-row plots and the surrogate tree.
    leaderboards: dict[bool, list[PlannedPlot]] = {True: [], False: []}
    for column in content.metric_columns:
        metric = column.key
        direction = "higher is better" if column.higher_is_better else "lower is better"
        leaderboards[metric in KEY_METRICS].append(
            PlannedPlot(
                f"Leaderboard: {metric}",
                f"Mean {metric} per explainer ({direction}), with {level} bootstrap confidence intervals over rows; best on top.",
                (6.4, 1.4 + 0.32 * n_explainers),
                partial(plots.plot_leaderboard, comparison, metric, summary=summary),
            )
        )
    planned.extend(leaderboards[True])
    for column in content.metric_columns:
        has_curves = any(
            "curves" in (getattr(r, "extras", None) or {})
            for (_, m), r in comparison.metric_results.items()
            if m == column.key
        )
        if has_curves:
            planned.append(
                PlannedPlot(
                    f"Curves: {column.key}",
                    f"Mean {column.key} curve per explainer: the explained output as features are taken in the "
                    "explainer's order of importance.",
                    (6.4, 4.0),
                    partial(plots.plot_curves, comparison, column.key),
                )
            )
    if content.agreement is not None:
        record = content.agreement
        matrix = pd.DataFrame(record["matrix"], index=record["explainers"], columns=record["explainers"], dtype=float)
        n = len(matrix)
        planned.append(
            PlannedPlot(
                "Agreement between explainers",
                f"Mean {record['metric']} between every pair of explanations of the same rows.",
                (2.2 + 0.75 * n, 1.6 + 0.6 * n),
                lambda ax: plots.plot_agreement(matrix, ax),
            )
        )
    n_features = len(content.global_importance["features"])
    if comparison.attributions:
        top = min(n_features, 15)
        planned.append(
            PlannedPlot(
                "Global importance",
                "Mean |φ| per feature, each explainer's total normalised to 1 so explainers on different scales "
                f"compare; top {top} of {n_features} features.",
                (6.4, 1.2 + 0.16 * top * max(n_explainers, 2)),
                lambda ax: plots.plot_global_importance(comparison, top=top, ax=ax),
            )
        )
    focus = _focus_explainer(comparison, content, explainer)
    if focus is not None:
        attribution = comparison.attributions[focus]
        shown = min(attribution.n_features, 10)
        planned.append(
            PlannedPlot(
                f"Attributions per row: {focus}",
                f"Each point is one row's attribution to a feature by {focus}, coloured by the feature's value.",
                (6.4, 1.4 + 0.4 * shown),
                lambda ax: plots.plot_beeswarm(attribution, 10, ax),
            )
        )
        for row in rows_to_show:
            planned.append(
                PlannedPlot(
                    f"Row {row}: {focus}",
                    f"How {focus}'s attributions of row {row} add up from the base value.",
                    (6.4, 1.6 + 0.4 * (min(attribution.n_features, 10) + 1)),
                    partial(plots.plot_waterfall, attribution, row, 10),
                )
            )
        top_feature = int(np.argmax(np.abs(attribution.values).mean(axis=0)))
        name = attribution.feature_names[top_feature]
        planned.append(
            PlannedPlot(
                f"Dependence: {name} ({focus})",
                f"Value of {name}, the most important feature for {focus}, against its attribution.",
                (6.4, 4.0),
                lambda ax: plots.plot_dependence(attribution, top_feature, ax),
            )
        )
    for surrogate in content.surrogates:
        fitted = comparison.explainers[surrogate.explainer]
        output = surrogate.output
        planned.append(
            PlannedPlot(
                f"Surrogate tree: {surrogate.explainer}"
                + ("" if surrogate.output_name is None else f", output {surrogate.output_name}"),
                "The global surrogate tree, top two levels; the surrogate rules section gives all of it as text.",
                (12.0, 5.5),
                _tree_drawer(fitted, output),
            )
        )
    planned.extend(leaderboards[False])
    return planned
