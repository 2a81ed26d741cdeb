"""Plots of a whole :class:`~agnostic_xai.comparison.Comparison`.

This module owns the comparison plot family: the leaderboard of one metric, the mean
deletion/insertion curves, the agreement heatmap between explainers and the global
importance of features by explainer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

import numpy as np
import pandas as pd

from ..exceptions import InvalidInputError
from ._plot_common import axes_or_new, check_comparison, check_count, check_metric, literal_text

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from ..comparison import Comparison

__all__ = ["plot_agreement", "plot_curves", "plot_global_importance", "plot_leaderboard"]


def plot_leaderboard(
    comparison: Comparison, metric: str, ax: Axes | None = None, *, summary: pd.DataFrame | None = None
) -> Axes:
    """Mean score of every explainer on ``metric`` with its bootstrap confidence interval.

    One horizontal bar per explainer with a score, best on top (by the metric's direction);
    error bars are the percentile bootstrap interval over rows from
    :meth:`Comparison.summary`.

    Parameters
    ----------
    comparison : Comparison
    metric : str
        A metric of the comparison.
    ax : matplotlib Axes, optional
    summary : DataFrame, optional
        ``comparison.summary(marked=False)`` when already computed.

    Returns
    -------
    matplotlib Axes
    """
    comparison = check_comparison(comparison)
    check_metric(comparison, metric)
    if summary is None:
        summary = comparison.summary(marked=False)
    higher = comparison.higher_is_better(metric)
    block = summary[metric]
    block = block[np.isfinite(block["mean"].to_numpy(dtype=float))]
    block = block.sort_values("mean", ascending=not higher, kind="stable")
    mean = block["mean"].to_numpy(dtype=float)
    low = np.nan_to_num(mean - block["ci_low"].to_numpy(dtype=float), nan=0.0).clip(min=0)
    high = np.nan_to_num(block["ci_high"].to_numpy(dtype=float) - mean, nan=0.0).clip(min=0)
    ax = axes_or_new(ax, (6.4, 0.9 + 0.35 * max(len(block), 1)))
    positions = np.arange(len(block))[::-1]  # best at the top
    ax.barh(positions, mean, xerr=np.vstack([low, high]), color="#4c72b0", capsize=3, height=0.6)
    ax.set_yticks(positions, [literal_text(name) for name in block.index])
    ax.axvline(0.0, color="black", linewidth=0.6)
    direction = "higher is better" if higher else "lower is better"
    ax.set_title(literal_text(f"{metric} ({direction} {'↑' if higher else '↓'})"))
    ax.set_xlabel("mean over rows, with bootstrap confidence interval")
    return ax


def _curve_label(metric: str) -> str:
    return "fraction of features inserted" if "insertion" in metric else "fraction of features removed"


def plot_curves(comparison: Comparison, metric: str = "deletion_auc", ax: Axes | None = None) -> Axes:
    """Mean deletion (or insertion) curve of every explainer.

    The curves are those the metric computed, per row, in ``MetricResult.extras["curves"]``
    (shape ``(n, m + 1)``: the model output after ``k = 0..m`` features, taken in the
    explainer's order of importance, were removed or inserted). The x axis is ``k / m``.

    Parameters
    ----------
    comparison : Comparison
    metric : str
        A curve metric of the comparison, such as ``"deletion_auc"`` or ``"insertion_auc"``.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Axes
        One line per explainer, labelled with its mean area under the curve.
    """
    comparison = check_comparison(comparison)
    check_metric(comparison, metric)
    curves = {}
    for name in comparison.explainer_names:
        result = comparison.metric_results.get((name, metric))
        extras = getattr(result, "extras", None) or {}
        if result is not None and "curves" in extras:
            curves[name] = (np.asarray(extras["curves"], dtype=float), float(result.value))
    if not curves:
        raise InvalidInputError(
            f"Metric {metric!r} kept no per-row curves (extras['curves']); "
            "plot a deletion or insertion metric such as 'deletion_auc'."
        )
    ax = axes_or_new(ax)
    for name, (values, auc) in curves.items():
        mean = np.nanmean(values, axis=0) if values.ndim == 2 else values
        fraction = np.linspace(0.0, 1.0, mean.shape[0])
        ax.plot(
            fraction, mean, marker="o", markersize=2.5, linewidth=1.4, label=literal_text(f"{name} (AUC {auc:.3g})")
        )
    higher = comparison.higher_is_better(metric)
    ax.set_xlabel(_curve_label(metric))
    ax.set_ylabel(literal_text(f"mean model output ({comparison.config.get('output', 'output')})"))
    ax.set_title(literal_text(f"{metric}: mean curves ({'higher' if higher else 'lower'} area is better)"))
    ax.set_xlim(0.0, 1.0)
    ax.legend(fontsize="small", frameon=False)
    return ax


def plot_agreement(matrix: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Heatmap of an explainer × explainer agreement matrix, with the values written in.

    Parameters
    ----------
    matrix : DataFrame
        A square frame, e.g. :meth:`Comparison.agreement`; NaN cells are left blank.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Axes
        The image (``ax.images[0]``) and one text per cell.
    """
    if not isinstance(matrix, pd.DataFrame) or matrix.shape[0] != matrix.shape[1] or matrix.empty:
        shape = getattr(matrix, "shape", None)
        raise InvalidInputError(
            f"plot_agreement needs a non-empty square DataFrame, got {type(matrix).__name__} {shape}."
        )
    values = matrix.to_numpy(dtype=float)
    finite = values[np.isfinite(values)]
    top = max(1.0, float(np.abs(finite).max())) if finite.size else 1.0
    negative = bool(finite.size and finite.min() < 0)
    vmin, cmap = (-top, "RdBu_r") if negative else (0.0, "Blues")
    n = values.shape[0]
    ax = axes_or_new(ax, (1.6 + 0.7 * n, 1.2 + 0.6 * n))
    image = ax.imshow(np.ma.masked_invalid(values), cmap=cmap, vmin=vmin, vmax=top)
    ax.figure.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    norm = image.norm
    for i in range(n):
        for j in range(n):
            value = values[i, j]
            shade = float(cast(float, norm(value))) if np.isfinite(value) else 0.0
            dark = shade > 0.7 or (negative and shade < 0.3)
            ax.text(
                j,
                i,
                f"{value:.2f}" if np.isfinite(value) else "–",
                ha="center",
                va="center",
                fontsize="small",
                color="white" if dark else "black",
            )
    ax.set_xticks(np.arange(n), [literal_text(c) for c in matrix.columns], rotation=45, ha="right")
    ax.set_yticks(np.arange(n), [literal_text(r) for r in matrix.index])
    ax.set_title("agreement between explainers")
    return ax


def plot_global_importance(comparison: Comparison, top: int | None = None, ax: Axes | None = None) -> Axes:
    """Mean |φ| per feature for every explainer, as grouped horizontal bars.

    Each explainer's column of :meth:`Comparison.global_importance` is divided by its sum,
    so bars show the share of the explainer's total attribution that goes to a feature and
    explainers on different scales are comparable. Features are ordered by their mean share.

    Parameters
    ----------
    comparison : Comparison
    top : int, optional
        Show only the ``top`` features (shares are still of the total over all features).
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Axes
        One bar per (feature shown, explainer).
    """
    comparison = check_comparison(comparison)
    frame = comparison.global_importance()
    if frame.empty or frame.shape[1] == 0:
        raise InvalidInputError("The comparison has no attributions to plot.")
    totals = frame.sum(axis=0)
    shares = frame.div(totals.where(totals > 0, 1.0), axis=1)
    order = shares.mean(axis=1).sort_values(ascending=False, kind="stable").index
    if top is not None:
        order = order[: check_count(top, "top")]
    shares = shares.loc[order]
    n_features, n_explainers = shares.shape
    ax = axes_or_new(ax, (6.4, 1.0 + 0.18 * n_features * max(n_explainers, 2)))
    height = 0.8 / n_explainers
    base = np.arange(n_features)[::-1]  # most important at the top
    for k, name in enumerate(shares.columns):
        offset = (n_explainers - 1 - 2 * k) * height / 2
        ax.barh(base + offset, shares[name].to_numpy(), height=height, label=literal_text(name))
    ax.set_yticks(base, [literal_text(f) for f in shares.index])
    ax.set_xlabel("share of mean |φ| (each explainer's column normalised to sum 1)")
    ax.set_title("global importance by explainer")
    ax.legend(fontsize="small", frameon=False)
    return ax
