"""The self-contained HTML report of a comparison.

One file: inline CSS, plots embedded as base64 PNG ``data:`` URIs, no script and no
external reference of any kind, so it can be mailed, archived and opened offline. Every
piece of text that came from the user or the data is escaped with :func:`html.escape`.
"""

from __future__ import annotations

import base64
import html
import io
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .._checks import check_int
from ..exceptions import AgnosticXAIError, InvalidInputError
from . import plots
from ._files import atomic_write_text, report_target
from .content import ReportContent, SummaryColumn, format_number, report_content
from .terminal import KEY_METRICS

if TYPE_CHECKING:
    from matplotlib.axes import Axes

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


def _e(value: Any) -> str:
    """Escaped text for HTML content and attribute values."""
    return html.escape(str(value), quote=True)


@dataclass
class _Plot:
    """A plot to draw: its heading, caption, size in inches and drawing function."""

    heading: str
    caption: str
    size: tuple[float, float]
    draw: Callable[[Axes], Any]


def _png(plot: _Plot) -> bytes:
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


def _plans(
    comparison: Comparison,
    content: ReportContent,
    summary: pd.DataFrame,
    rows_to_show: Sequence[int],
    explainer: str | None,
) -> list[_Plot]:
    """Every plot the report would show, in order."""
    level = f"{content.confidence:.0%}"
    n_explainers = max(len(comparison.explainer_names), 1)
    planned: list[_Plot] = []
    # Leaderboards of the key metrics first; the others go last, so that max_plots drops
    # them before the curves, the per-row plots and the surrogate tree.
    leaderboards: dict[bool, list[_Plot]] = {True: [], False: []}
    for column in content.metric_columns:
        metric = column.key
        direction = "higher is better" if column.higher_is_better else "lower is better"
        leaderboards[metric in KEY_METRICS].append(
            _Plot(
                f"Leaderboard: {metric}",
                f"Mean {metric} per explainer ({direction}), with {level} bootstrap confidence intervals over rows; best on top.",
                (6.4, 1.4 + 0.32 * n_explainers),
                lambda ax, m=metric: plots.plot_leaderboard(comparison, m, ax, summary=summary),
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
                _Plot(
                    f"Curves: {column.key}",
                    f"Mean {column.key} curve per explainer: the explained output as features are taken in the "
                    "explainer's order of importance.",
                    (6.4, 4.0),
                    lambda ax, m=column.key: plots.plot_curves(comparison, m, ax),
                )
            )
    if content.agreement is not None:
        record = content.agreement
        matrix = pd.DataFrame(record["matrix"], index=record["explainers"], columns=record["explainers"], dtype=float)
        n = len(matrix)
        planned.append(
            _Plot(
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
            _Plot(
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
            _Plot(
                f"Attributions per row: {focus}",
                f"Each point is one row's attribution to a feature by {focus}, coloured by the feature's value.",
                (6.4, 1.4 + 0.4 * shown),
                lambda ax: plots.plot_beeswarm(attribution, 10, ax),
            )
        )
        for row in rows_to_show:
            planned.append(
                _Plot(
                    f"Row {row}: {focus}",
                    f"How {focus}'s attributions of row {row} add up from the base value.",
                    (6.4, 1.6 + 0.4 * (min(attribution.n_features, 10) + 1)),
                    lambda ax, r=row: plots.plot_waterfall(attribution, r, 10, ax),
                )
            )
        top_feature = int(np.argmax(np.abs(attribution.values).mean(axis=0)))
        name = attribution.feature_names[top_feature]
        planned.append(
            _Plot(
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
            _Plot(
                f"Surrogate tree: {surrogate.explainer}"
                + ("" if surrogate.output_name is None else f", output {surrogate.output_name}"),
                "The global surrogate tree, top two levels; the surrogate rules section gives all of it as text.",
                (12.0, 5.5),
                lambda ax, f=fitted, k=output: plots.plot_tree(f, ax=ax, output=k, max_depth=2, fontsize=10),
            )
        )
    planned.extend(leaderboards[False])
    return planned


# ---------------------------------------------------------------------- sections
def _summary_section(content: ReportContent) -> str:
    overview = content.overview
    facts = [
        f"{_e(overview.get('n_rows'))} rows explained",
        f"background of {_e(overview.get('n_background'))} rows",
        f"explained output: {_e(overview.get('output'))} ({_e(overview.get('target'))})",
        f"seed {_e(overview.get('seed'))}",
    ]
    if overview.get("n_groups"):
        facts.insert(1, f"{_e(overview['n_groups'])} feature groups of {_e(overview.get('n_features'))} columns")
    for name, value in (overview.get("model_score") or {}).items():
        facts.append(f"model {_e(name)} {_e(format_number(value))}")
    items = "".join(f"<li>{_e(sentence)}</li>" for sentence in content.headline)
    return (
        '<section id="summary"><h2>Summary and verdict</h2>'
        f'<p class="meta">{" · ".join(facts)}</p><ul class="verdict">{items}</ul></section>'
    )


def _column_header(column: SummaryColumn) -> str:
    if column.kind == "metric":
        arrow = "↑" if column.higher_is_better else "↓"
        return f'{_e(column.key)} {arrow}<br><span class="family">{_e(column.family)}</span>'
    return {
        "mean_rank": 'mean rank ↓<br><span class="family">over metrics</span>',
        "seconds_per_row": 's / row ↓<br><span class="family">cost</span>',
        "model_rows_per_row": 'model rows / row ↓<br><span class="family">cost</span>',
    }[column.key]


def _table_section(content: ReportContent) -> str:
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
                text = _e(format_number(cell.mean))
                if np.isfinite(cell.ci_low):
                    text += f' <span class="ci">[{_e(format_number(cell.ci_low, 3))}, {_e(format_number(cell.ci_high, 3))}]</span>'
                if np.isfinite(cell.rank):
                    text += f' <span class="rank">#{_e(format_number(cell.rank, 3))}</span>'
            else:
                text = _e(format_number(getattr(row, column.key)))
            cells.append(f"<td{best}>{text}</td>")
        marker = f' <span class="family">reference: {_e(row.reference)}</span>' if row.reference else ""
        reference = ' class="reference"' if row.reference else ""
        lines.append(f'<tr{reference}><th scope="row">{_e(row.explainer)}{marker}</th>{"".join(cells)}</tr>')
    note = (
        f"Mean over rows with its {content.confidence:.0%} bootstrap confidence interval and rank (#1 is best, "
        "ties within numerical tolerance averaged); ↑ higher is better, ↓ lower is better; the best candidate of "
        "each column is highlighted. References (marked) frame the table: they are not ranked, highlighted or "
        "named winner. Cost is per explained row."
    )
    return (
        '<section id="table"><h2>Explainers × metrics</h2>'
        f'<table class="summary"><thead><tr><th>explainer</th>{head}</tr></thead><tbody>{"".join(lines)}</tbody></table>'
        f'<p class="note">{_e(note)}</p></section>'
    )


def _plots_section(figures: list[tuple[_Plot, bytes]], notes: Sequence[str]) -> str:
    parts = ['<section id="plots"><h2>Plots</h2>']
    for plot, png in figures:
        data = base64.b64encode(png).decode("ascii")
        parts.append(
            f'<figure><h3>{_e(plot.heading)}</h3><img src="data:image/png;base64,{data}" alt="{_e(plot.heading)}">'
            f"<figcaption>{_e(plot.caption)}</figcaption></figure>"
        )
    if not figures:
        parts.append("<p>No plots.</p>")
    parts.extend(f'<p class="note">{_e(note)}</p>' for note in notes)
    parts.append("</section>")
    return "".join(parts)


def _surrogate_section(content: ReportContent) -> str:
    if not content.surrogates:
        return ""
    parts = ['<section id="surrogate"><h2>Surrogate rules</h2>']
    for s in content.surrogates:
        heading = s.explainer if s.output_name is None else f"{s.explainer}, output {s.output_name}"
        fidelity = "" if s.fidelity is None else f" — fidelity R² = {format_number(s.fidelity, 3)} on held-out rows"
        parts.append(f"<h3>{_e(heading)}{_e(fidelity)}</h3><pre>{_e(s.rules)}</pre>")
    parts.append(
        '<p class="note">The rules describe the model only as far as the fidelity says: a low R² means the tree '
        "is a poor stand-in for the model.</p></section>"
    )
    return "".join(parts)


def _failures_section(content: ReportContent) -> str:
    if not content.failures:
        return '<section id="failures"><h2>Failures</h2><p>None: every explainer and metric ran.</p></section>'
    keys = ("explainer", "metric", "stage", "error", "message")
    head = "".join(f"<th>{k}</th>" for k in keys)
    lines = "".join(
        "<tr>" + "".join(f'<td class="text">{_e(f.get(k, ""))}</td>' for k in keys) + "</tr>" for f in content.failures
    )
    return (
        f'<section id="failures"><h2>Failures</h2><p>{content.n_failed} failed, {content.n_skipped} skipped.</p>'
        f"<table><thead><tr>{head}</tr></thead><tbody>{lines}</tbody></table></section>"
    )


def _json_block(value: Any) -> str:
    return f"<pre>{_e(json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False))}</pre>"


def _params_table(params: dict[str, Any], kind: str) -> str:
    if not params:
        return f"<p>No {kind}s.</p>"
    lines = "".join(
        f'<tr><th scope="row">{_e(name)}</th><td class="text">{_json_block(value)}</td></tr>'
        for name, value in params.items()
    )
    return f"<table><thead><tr><th>{kind}</th><th>parameters</th></tr></thead><tbody>{lines}</tbody></table>"


def _reproducibility_section(content: ReportContent) -> str:
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
    rows = "".join(f'<tr><th scope="row">{_e(k)}</th><td class="text">{_e(v)}</td></tr>' for k, v in facts)
    features = ", ".join(str(f) for f in config.get("feature_names") or [])
    groups = config.get("groups")
    versions = config.get("versions") or {}
    version_rows = "".join(
        f'<tr><th scope="row">{_e(k)}</th><td class="text">{_e(v)}</td></tr>' for k, v in versions.items()
    )
    return (
        '<section id="reproducibility"><h2>Reproducibility</h2>'
        f"<table><tbody>{rows}</tbody></table>"
        f"<h3>Features</h3><p>{_e(features)}</p>"
        + (f"<h3>Feature groups</h3>{_json_block(groups)}" if groups else "")
        + f"<h3>Explainers</h3>{_params_table(config.get('explainers') or {}, 'explainer')}"
        f"<h3>Metrics</h3>{_params_table(config.get('metrics') or {}, 'metric')}"
        f"<h3>Versions</h3><table><tbody>{version_rows}</tbody></table>"
        f'<p class="meta">Report generated {_e(content.generated)}.</p></section>'
    )


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
    check_int(max_plots, "max_plots", minimum=0)
    if isinstance(rows_to_show, (int, np.integer)):
        rows_to_show = (rows_to_show,)
    n_rows = int(comparison.config.get("n_rows", 0))
    rows = []
    for row in rows_to_show:
        rows.append(check_int(row, "rows_to_show", minimum=0, maximum=n_rows - 1, kind=f"row indices below {n_rows}"))
    content = report_content(comparison, title=title, **content_options)
    # The same (seeded) intervals as the table's.
    summary = comparison.summary(confidence=content.confidence, n_resamples=content.n_resamples, marked=False)

    planned = _plans(comparison, content, summary, rows, explainer)
    notes = list(content.notes)
    if len(planned) > max_plots:
        notes.append(f"{len(planned) - max_plots} more plots were left out (max_plots={max_plots}).")
    figures = []
    for plot in planned[:max_plots]:
        try:
            figures.append((plot, _png(plot)))
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
            f"<header><h1>{_e(content.title)}</h1><nav>{nav}</nav></header>",
            _summary_section(content),
            _table_section(content),
            _plots_section(figures, notes),
            _surrogate_section(content),
            _failures_section(content),
            _reproducibility_section(content),
        ]
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(content.title)}</title><style>{_CSS}</style></head>"
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
