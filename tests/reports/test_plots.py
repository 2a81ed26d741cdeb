"""Plot functions: what they draw (counts, data, labels), determinism and bad input."""

from __future__ import annotations

import itertools

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from report_setup import FEATURES, SCRIPT, StubSurrogate
from sklearn.tree import DecisionTreeRegressor

from agnostic_xai import Attribution, FeatureGroups
from agnostic_xai.exceptions import InvalidInputError, NotFittedError, UnknownNameError
from agnostic_xai.reports import (
    plot_agreement,
    plot_beeswarm,
    plot_curves,
    plot_dependence,
    plot_global_importance,
    plot_leaderboard,
    plot_tree,
    plot_waterfall,
)


def new_axes() -> Axes:
    figure = Figure(figsize=(5, 4))
    FigureCanvasAgg(figure)
    return figure.add_subplot()


def render(ax: Axes) -> None:
    """Draw the figure: catches text that matplotlib cannot lay out (e.g. stray mathtext)."""
    ax.figure.canvas.draw()


def ytick_labels(ax: Axes) -> list[str]:
    """Tick labels from top to bottom."""
    ticks = sorted(zip(ax.get_yticks(), ax.get_yticklabels()), key=lambda t: -t[0])
    return [label.get_text().replace("\\$", "$") for _, label in ticks]  # as given, not as escaped


@pytest.fixture
def grouped_attribution():
    rng = np.random.default_rng(1)
    names = ("age", "colour_red", "colour_blue", "income")
    groups = FeatureGroups.from_prefixes(names)
    return Attribution(
        values=rng.normal(size=(15, 3)) * [1.0, 3.0, 0.5],
        base_values=np.full(15, 0.2),
        data=rng.normal(size=(15, 4)),
        target=np.zeros(15, dtype=int),
        feature_names=groups.names,
        method="demo",
        groups=groups,
    )


# ---------------------------------------------------------------------- comparison plots
def test_leaderboard_has_one_bar_per_explainer_best_first(comparison):
    ax = plot_leaderboard(comparison, "deletion_auc", new_axes())
    summary = comparison.summary(marked=False)["deletion_auc"].sort_values("mean", kind="stable")
    assert len(ax.patches) == 4
    assert ytick_labels(ax) == list(summary.index)  # lower is better: smallest mean on top
    widths = sorted((p.get_y(), p.get_width()) for p in ax.patches)[::-1]  # top first
    np.testing.assert_allclose([w for _, w in widths], summary["mean"], rtol=1e-12)
    assert "lower is better" in ax.get_title()
    render(ax)


def test_leaderboard_higher_is_better_and_error_bars(comparison):
    ax = plot_leaderboard(comparison, "insertion_auc", new_axes())
    summary = comparison.summary(marked=False)["insertion_auc"].sort_values("mean", ascending=False, kind="stable")
    assert ytick_labels(ax)[0] == summary.index[0]
    assert "higher is better" in ax.get_title()
    (bars,) = [c for c in ax.containers if hasattr(c, "errorbar") and c.errorbar is not None]
    segments = bars.errorbar.lines[2][0].get_segments()
    ends = sorted(((s[0][1], s[0][0], s[1][0]) for s in segments), reverse=True)  # (y, low, high), top first
    np.testing.assert_allclose([e[1] for e in ends], summary["ci_low"], rtol=1e-12)
    np.testing.assert_allclose([e[2] for e in ends], summary["ci_high"], rtol=1e-12)


def test_leaderboard_unknown_metric(comparison):
    with pytest.raises(UnknownNameError, match="nope"):
        plot_leaderboard(comparison, "nope")


@pytest.mark.parametrize("metric, word", [("deletion_auc", "removed"), ("insertion_auc", "inserted")])
def test_curves_are_the_mean_per_row_curves(comparison, metric, word):
    ax = plot_curves(comparison, metric, new_axes())
    assert len(ax.lines) == 4 and word in ax.get_xlabel()
    for line, name in zip(ax.lines, comparison.explainer_names):
        curves = comparison.metric_results[(name, metric)].extras["curves"]
        assert curves.shape == (24, 6)
        np.testing.assert_allclose(line.get_xdata(), np.linspace(0, 1, 6))
        np.testing.assert_allclose(line.get_ydata(), curves.mean(axis=0), rtol=1e-12)
        assert line.get_label().startswith(name)
    render(ax)


def test_curves_need_a_metric_with_curves(comparison):
    with pytest.raises(InvalidInputError, match="curves"):
        plot_curves(comparison, "shapley_error")


