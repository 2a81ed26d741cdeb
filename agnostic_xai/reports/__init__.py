"""Reports of a comparison: plots, a self-contained HTML file, JSON and Markdown.

Everything a report says is derived once by :func:`report_content`; :func:`write_html`,
:func:`write_json` and :func:`to_markdown` only format it, so they always agree.

>>> comparison.to_html("report.html")        # doctest: +SKIP
>>> from agnostic_xai.reports import plot_leaderboard
>>> ax = plot_leaderboard(comparison, "deletion_auc")  # doctest: +SKIP
"""

from __future__ import annotations

from .content import ReportContent, report_content
from .html import write_html
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
from .terminal import summary_text
from .text import to_markdown, write_json

__all__ = [
    "ReportContent",
    "plot_agreement",
    "plot_beeswarm",
    "plot_curves",
    "plot_dependence",
    "plot_global_importance",
    "plot_leaderboard",
    "plot_tree",
    "plot_waterfall",
    "report_content",
    "summary_text",
    "to_markdown",
    "write_html",
    "write_json",
]
