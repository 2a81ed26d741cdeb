"""The sections of the HTML report, each rendered from the :class:`ReportContent`.

This module owns the HTML of every section (summary and verdict, the explainer × metric
table, the plots, the surrogate rules, the failures, reproducibility) and :func:`escape`,
through which every piece of text from the user or the data goes.
"""

from __future__ import annotations

import base64
import html
import json
from collections.abc import Sequence
from typing import Any

import numpy as np

from ._html_plots import PlannedPlot
from .content import ReportContent, SummaryColumn, format_number

__all__ = [
    "escape",
    "failures_section",
    "plots_section",
    "reproducibility_section",
    "summary_section",
    "surrogate_section",
    "table_section",
]


def escape(value: Any) -> str:
    """Escaped text for HTML content and attribute values."""
    return html.escape(str(value), quote=True)


def summary_section(content: ReportContent) -> str:
    """The summary: the run's facts and the verdict sentences."""
    overview = content.overview
    facts = [
        f"{escape(overview.get('n_rows'))} rows explained",
        f"background of {escape(overview.get('n_background'))} rows",
        f"explained output: {escape(overview.get('output'))} ({escape(overview.get('target'))})",
        f"seed {escape(overview.get('seed'))}",
    ]
    if overview.get("n_groups"):
        facts.insert(
            1, f"{escape(overview['n_groups'])} feature groups of {escape(overview.get('n_features'))} columns"
        )
    for name, value in (overview.get("model_score") or {}).items():
        facts.append(f"model {escape(name)} {escape(format_number(value))}")
    items = "".join(f"<li>{escape(sentence)}</li>" for sentence in content.headline)
    return (
        '<section id="summary"><h2>Summary and verdict</h2>'
        f'<p class="meta">{" · ".join(facts)}</p><ul class="verdict">{items}</ul></section>'
    )


def _column_header(column: SummaryColumn) -> str:
    if column.kind == "metric":
        arrow = "↑" if column.higher_is_better else "↓"
        return f'{escape(column.key)} {arrow}<br><span class="family">{escape(column.family)}</span>'
    return {
        "mean_rank": 'mean rank ↓<br><span class="family">over metrics</span>',
        "seconds_per_row": 's / row ↓<br><span class="family">cost</span>',
        "model_rows_per_row": 'model rows / row ↓<br><span class="family">cost</span>',
    }[column.key]


def table_section(content: ReportContent) -> str:
    """The explainer × metric table, best cells highlighted, references marked."""
    if not content.rows:
        return '<section id="table"><h2>Explainers × metrics</h2><p>No explainer produced scores.</p></section>'
    head = "".join(f"<th>{_column_header(c)}</th>" for c in content.columns)
    lines = []
    for row in content.rows:
        cells = []
        for column in content.columns:
            best = ' class="best"' if row.explainer in column.best else ""
            if column.kind == "metric":
                cell = row.cells[column.key]
                text = escape(format_number(cell.mean))
                if np.isfinite(cell.ci_low):
                    text += f' <span class="ci">[{escape(format_number(cell.ci_low, 3))}, {escape(format_number(cell.ci_high, 3))}]</span>'
                if np.isfinite(cell.rank):
                    text += f' <span class="rank">#{escape(format_number(cell.rank, 3))}</span>'
            else:
                text = escape(format_number(getattr(row, column.key)))
            cells.append(f"<td{best}>{text}</td>")
        marker = f' <span class="family">reference: {escape(row.reference)}</span>' if row.reference else ""
        reference = ' class="reference"' if row.reference else ""
        lines.append(f'<tr{reference}><th scope="row">{escape(row.explainer)}{marker}</th>{"".join(cells)}</tr>')
    note = (
        f"Mean over rows with its {content.confidence:.0%} bootstrap confidence interval and rank (#1 is best, "
        "ties within numerical tolerance averaged); ↑ higher is better, ↓ lower is better; the best candidate of "
        "each column is highlighted. References (marked) frame the table: they are not ranked, highlighted or "
        "named winner. Cost is per explained row."
    )
    return (
        '<section id="table"><h2>Explainers × metrics</h2>'
        f'<table class="summary"><thead><tr><th>explainer</th>{head}</tr></thead><tbody>{"".join(lines)}</tbody></table>'
        f'<p class="note">{escape(note)}</p></section>'
    )