def test_agreement_heatmap_shape_and_annotations():
    names = ["exact", "lime", SCRIPT]
    matrix = pd.DataFrame([[1.0, 0.5, -0.25], [0.5, 1.0, np.nan], [-0.25, np.nan, 1.0]], index=names, columns=names)
    ax = plot_agreement(matrix, new_axes())
    (image,) = ax.images
    assert image.get_array().shape == (3, 3)
    texts = [t.get_text() for t in ax.texts]
    assert texts == ["1.00", "0.50", "-0.25", "0.50", "1.00", "–", "-0.25", "–", "1.00"]
    assert [t.get_text() for t in ax.get_xticklabels()] == names
    assert image.norm.vmin == -1.0 and image.norm.vmax == 1.0  # diverging for negative agreement
    render(ax)


@pytest.mark.parametrize(
    "matrix", [pd.DataFrame(np.ones((2, 3))), np.eye(3), pd.DataFrame()], ids=["not square", "array", "empty"]
)
def test_agreement_needs_a_square_frame(matrix):
    with pytest.raises(InvalidInputError, match="square"):
        plot_agreement(matrix)


def test_global_importance_bars_are_normalised_shares(comparison):
    ax = plot_global_importance(comparison, ax=new_axes())
    assert len(ax.patches) == 5 * 4
    assert [t.get_text() for t in ax.get_legend().get_texts()] == comparison.explainer_names
    importance = comparison.global_importance()
    for k, name in enumerate(comparison.explainer_names):
        bars = ax.patches[5 * k : 5 * (k + 1)]
        widths = np.array([b.get_width() for b in bars])
        assert widths.sum() == pytest.approx(1.0)
        order = np.argsort([-b.get_y() for b in bars])  # top to bottom
        shares = (importance[name] / importance[name].sum()).reindex([ytick_labels(ax)[i] for i in range(5)])
        np.testing.assert_allclose(widths[order], shares.to_numpy(), rtol=1e-12)
    assert "normalised to sum 1" in ax.get_xlabel()
    assert set(ytick_labels(ax)) == set(FEATURES)
    render(ax)


def test_global_importance_top(comparison):
    ax = plot_global_importance(comparison, top=2, ax=new_axes())
    assert len(ax.patches) == 2 * 4 and len(ax.get_yticks()) == 2
    with pytest.raises(InvalidInputError, match="top"):
        plot_global_importance(comparison, top=0)


# ---------------------------------------------------------------------- attribution plots
def test_beeswarm_one_collection_per_feature_at_the_values(comparison):
    attribution = comparison.attributions["noisy"]
    ax = plot_beeswarm(attribution, max_features=3, ax=new_axes())
    assert len(ax.collections) == 3
    order = np.argsort(-np.abs(attribution.values).mean(axis=0), kind="stable")[:3]
    assert ytick_labels(ax) == [attribution.feature_names[j] for j in order]
    for collection, j in zip(ax.collections, order):
        np.testing.assert_array_equal(collection.get_offsets()[:, 0], attribution.values[:, j])
    render(ax)


def test_beeswarm_is_deterministic(comparison):
    attribution = comparison.attributions["noisy"]
    first = plot_beeswarm(attribution, ax=new_axes())
    again = plot_beeswarm(attribution, ax=new_axes())
    assert len(first.collections) == 5
    for a, b in zip(first.collections, again.collections):
        np.testing.assert_array_equal(a.get_offsets(), b.get_offsets())
        np.testing.assert_array_equal(a.get_facecolors(), b.get_facecolors())


def test_beeswarm_colours_by_value_and_groups_are_neutral(grouped_attribution):
    ax = plot_beeswarm(grouped_attribution, ax=new_axes())
    by_name = dict(zip(ytick_labels(ax), sorted(ax.collections, key=lambda c: -np.mean(c.get_offsets()[:, 1]))))
    colour = by_name["colour"].get_facecolors()
    assert np.unique(colour, axis=0).shape[0] == 1  # two columns, no single value: one neutral colour
    age = by_name["age"].get_facecolors()
    values = grouped_attribution.data[:, 0]
    low, high = np.percentile(values, [5, 95])
    expected = matplotlib.colormaps["coolwarm"](np.clip((values - low) / (high - low), 0, 1))
    np.testing.assert_allclose(age, expected, atol=1e-12)
    np.testing.assert_allclose(age[np.argmin(values)], matplotlib.colormaps["coolwarm"](0.0))  # lowest: blue end
    np.testing.assert_allclose(age[np.argmax(values)], matplotlib.colormaps["coolwarm"](1.0))  # highest: red end


