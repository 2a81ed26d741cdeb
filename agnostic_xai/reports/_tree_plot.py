"""The plot of a surrogate tree, drawn with scikit-learn's tree plot.

This module owns :func:`plot_tree`: finding the fitted tree in a surrogate-tree explainer
(one per model output, with its held-out fidelity) or taking a scikit-learn decision tree,
and drawing it with its fidelity in the title.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ..exceptions import InvalidInputError, NotFittedError
from ._plot_common import axes_or_new, literal_text

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["plot_tree"]


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
    if isinstance(output, bool) or not isinstance(output, (int, np.integer)) or not 0 <= output < len(trees):
        raise InvalidInputError(f"output must be an index below {len(trees)}, got {output!r}.")
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
    ax = axes_or_new(ax, (9.0, 5.0))
    sklearn_plot_tree(
        tree,
        feature_names=None if names is None else [literal_text(n) for n in names],
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
