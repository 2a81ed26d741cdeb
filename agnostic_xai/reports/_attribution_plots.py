"""Plots of one :class:`~agnostic_xai.attribution.Attribution`.

This module owns the attribution plot family: the beeswarm summary over rows, the
dependence of one feature's attribution on its value, and the waterfall of one row; and
their colours (blue-red for negative/positive contributions and low/high feature values,
grey where a feature group has no single value).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..attribution import Attribution
from ..exceptions import InvalidInputError, UnknownNameError
from ._plot_common import axes_or_new, check_attribution, check_count, literal_text

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["plot_beeswarm", "plot_dependence", "plot_waterfall"]

# Colours: blue-red for negative/positive contributions and low/high feature values (the
# convention of SHAP's plots), grey where a feature has no single value.
_POSITIVE = "#d62728"
_NEGATIVE = "#1f77b4"
_NEUTRAL = "#8c8c8c"
_VALUE_CMAP = "coolwarm"


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
    attribution = check_attribution(attribution)
    max_features = check_count(max_features, "max_features")
    import matplotlib as mpl

    values = attribution.values
    order = np.argsort(-np.abs(values).mean(axis=0), kind="stable")[:max_features]
    colour_values = _normalise_columns(_feature_values(attribution)[0])
    cmap = mpl.colormaps[_VALUE_CMAP]
    rng = np.random.default_rng(random_state)
    ax = axes_or_new(ax, (6.4, 1.0 + 0.4 * len(order)))
    positions = np.arange(len(order))[::-1]
    for position, j in zip(positions, order):
        jitter = rng.uniform(-0.3, 0.3, size=values.shape[0])
        shade = colour_values[:, j]
        colours = np.where(np.isfinite(shade)[:, None], cmap(np.nan_to_num(shade)), mpl.colors.to_rgba(_NEUTRAL))
        ax.scatter(values[:, j], position + jitter, c=colours, s=12, linewidths=0)
    ax.set_yticks(positions, [literal_text(attribution.feature_names[j]) for j in order])
    ax.axvline(0.0, color="black", linewidth=0.6)
    ax.set_xlabel(literal_text(f"attribution φ to the explained output ({attribution.output})"))
    ax.set_title(literal_text(f"{attribution.method}: attributions per row"))
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
    attribution = check_attribution(attribution)
    j = _player(attribution, feature)
    name = attribution.feature_names[j]
    if attribution.groups is None:
        column, label = j, name
    else:
        column = attribution.groups.indices[j][0]
        column_name = attribution.groups.feature_names[column]
        label = name if len(attribution.groups.indices[j]) == 1 else f"{column_name} (first column of group {name})"
    ax = axes_or_new(ax)
    ax.scatter(attribution.data[:, column], attribution.values[:, j], s=14, color=_NEGATIVE, linewidths=0)
    ax.axhline(0.0, color="black", linewidth=0.6)
    ax.set_xlabel(literal_text(label))
    ax.set_ylabel(literal_text(f"φ({name})"))
    ax.set_title(literal_text(f"{attribution.method}: dependence on {name}"))
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
    attribution = check_attribution(attribution)
    max_features = check_count(max_features, "max_features")
    n = attribution.n_rows
    if isinstance(row, bool) or not isinstance(row, (int, np.integer)) or not -n <= row < n:
        raise InvalidInputError(f"row must be an int index into the {n} explained rows, got {row!r}.")
    row = int(row) % n
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
    parts = list(phi[shown])
    if rest.size:
        labels.append(f"{rest.size} other features")
        parts.append(float(phi[rest].sum()))
    # Bottom to top: the smallest contribution first, so the largest ends at base + Σφ.
    # "other" first, then the features by increasing |φ|.
    labels, widths = labels[::-1], np.array(parts[::-1])
    starts = base + np.concatenate([[0.0], np.cumsum(widths)[:-1]])
    final = base + float(widths.sum())
    ax = axes_or_new(ax, (6.4, 1.2 + 0.4 * len(widths)))
    positions = np.arange(len(widths))
    colours = [_POSITIVE if w >= 0 else _NEGATIVE for w in widths]
    ax.barh(positions, widths, left=starts, color=colours, height=0.6)
    for position, start, width in zip(positions, starts, widths):
        ax.text(
            start + width,
            float(position),
            f" {width:+.3g} ",
            va="center",
            ha="left" if width >= 0 else "right",
            fontsize="small",
        )
    ax.axvline(base, color=_NEUTRAL, linestyle="--", linewidth=0.8)
    ax.axvline(final, color="black", linestyle="--", linewidth=0.8)
    ax.set_yticks(positions, [literal_text(label) for label in labels])
    ax.set_xlabel(literal_text(f"explained output ({attribution.output}): base {base:.3g} → {final:.3g} (base + Σφ)"))
    ax.set_title(literal_text(f"{attribution.method}: row {row}"))
    ax.use_sticky_edges = False  # bars would pin the limits to their ends
    ax.margins(x=0.2)  # room for the value labels
    return ax