def test_dependence_plots_value_against_attribution(comparison, grouped_attribution):
    attribution = comparison.attributions["exact_shapley"]
    ax = plot_dependence(attribution, "income", new_axes())
    (points,) = ax.collections
    np.testing.assert_array_equal(
        points.get_offsets(), np.column_stack([attribution.data[:, 4], attribution.values[:, 4]])
    )
    assert ax.get_xlabel() == "income"
    ax = plot_dependence(grouped_attribution, "colour", new_axes())
    np.testing.assert_array_equal(ax.collections[0].get_offsets()[:, 0], grouped_attribution.data[:, 1])
    assert "colour_red" in ax.get_xlabel() and "first column of group colour" in ax.get_xlabel()
    with pytest.raises(UnknownNameError, match="weight"):
        plot_dependence(attribution, "weight")
    with pytest.raises(InvalidInputError, match="out of range"):
        plot_dependence(attribution, 9)


def test_waterfall_adds_up_from_base_to_the_explained_value(comparison):
    attribution = comparison.attributions["noisy_2"]
    row = 3
    ax = plot_waterfall(attribution, row, max_features=2, ax=new_axes())
    assert len(ax.patches) == 3  # two features and "3 other features"
    bars = sorted(ax.patches, key=lambda p: p.get_y())  # bottom to top
    labels = ytick_labels(ax)[::-1]
    assert labels[0] == "3 other features"
    base = attribution.base_values[row]
    assert bars[0].get_x() == pytest.approx(base)
    end = bars[-1].get_x() + bars[-1].get_width()
    assert end == pytest.approx(base + attribution.values[row].sum())
    for lower, upper in itertools.pairwise(bars):  # each bar starts where the previous ended
        assert upper.get_x() == pytest.approx(lower.get_x() + lower.get_width())
    top = int(np.argmax(np.abs(attribution.values[row])))
    assert labels[-1].startswith(attribution.feature_names[top] + " = ")
    render(ax)


def test_waterfall_without_collapsing_and_bad_rows(comparison):
    attribution = comparison.attributions["exact_shapley"]
    ax = plot_waterfall(attribution, 0, ax=new_axes())
    assert len(ax.patches) == 5
    for row in (24, -25, 1.5, True):
        with pytest.raises(InvalidInputError, match="row"):
            plot_waterfall(attribution, row)


def test_text_from_data_is_literal():
    """Names with `$` are not mathtext: the figure draws and the label is shown as given."""
    names = (r"price $\alpha$", r"cost_$\frac$", "a|b")
    attribution = Attribution(
        values=np.eye(3),
        base_values=np.zeros(3),
        data=np.eye(3),
        target=np.zeros(3, dtype=int),
        feature_names=names,
        method="demo",
    )
    ax = plot_beeswarm(attribution, ax=new_axes())
    render(ax)
    label = next(t for t in ax.get_yticklabels() if "frac" in t.get_text())
    assert label.get_text() == r"cost_\$\frac\$"  # drawn as the literal name
    ax = plot_waterfall(attribution, 0, ax=new_axes())
    render(ax)


# ---------------------------------------------------------------------- trees
def test_tree_of_a_fitted_surrogate(comparison):
    surrogate = comparison.explainers["surrogate_tree"]
    ax = plot_tree(surrogate, ax=new_axes())
    assert f"{surrogate.fidelity_[0]:.3f}" in ax.get_title() and "fidelity" in ax.get_title()
    assert "output" not in ax.get_title()  # one tree: no output to name
    assert len(ax.texts) == surrogate.trees_[0].tree_.node_count + 2  # one box per node, "True"/"False"
    assert any(SCRIPT in t.get_text() or "income" in t.get_text() for t in ax.texts)
    render(ax)


def test_tree_of_a_decision_tree_and_errors(comparison):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    tree = DecisionTreeRegressor(max_depth=2, random_state=0).fit(X, X[:, 0] + X[:, 1] ** 2)
    ax = plot_tree(tree, feature_names=["u", "v", "w"], ax=new_axes())
    assert len(ax.texts) == tree.tree_.node_count + 2 and "fidelity" not in ax.get_title()
    with pytest.raises(InvalidInputError, match="3 input columns"):
        plot_tree(tree, feature_names=["u"])
    with pytest.raises(NotFittedError):
        plot_tree(DecisionTreeRegressor())
    with pytest.raises(NotFittedError, match="fit"):
        plot_tree(StubSurrogate())
    with pytest.raises(InvalidInputError, match="decision tree"):
        plot_tree(object())

    class TwoOutputs:
        trees_ = (tree, tree)
        fidelity_ = np.array([0.9, 0.8])

    with pytest.raises(InvalidInputError, match="output="):
        plot_tree(TwoOutputs())
    title = plot_tree(TwoOutputs(), output=1, ax=new_axes()).get_title()
    assert "0.800" in title and title.endswith("output 1")


def test_without_ax_a_new_figure_is_made_and_returned(comparison):
    before = len(plt.get_fignums())
    ax = plot_leaderboard(comparison, "shapley_error")
    assert isinstance(ax, Axes) and len(plt.get_fignums()) == before + 1
