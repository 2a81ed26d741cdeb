"""Plots of a :class:`~agnostic_xai.comparison.Comparison` and of single attributions.

Every function draws on the Axes it is given (or on a new figure's Axes when ``ax`` is
None) and returns that Axes; none calls ``plt.show``. Only ``ax=None`` touches pyplot, so
the report writer, which always passes its own Axes, never creates global figures.

Text from the data (feature names, explainer labels) is drawn literally: ``$`` is escaped
so that a name such as ``price_$`` is not read as matplotlib mathtext.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .._checks import check_int
from ..attribution import Attribution
from ..exceptions import InvalidInputError, NotFittedError, UnknownNameError

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from ..comparison import Comparison

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

# Colours: blue-red for negative/positive contributions and low/high feature values (the
# convention of SHAP's plots), grey where a feature has no single value.
_POSITIVE = "#d62728"
_NEGATIVE = "#1f77b4"
_NEUTRAL = "#8c8c8c"
_VALUE_CMAP = "coolwarm"


def _axes(ax: Axes | None, size: tuple[float, float] = (6.4, 4.0)) -> Axes:
    """``ax``, or the Axes of a new pyplot figure (interactive use only)."""
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, new = plt.subplots(figsize=size)
    return new


def _text(label: Any) -> str:
    """``label`` as literal matplotlib text (no mathtext)."""
    return str(label).replace("$", r"\$")


def _check_comparison(comparison: Any) -> Comparison:
    from ..comparison import Comparison

    if not isinstance(comparison, Comparison):
        raise InvalidInputError(f"Expected a Comparison (from agnostic_xai.compare), got {type(comparison).__name__}.")
    return comparison


def _check_attribution(attribution: Any) -> Attribution:
    if not isinstance(attribution, Attribution):
        raise InvalidInputError(f"Expected an Attribution, got {type(attribution).__name__}.")
    return attribution


def _check_metric(comparison: Comparison, metric: str) -> None:
    if metric not in comparison.metric_names:
        raise UnknownNameError(
            f"No scores for metric {metric!r} in this comparison; present: {comparison.metric_names}."
        )


# ---------------------------------------------------------------------- comparison plots
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
    comparison = _check_comparison(comparison)
    _check_metric(comparison, metric)
    if summary is None:
        summary = comparison.summary(marked=False)
    higher = comparison.higher_is_better(metric)
    block = summary[metric]
    block = block[np.isfinite(block["mean"].to_numpy(dtype=float))]
    block = block.sort_values("mean", ascending=not higher, kind="stable")
    mean = block["mean"].to_numpy(dtype=float)
    low = np.nan_to_num(mean - block["ci_low"].to_numpy(dtype=float), nan=0.0).clip(min=0)
    high = np.nan_to_num(block["ci_high"].to_numpy(dtype=float) - mean, nan=0.0).clip(min=0)
    ax = _axes(ax, (6.4, 0.9 + 0.35 * max(len(block), 1)))
    positions = np.arange(len(block))[::-1]  # best at the top
    ax.barh(positions, mean, xerr=np.vstack([low, high]), color="#4c72b0", capsize=3, height=0.6)
    ax.set_yticks(positions, [_text(name) for name in block.index])
    ax.axvline(0.0, color="black", linewidth=0.6)
    direction = "higher is better" if higher else "lower is better"
    ax.set_title(_text(f"{metric} ({direction} {'↑' if higher else '↓'})"))
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
    comparison = _check_comparison(comparison)
    _check_metric(comparison, metric)
    curves = {}
    for name in comparison.explainer_names:
        result = comparison.metric_results.get((name, metric))
        extras = getattr(result, "extras", None) or {}
        if "curves" in extras:
            curves[name] = (np.asarray(extras["curves"], dtype=float), float(result.value))
    if not curves:
        raise InvalidInputError(
            f"Metric {metric!r} kept no per-row curves (extras['curves']); "
            "plot a deletion or insertion metric such as 'deletion_auc'."
        )
    ax = _axes(ax)
    for name, (values, auc) in curves.items():
        mean = np.nanmean(values, axis=0) if values.ndim == 2 else values
        fraction = np.linspace(0.0, 1.0, mean.shape[0])
        ax.plot(fraction, mean, marker="o", markersize=2.5, linewidth=1.4, label=_text(f"{name} (AUC {auc:.3g})"))
    higher = comparison.higher_is_better(metric)
    ax.set_xlabel(_curve_label(metric))
    ax.set_ylabel(_text(f"mean model output ({comparison.config.get('output', 'output')})"))
    ax.set_title(_text(f"{metric}: mean curves ({'higher' if higher else 'lower'} area is better)"))
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
    ax = _axes(ax, (1.6 + 0.7 * n, 1.2 + 0.6 * n))
    image = ax.imshow(np.ma.masked_invalid(values), cmap=cmap, vmin=vmin, vmax=top)
    ax.figure.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    norm = image.norm
    for i in range(n):
        for j in range(n):
            value = values[i, j]
            shade = float(norm(value)) if np.isfinite(value) else 0.0
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
    ax.set_xticks(np.arange(n), [_text(c) for c in matrix.columns], rotation=45, ha="right")
    ax.set_yticks(np.arange(n), [_text(r) for r in matrix.index])
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
    comparison = _check_comparison(comparison)
    frame = comparison.global_importance()
    if frame.empty or frame.shape[1] == 0:
        raise InvalidInputError("The comparison has no attributions to plot.")
    totals = frame.sum(axis=0)
    shares = frame.div(totals.where(totals > 0, 1.0), axis=1)
    order = shares.mean(axis=1).sort_values(ascending=False, kind="stable").index
    if top is not None:
        order = order[: check_int(top, "top", minimum=1)]
    shares = shares.loc[order]
    n_features, n_explainers = shares.shape
    ax = _axes(ax, (6.4, 1.0 + 0.18 * n_features * max(n_explainers, 2)))
    height = 0.8 / n_explainers
    base = np.arange(n_features)[::-1]  # most important at the top
    for k, name in enumerate(shares.columns):
        offset = (n_explainers - 1 - 2 * k) * height / 2
        ax.barh(base + offset, shares[name].to_numpy(), height=height, label=_text(name))
    ax.set_yticks(base, [_text(f) for f in shares.index])
    ax.set_xlabel("share of mean |φ| (each explainer's column normalised to sum 1)")
    ax.set_title("global importance by explainer")
    ax.legend(fontsize="small", frameon=False)
    return ax


# ---------------------------------------------------------------------- attribution plots
def _feature_values(attribution: Attribution) -> tuple[np.ndarray, list[str | None]]:
    """Per player: its column's values (n, m; NaN for multi-column groups) and that column's name."""
    if attribution.groups is None:
        return attribution.data, list(attribution.feature_names)
    columns = [cols[0] for cols in attribution.groups.indices]
    single = np.array([len(cols) == 1 for cols in attribution.groups.indices])
    values = np.where(single[None, :], attribution.data[:, columns], np.nan)
    names = [attribution.groups.feature_names[c] if s else None for c, s in zip(columns, single)]
    return values, names


def _normalise_columns(values: np.ndarray) -> np.ndarray:
    """Each column mapped to [0, 1] between its 5th and 95th percentiles (constant -> 0.5)."""
    out = np.full(values.shape, np.nan)
    for j in range(values.shape[1]):
        column = values[:, j]
        if not np.isfinite(column).any():
            continue
        low, high = np.nanpercentile(column, [5, 95])
        if high <= low:
            low, high = np.nanmin(column), np.nanmax(column)
        out[:, j] = 0.5 if high <= low else np.clip((column - low) / (high - low), 0.0, 1.0)
    return out


def plot_beeswarm(
    attribution: Attribution, max_features: int = 10, ax: Axes | None = None, *, random_state: int = 0
) -> Axes:
    """Summary of an attribution: for each feature, one point per row at its value φ.

    Features are ordered by mean |φ|, most important on top. Points are coloured by the
    feature's value in that row, from low (blue) to high (red), normalised per feature
    between its 5th and 95th percentiles; a group of several columns has no single value
    and is drawn grey. Vertical jitter is seeded, so the same input gives the same plot.

    Parameters
    ----------
    attribution : Attribution
    max_features : int
        Most features shown.
    ax : matplotlib Axes, optional
    random_state : int
        Seed of the jitter.

    Returns
    -------
    matplotlib Axes
        One scatter collection per feature shown.
    """
    attribution = _check_attribution(attribution)
    max_features = check_int(max_features, "max_features", minimum=1)
    import matplotlib as mpl

    values = attribution.values
    order = np.argsort(-np.abs(values).mean(axis=0), kind="stable")[:max_features]
    colour_values = _normalise_columns(_feature_values(attribution)[0])
    cmap = mpl.colormaps[_VALUE_CMAP]
    rng = np.random.default_rng(random_state)
    ax = _axes(ax, (6.4, 1.0 + 0.4 * len(order)))
    positions = np.arange(len(order))[::-1]
    for position, j in zip(positions, order):
        jitter = rng.uniform(-0.3, 0.3, size=values.shape[0])
        shade = colour_values[:, j]
        colours = np.where(np.isfinite(shade)[:, None], cmap(np.nan_to_num(shade)), mpl.colors.to_rgba(_NEUTRAL))
        ax.scatter(values[:, j], position + jitter, c=colours, s=12, linewidths=0)
    ax.set_yticks(positions, [_text(attribution.feature_names[j]) for j in order])
    ax.axvline(0.0, color="black", linewidth=0.6)
    ax.set_xlabel(_text(f"attribution φ to the explained output ({attribution.output})"))
    ax.set_title(_text(f"{attribution.method}: attributions per row"))
    scale = mpl.cm.ScalarMappable(norm=mpl.colors.Normalize(0.0, 1.0), cmap=cmap)
    bar = ax.figure.colorbar(scale, ax=ax, fraction=0.04, pad=0.02, ticks=[0.0, 1.0])
    bar.ax.set_yticklabels(["low", "high"])
    bar.set_label("feature value")
    return ax


def _player(attribution: Attribution, feature: str | int) -> int:
    names = attribution.feature_names
    if isinstance(feature, (int, np.integer)) and not isinstance(feature, bool):
        if not -len(names) <= feature < len(names):
            raise InvalidInputError(f"feature index {feature} is out of range for {len(names)} features.")
        return int(feature) % len(names)
    if feature in names:
        return names.index(feature)
    raise UnknownNameError(f"Unknown feature {feature!r}; the attribution has {list(names)}.")


def plot_dependence(attribution: Attribution, feature: str | int, ax: Axes | None = None) -> Axes:
    """Feature value against its attribution, one point per row.

    For a group of columns, the x axis is the value of the group's first column (said in
    the axis label).

    Parameters
    ----------
    attribution : Attribution
    feature : str or int
        Name or index of an attributed feature (or group).
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Axes
        One scatter collection.
    """
    attribution = _check_attribution(attribution)
    j = _player(attribution, feature)
    name = attribution.feature_names[j]
    if attribution.groups is None:
        column, label = j, name
    else:
        column = attribution.groups.indices[j][0]
        column_name = attribution.groups.feature_names[column]
        label = name if len(attribution.groups.indices[j]) == 1 else f"{column_name} (first column of group {name})"
    ax = _axes(ax)
    ax.scatter(attribution.data[:, column], attribution.values[:, j], s=14, color=_NEGATIVE, linewidths=0)
    ax.axhline(0.0, color="black", linewidth=0.6)
    ax.set_xlabel(_text(label))
    ax.set_ylabel(_text(f"φ({name})"))
    ax.set_title(_text(f"{attribution.method}: dependence on {name}"))
    return ax


def plot_waterfall(attribution: Attribution, row: int, max_features: int = 10, ax: Axes | None = None) -> Axes:
    """How one row's attributions add up from the base value to ``base + Σφ``.

    Bars run from the base value (bottom) to the explained value (top), one per feature
    ordered by |φ| with the largest on top; features beyond ``max_features`` are summed
    into one "other" bar. For additive explainers ``base + Σφ = f(x)``.

    Parameters
    ----------
    attribution : Attribution
    row : int
        Index of the row in the attribution.
    max_features : int
        Most features with a bar of their own.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Axes
        One bar per feature shown, plus one for "other" when features were collapsed.
    """
    attribution = _check_attribution(attribution)
    max_features = check_int(max_features, "max_features", minimum=1)
    n = attribution.n_rows
    row = check_int(row, "row", minimum=-n, maximum=n - 1, kind=f"an int index into the {n} explained rows") % n
    phi = attribution.values[row]
    base = float(attribution.base_values[row])
    order = np.argsort(-np.abs(phi), kind="stable")
    shown, rest = order[:max_features], order[max_features:]
    values_by_player, _ = _feature_values(attribution)
    labels = []
    for j in shown:
        value = values_by_player[row, j]
        name = attribution.feature_names[j]
        labels.append(f"{name} = {value:.4g}" if np.isfinite(value) else name)
    widths = list(phi[shown])
    if rest.size:
        labels.append(f"{rest.size} other features")
        widths.append(float(phi[rest].sum()))
    # Bottom to top: the smallest contribution first, so the largest ends at base + Σφ.
    # "other" first, then the features by increasing |φ|.
    labels, widths = labels[::-1], np.array(widths[::-1])
    starts = base + np.concatenate([[0.0], np.cumsum(widths)[:-1]])
    final = base + float(widths.sum())
    ax = _axes(ax, (6.4, 1.2 + 0.4 * len(widths)))
    positions = np.arange(len(widths))
    colours = [_POSITIVE if w >= 0 else _NEGATIVE for w in widths]
    ax.barh(positions, widths, left=starts, color=colours, height=0.6)
    for position, start, width in zip(positions, starts, widths):
        ax.text(
            start + width,
            position,
            f" {width:+.3g} ",
            va="center",
            ha="left" if width >= 0 else "right",
            fontsize="small",
        )
    ax.axvline(base, color=_NEUTRAL, linestyle="--", linewidth=0.8)
    ax.axvline(final, color="black", linestyle="--", linewidth=0.8)
    ax.set_yticks(positions, [_text(label) for label in labels])
    ax.set_xlabel(_text(f"explained output ({attribution.output}): base {base:.3g} → {final:.3g} (base + Σφ)"))
    ax.set_title(_text(f"{attribution.method}: row {row}"))
    ax.use_sticky_edges = False  # bars would pin the limits to their ends
    ax.margins(x=0.2)  # room for the value labels
    return ax


# ---------------------------------------------------------------------- surrogate tree
def _resolve_tree(obj: Any, output: int | None) -> tuple[Any, float | None, Sequence[str] | None, int | None]:
    """``(fitted sklearn tree, its fidelity or None, column names or None, output or None)`` from ``obj``."""
    from sklearn.tree import BaseDecisionTree

    if isinstance(obj, BaseDecisionTree):
        if not hasattr(obj, "tree_"):
            raise NotFittedError("The decision tree is not fitted; call its fit() first.")
        names = getattr(obj, "feature_names_in_", None)
        return obj, None, None if names is None else [str(n) for n in names], None
    adapter = getattr(obj, "adapter_", None)
    names = getattr(adapter, "feature_names", None)
    fidelity = getattr(obj, "fidelity_", None)
    trees = getattr(obj, "trees_", None)
    if trees is None and isinstance(getattr(obj, "tree_", None), BaseDecisionTree):
        trees = (obj.tree_,)
    if trees is None:
        from ..explainers import Explainer

        if isinstance(obj, Explainer):
            raise NotFittedError(f"{type(obj).__name__} has no fitted tree; call fit(adapter, background) first.")
        raise InvalidInputError(
            f"plot_tree needs a fitted surrogate-tree explainer or a scikit-learn decision tree, got {type(obj).__name__}."
        )
    trees = tuple(trees)
    if output is None:
        if len(trees) != 1:
            raise InvalidInputError(
                f"The surrogate has {len(trees)} trees, one per model output; pass output=<index> to choose one."
            )
        output = 0
    check_int(output, "output", minimum=0, maximum=len(trees) - 1, kind=f"an index below {len(trees)}")
    score = None
    if fidelity is not None:
        fidelity = np.atleast_1d(np.asarray(fidelity, dtype=float))
        score = float(fidelity[output if fidelity.size > 1 else 0])
    return trees[output], score, None if names is None else list(names), output if len(trees) > 1 else None


def plot_tree(
    explainer_or_tree: Any,
    feature_names: Sequence[str] | None = None,
    ax: Axes | None = None,
    *,
    output: int | None = None,
    max_depth: int | None = None,
    fontsize: float | None = None,
) -> Axes:
    """Draw a surrogate tree with :func:`sklearn.tree.plot_tree`, its fidelity in the title.

    Parameters
    ----------
    explainer_or_tree : SurrogateTree or DecisionTreeRegressor
        A fitted surrogate-tree explainer (one tree per model output in ``trees_``, held-out
        R² in ``fidelity_``) or a fitted scikit-learn decision tree.
    feature_names : sequence of str, optional
        Column names; by default those of the explainer's model or of the tree.
    ax : matplotlib Axes, optional
    output : int, optional
        Which output's tree, for a surrogate with several (required then).
    max_depth : int, optional
        Draw only this many levels (deeper nodes are drawn as "(...)").
    fontsize : float, optional
        Text size in the boxes (default: as large as fits).

    Returns
    -------
    matplotlib Axes
    """
    from sklearn.tree import plot_tree as sklearn_plot_tree

    tree, fidelity, names, shown_output = _resolve_tree(explainer_or_tree, output)
    if feature_names is not None:
        names = [str(n) for n in feature_names]
    if names is not None and len(names) != tree.n_features_in_:
        raise InvalidInputError(f"The tree has {tree.n_features_in_} input columns; got {len(names)} feature names.")
    ax = _axes(ax, (9.0, 5.0))
    sklearn_plot_tree(
        tree,
        feature_names=None if names is None else [_text(n) for n in names],
        filled=True,
        rounded=True,
        impurity=False,
        precision=3,
        max_depth=max_depth,
        fontsize=fontsize,
        ax=ax,
    )
    title = "surrogate tree" if fidelity is None else f"surrogate tree (fidelity R² = {fidelity:.3f} on held-out rows)"
    if shown_output is not None:
        title += f", output {shown_output}"
    ax.set_title(title)
    return ax