def plots_section(figures: list[tuple[PlannedPlot, bytes]], notes: Sequence[str]) -> str:
    """The drawn plots as embedded PNGs, then the notes (plots left out or failed)."""
    parts = ['<section id="plots"><h2>Plots</h2>']
    for plot, png in figures:
        data = base64.b64encode(png).decode("ascii")
        parts.append(
            f'<figure><h3>{escape(plot.heading)}</h3><img src="data:image/png;base64,{data}" alt="{escape(plot.heading)}">'
            f"<figcaption>{escape(plot.caption)}</figcaption></figure>"
        )
    if not figures:
        parts.append("<p>No plots.</p>")
    parts.extend(f'<p class="note">{escape(note)}</p>' for note in notes)
    parts.append("</section>")
    return "".join(parts)


def surrogate_section(content: ReportContent) -> str:
    """The surrogate trees' rules as text; empty without a surrogate."""
    if not content.surrogates:
        return ""
    parts = ['<section id="surrogate"><h2>Surrogate rules</h2>']
    for s in content.surrogates:
        heading = s.explainer if s.output_name is None else f"{s.explainer}, output {s.output_name}"
        fidelity = "" if s.fidelity is None else f" — fidelity R² = {format_number(s.fidelity, 3)} on held-out rows"
        parts.append(f"<h3>{escape(heading)}{escape(fidelity)}</h3><pre>{escape(s.rules)}</pre>")
    parts.append(
        '<p class="note">The rules describe the model only as far as the fidelity says: a low R² means the tree '
        "is a poor stand-in for the model.</p></section>"
    )
    return "".join(parts)


def failures_section(content: ReportContent) -> str:
    """Every failed or skipped cell, or a line saying there were none."""
    if not content.failures:
        return '<section id="failures"><h2>Failures</h2><p>None: every explainer and metric ran.</p></section>'
    keys = ("explainer", "metric", "stage", "error", "message")
    head = "".join(f"<th>{k}</th>" for k in keys)
    lines = "".join(
        "<tr>" + "".join(f'<td class="text">{escape(f.get(k, ""))}</td>' for k in keys) + "</tr>"
        for f in content.failures
    )
    return (
        f'<section id="failures"><h2>Failures</h2><p>{content.n_failed} failed, {content.n_skipped} skipped.</p>'
        f"<table><thead><tr>{head}</tr></thead><tbody>{lines}</tbody></table></section>"
    )


def _json_block(value: Any) -> str:
    return f"<pre>{escape(json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False))}</pre>"


def _params_table(params: dict[str, Any], kind: str) -> str:
    if not params:
        return f"<p>No {kind}s.</p>"
    lines = "".join(
        f'<tr><th scope="row">{escape(name)}</th><td class="text">{_json_block(value)}</td></tr>'
        for name, value in params.items()
    )
    return f"<table><thead><tr><th>{kind}</th><th>parameters</th></tr></thead><tbody>{lines}</tbody></table>"


def reproducibility_section(content: ReportContent) -> str:
    """What is needed to rerun: seed, sizes, limits, parameters, versions."""
    config = content.reproducibility
    facts = [
        ("seed", config.get("seed")),
        ("explained output", config.get("output")),
        ("target", config.get("target")),
        ("rows explained", config.get("n_rows")),
        ("background rows", config.get("n_background")),
        ("time limit per cell (s)", config.get("time_limit")),
        ("processes", config.get("n_jobs")),
        ("exact Shapley ground truth", config.get("ground_truth")),
        ("run time (s)", format_number(config.get("seconds"), 3)),
    ]
    rows = "".join(f'<tr><th scope="row">{escape(k)}</th><td class="text">{escape(v)}</td></tr>' for k, v in facts)
    features = ", ".join(str(f) for f in config.get("feature_names") or [])
    groups = config.get("groups")
    versions = config.get("versions") or {}
    version_rows = "".join(
        f'<tr><th scope="row">{escape(k)}</th><td class="text">{escape(v)}</td></tr>' for k, v in versions.items()
    )
    return (
        '<section id="reproducibility"><h2>Reproducibility</h2>'
        f"<table><tbody>{rows}</tbody></table>"
        f"<h3>Features</h3><p>{escape(features)}</p>"
        + (f"<h3>Feature groups</h3>{_json_block(groups)}" if groups else "")
        + f"<h3>Explainers</h3>{_params_table(config.get('explainers') or {}, 'explainer')}"
        f"<h3>Metrics</h3>{_params_table(config.get('metrics') or {}, 'metric')}"
        f"<h3>Versions</h3><table><tbody>{version_rows}</tbody></table>"
        f'<p class="meta">Report generated {escape(content.generated)}.</p></section>'
    )
