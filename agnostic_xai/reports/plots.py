"""Plots of a :class:`~agnostic_xai.comparison.Comparison` and of single attributions.

Every function draws on the Axes it is given (or on a new figure's Axes when ``ax`` is
None) and returns that Axes; none calls ``plt.show``. Only ``ax=None`` touches pyplot, so
the report writer, which always passes its own Axes, never creates global figures.

Text from the data (feature names, explainer labels) is drawn literally: ``$`` is escaped
so that a name such as ``price_$`` is not read as matplotlib mathtext.

This module is the public home of the plots; each family lives in a private sibling:
``_comparison_plots`` (leaderboard, curves, agreement, global importance),
``_attribution_plots`` (beeswarm, dependence, waterfall), ``_tree_plot`` (surrogate tree),
with the conventions they share in ``_plot_common``.
"""

from __future__ import annotations

from ._attribution_plots import plot_beeswarm, plot_dependence, plot_waterfall
from ._comparison_plots import plot_agreement, plot_curves, plot_global_importance, plot_leaderboard
from ._tree_plot import plot_tree

__all__ = [
    "plot_agreement",
    "plot_beeswarm",
    "plot_curves",
    "plot_dependence",
    "plot_global_importance",
    "plot_leaderboard",
    "plot_tree",
    "plot_waterfall",
]
