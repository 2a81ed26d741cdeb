"""The self-contained HTML report of a comparison.

One file: inline CSS, plots embedded as base64 PNG ``data:`` URIs, no script and no
external reference of any kind, so it can be mailed, archived and opened offline. Every
piece of text that came from the user or the data is escaped with :func:`html.escape`.

This module owns the page: its style sheet, the assembly of the sections in order and the
writing of the file. Which plots are drawn is ``_html_plots``'s; the HTML of each section
is ``_html_sections``'s.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..exceptions import AgnosticXAIError, InvalidInputError
from ._files import atomic_write_text, report_target
from ._html_plots import plan_plots, render_png
from ._html_sections import (
    escape,
    failures_section,
    plots_section,
    reproducibility_section,
    summary_section,
    surrogate_section,
    table_section,
)
from .content import report_content

if TYPE_CHECKING:
    from ..comparison import Comparison

__all__ = ["render_html", "write_html"]

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;margin:2rem auto;
max-width:72rem;padding:0 1rem;color:#222;line-height:1.45}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.25rem;border-bottom:1px solid #ddd;padding-bottom:.2rem;
margin-top:2rem}h3{font-size:1.05rem}
nav a{margin-right:.8rem}.meta{color:#666;font-size:.9rem}
ul.verdict li{margin:.25rem 0}
table{border-collapse:collapse;margin:.6rem 0;font-size:.88rem}
th,td{border:1px solid #ddd;padding:.3rem .5rem;text-align:right;vertical-align:top}
th{background:#f4f4f4}th[scope=row],td.text{text-align:left}
td.best{font-weight:700;background:#e8f3e8}
tr.reference th,tr.reference td{font-style:italic;color:#555}
.ci,.rank,.family{color:#666;font-weight:400;font-size:.8rem}
figure{margin:1rem 0;display:inline-block;vertical-align:top;max-width:100%}
figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{font-size:.85rem;color:#444;max-width:40rem}
pre{background:#f7f7f7;border:1px solid #e3e3e3;padding:.6rem;overflow-x:auto;font-size:.8rem}
.note{color:#555;font-size:.85rem}
"""

_DEFAULT_MAX_PLOTS = 24


def render_html(
    comparison: Comparison,
    *,
    title: str | None = None,
    rows_to_show: Sequence[int] = (0,),
    max_plots: int = _DEFAULT_MAX_PLOTS,
    explainer: str | None = None,
    **content_options: Any,
) -> str:
    """The report as one HTML string (see :func:`write_html`)."""
    from ..comparison import Comparison

    if not isinstance(comparison, Comparison):
        raise InvalidInputError(f"write_html needs a Comparison, got {type(comparison).__name__}.")
    if isinstance(max_plots, bool) or not isinstance(max_plots, (int, np.integer)) or max_plots < 0:
        raise InvalidInputError(f"max_plots must be a non-negative int, got {max_plots!r}.")
    requested = (rows_to_show,) if isinstance(rows_to_show, (int, np.integer)) else rows_to_show
    n_rows = int(comparison.config.get("n_rows", 0))
    rows = []
    for row in requested:
        if isinstance(row, bool) or not isinstance(row, (int, np.integer)) or not 0 <= row < n_rows:
            raise InvalidInputError(f"rows_to_show must hold row indices below {n_rows}, got {row!r}.")
        rows.append(int(row))
    content = report_content(comparison, title=title, **content_options)
    # The same (seeded) intervals as the table's.
    summary = comparison.summary(confidence=content.confidence, n_resamples=content.n_resamples, marked=False)

    planned = plan_plots(comparison, content, summary, rows, explainer)
    notes = list(content.notes)
    if len(planned) > max_plots:
        notes.append(f"{len(planned) - max_plots} more plots were left out (max_plots={max_plots}).")
    figures = []
    for plot in planned[:max_plots]:
        try:
            figures.append((plot, render_png(plot)))
        except AgnosticXAIError as exc:
            notes.append(f"Plot {plot.heading!r} could not be drawn: {exc}")
        except (ValueError, ArithmeticError) as exc:
            # Degenerate numbers (values near the float range, say) that matplotlib cannot
            # lay out: the report is still written, without this plot.
            notes.append(f"Plot {plot.heading!r} could not be drawn ({type(exc).__name__}: {exc}).")

    nav = "".join(
        f'<a href="#{anchor}">{label}</a>'
        for anchor, label in (
            ("summary", "Summary"),
            ("table", "Table"),
            ("plots", "Plots"),
            ("surrogate", "Surrogate rules"),
            ("failures", "Failures"),
            ("reproducibility", "Reproducibility"),
        )
        if anchor != "surrogate" or content.surrogates
    )
    body = "".join(
        [
            f"<header><h1>{escape(content.title)}</h1><nav>{nav}</nav></header>",
            summary_section(content),
            table_section(content),
            plots_section(figures, notes),
            surrogate_section(content),
            failures_section(content),
            reproducibility_section(content),
        ]
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(content.title)}</title><style>{_CSS}</style></head>"
        f"<body>{body}</body></html>\n"
    )


def write_html(
    comparison: Comparison,
    path: str | Path,
    *,
    title: str | None = None,
    rows_to_show: Sequence[int] = (0,),
    max_plots: int = _DEFAULT_MAX_PLOTS,
    explainer: str | None = None,
    **content_options: Any,
) -> Path:
    """Write the self-contained HTML report of ``comparison`` to ``path``.

    The report reads top to bottom: the summary and verdict (significant winner per
    faithfulness metric, best against exact Shapley values, cheapest explainer, failures),
    the explainer × metric table, the plots, the surrogate rules, the failures and what
    is needed to reproduce the run. Images are embedded PNGs; the file references nothing
    outside itself. It is written to a temporary file and moved into place, so ``path``
    never holds half a report.

    Parameters
    ----------
    comparison : Comparison
    path : str or Path
        The file to write (its directory must exist); an existing file is replaced.
    title : str, optional
    rows_to_show : sequence of int
        Rows whose explanation is drawn as a waterfall.
    max_plots : int
        Most plots drawn; the rest are named in a note.
    explainer : str, optional
        The explainer whose per-row plots are shown (default: the best by mean rank).
    **content_options
        Passed to :func:`~agnostic_xai.reports.report_content` (``confidence``, ``alpha``,
        ``n_resamples``, ``agreement``).

    Returns
    -------
    Path
        ``path``.
    """
    target = report_target(path)
    text = render_html(
        comparison, title=title, rows_to_show=rows_to_show, max_plots=max_plots, explainer=explainer, **content_options
    )
    return atomic_write_text(target, text)
