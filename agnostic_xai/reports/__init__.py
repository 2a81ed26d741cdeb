"""Reports of a comparison: plots, a self-contained HTML file, JSON and Markdown.

Everything a report says is derived once by :func:`report_content`; :func:`write_html`,
:func:`write_json` and :func:`to_markdown` only format it, so they always agree. Importing
this package registers them as the writers behind :meth:`Comparison.to_html
<agnostic_xai.Comparison.to_html>`, ``to_json`` and ``to_markdown``
(:func:`agnostic_xai.comparison.writers.register_report_writer`): reports depend on
:mod:`agnostic_xai.comparison`, which never imports them.

>>> comparison.to_html("report.html")        # doctest: +SKIP
>>> from agnostic_xai.reports import plot_leaderboard
>>> ax = plot_leaderboard(comparison, "deletion_auc")  # doctest: +SKIP
"""

from __future__ import annotations

from ..comparison.writers import register_report_writer
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

# Comparison.to_html/to_json/to_markdown call these: reports depends on comparison, not back.
register_report_writer("html", write_html)
register_report_writer("json", write_json)
register_report_writer("markdown", to_markdown)

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
