"""Reports of a comparison: plots.

>>> from agnostic_xai.reports import plot_leaderboard
>>> ax = plot_leaderboard(comparison, "deletion_auc")  # doctest: +SKIP
"""

from __future__ import annotations

from .plots import (
    plot_agreement,
    plot_beeswarm,
    plot_curves,
    plot_dependence,
    plot_global_importance,
    plot_leaderboard,
    plot_tree,
    plot_waterfall,
)

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
