"""The report as JSON (for machines and audits) and as Markdown (for pasting into a review)."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..exceptions import InvalidInputError
from ._files import atomic_write_text, report_target
from .content import ReportContent, format_number, report_content, to_jsonable

if TYPE_CHECKING:
    from ..comparison import Comparison

__all__ = ["FORMAT", "report_dict", "to_markdown", "write_json"]

#: Identifies the JSON layout; bumped when it changes incompatibly.
FORMAT = "agnostic-xai.report/1"


def _check(comparison: Any, what: str) -> None:
    from ..comparison import Comparison

    if not isinstance(comparison, Comparison):
        raise InvalidInputError(f"{what} needs a Comparison, got {type(comparison).__name__}.")


def report_dict(comparison: Comparison, *, include_table: bool = True, **content_options: Any) -> dict[str, Any]:
    """The report's content as JSON-ready Python (see :func:`write_json`)."""
    _check(comparison, "write_json")
    content = report_content(comparison, **content_options)
    document: dict[str, Any] = {"format": FORMAT, **content.to_dict()}
    if include_table:
        document["table"] = to_jsonable(comparison.table.to_dict(orient="records"))
        document["costs"] = to_jsonable(comparison.costs.to_dict(orient="records"))
    return document


def write_json(
    comparison: Comparison,
    path: str | Path,
    *,
    include_table: bool = True,
    indent: int | None = 2,
    **content_options: Any,
) -> Path:
    """Write the report's content as JSON to ``path``.

    The document holds what the HTML report shows (summary, verdicts, summary table,
    failures, surrogate rules, agreement, global importance per explainer, the full
    configuration with versions) and, with ``include_table``, the tidy per-row table and
    the per-explainer costs. Numbers are floats; NaN and infinities are ``null``. The file is
    written atomically.

    Parameters
    ----------
    comparison : Comparison
    path : str or Path
    include_table : bool
        Include ``table`` (one record per explainer, metric and row) and ``costs``.
    indent : int or None
        Indentation of the JSON text.
    **content_options
        Passed to :func:`~agnostic_xai.reports.report_content`.

    Returns
    -------
    Path
    """
    target = report_target(path)
    document = report_dict(comparison, include_table=include_table, **content_options)
    text = json.dumps(document, indent=indent, ensure_ascii=False, allow_nan=False)
    return atomic_write_text(target, text + "\n")


def _md(value: Any) -> str:
    """Text safe in a Markdown table cell: no raw HTML, no cell breaks, one line."""
    text = html.escape(str(value), quote=False).replace("\\", "\\\\").replace("|", "\\|")
    return " ".join(text.split())


def _markdown_table(content: ReportContent) -> list[str]:
    if not content.rows:
        return ["No explainer produced scores."]
    headers = ["explainer"]
    for column in content.columns:
        if column.kind == "metric":
            headers.append(f"{_md(column.key)} {'↑' if column.higher_is_better else '↓'}")
        else:
            headers.append(
                {"mean_rank": "mean rank ↓", "seconds_per_row": "s/row ↓", "model_rows_per_row": "model rows/row ↓"}[
                    column.key
                ]
            )
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join(["---"] + ["---:"] * (len(headers) - 1)) + "|"]
    for row in content.rows:
        cells = [_md(row.explainer) + (f" *(reference: {_md(row.reference)})*" if row.reference else "")]
        for column in content.columns:
            if column.kind == "metric":
                cell = row.cells[column.key]
                text = format_number(cell.mean)
                if cell.ci_low == cell.ci_low:  # not NaN
                    text += f" [{format_number(cell.ci_low, 3)}, {format_number(cell.ci_high, 3)}]"
            else:
                text = format_number(getattr(row, column.key))
            cells.append(f"**{text}**" if row.explainer in column.best else text)
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def to_markdown(comparison: Comparison, **content_options: Any) -> str:
    """The summary, verdict and summary table as GitHub Markdown.

    Names are escaped for table cells (``|`` and HTML). Best values per column are bold.

    Parameters
    ----------
    comparison : Comparison
    **content_options
        Passed to :func:`~agnostic_xai.reports.report_content` (``title``, ``confidence``, ...).

    Returns
    -------
    str
    """
    _check(comparison, "to_markdown")
    content = report_content(comparison, **content_options)
    overview = content.overview
    lines = [
        f"## {_md(content.title)}",
        "",
        (
            f"{overview.get('n_rows')} rows, background of {overview.get('n_background')} rows, "
            f"explained output: {_md(overview.get('output'))} ({_md(overview.get('target'))}), seed {overview.get('seed')}."
        ),
        "",
        "**Verdict**",
        "",
    ]
    lines.extend(f"- {_md(sentence)}" for sentence in content.headline)
    lines.extend(["", *_markdown_table(content), ""])
    lines.append(
        f"Mean over rows [{content.confidence:.0%} bootstrap CI]; ↑ higher is better, ↓ lower is better; "
        "best candidate per column in bold (references, marked, are not ranked); cost per explained row."
    )
    return "\n".join(lines) + "\n"
