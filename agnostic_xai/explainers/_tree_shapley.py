"""Exact interventional Shapley values of a decision tree, with columns or feature groups as players.

For a row ``x`` and one reference row ``z``, the interventional game of a tree ``T`` over
players ``N`` (columns, or groups of columns that are switched together) is
``v_z(S) = T(x_S, z_S̄)``: the columns of the players in ``S`` come from ``x``, the others
from ``z``. The hybrid row reaches leaf ``l`` when every split on the root-to-leaf path sends
it the path's way. A split on column ``c`` reads ``x_c`` when ``c``'s player is in ``S`` and
``z_c`` otherwise, so for each player ``g`` on the path only two facts matter: whether ``x``
follows all of the path's splits on ``g``'s columns (``a_g``), and whether ``z`` does
(``b_g``). Leaf ``l`` is reached exactly when::

    every g in A = {a_g and not b_g} is in S,   no g in B = {b_g and not a_g} is in S,

and never when some player on the path has neither (players with both, and players off the
path, do not change whether ``l`` is reached). That indicator game has closed-form Shapley
values (a player of ``A`` counts when it comes after the rest of ``A`` and before all of
``B`` in a random order; symmetrically for ``B``)::

    φ_g = + T_l (|A| - 1)! |B|! / (|A| + |B|)!   for g in A,
    φ_g = − T_l |A|! (|B| - 1)! / (|A| + |B|)!   for g in B,

and ``v_z`` is the sum over leaves of ``T_l`` times that indicator, so by linearity the
Shapley values of ``v_z`` are the sums over leaves, and those of the interventional game
``v(S) = mean_z v_z(S)`` (the ``"marginal"`` removal definition shared with the other
explainers) are their mean over the reference rows. This is the interventional TreeSHAP
of Lundberg et al. (2020) written for arbitrary players; it costs
``O(n · |R| · leaves · (depth + players))`` and never enumerates coalitions, so any number of
columns or groups is fine. ``base = mean_z T(z) = v(∅)`` and ``base + Σφ = T(x)``.

Splits follow scikit-learn's convention: a row goes left when ``x_c <= threshold``, with
``x_c`` rounded to float32 first, as ``DecisionTreeRegressor.predict`` does.
"""

from __future__ import annotations

from math import factorial

import numpy as np

from ..groups import FeatureGroups

__all__ = ["TreePaths", "tree_paths", "tree_shapley"]

#: Upper bound on the (rows × references × leaves × players) block held in memory at once.
_BLOCK = 2**22


class TreePaths:
    """The root-to-leaf paths of a fitted scikit-learn tree, read once.

    Attributes
    ----------
    node_feature, node_threshold : ndarray of shape (m,)
        Column and threshold of each internal node.
    leaf_value : ndarray of shape (L,)
        Prediction of each leaf (output 0).
    on_path : bool ndarray of shape (L, m)
        Whether internal node ``k`` is on the path to leaf ``l``.
    goes_left : bool ndarray of shape (L, m)
        The direction the path to ``l`` takes at node ``k`` (where on the path).
    """

    def __init__(self, tree: object) -> None:
        structure = tree.tree_  # type: ignore[attr-defined]
        left, right = structure.children_left, structure.children_right
        internal = np.flatnonzero(left != -1)
        index = {int(node): k for k, node in enumerate(internal)}
        leaves, on_path, goes_left = [], [], []
        stack: list[tuple[int, list[tuple[int, bool]]]] = [(0, [])]
        while stack:
            node, path = stack.pop()
            if left[node] == -1:
                mask, side = np.zeros(internal.size, bool), np.zeros(internal.size, bool)
                for k, is_left in path:
                    mask[k], side[k] = True, is_left
                leaves.append(node)
                on_path.append(mask)
                goes_left.append(side)
                continue
            k = index[int(node)]
            stack.append((int(right[node]), [*path, (k, False)]))
            stack.append((int(left[node]), [*path, (k, True)]))
        self.node_feature = structure.feature[internal].astype(np.int64)
        self.node_threshold = structure.threshold[internal].astype(np.float64)
        self.leaf_value = structure.value[leaves, 0, 0].astype(np.float64)
        self.on_path = np.array(on_path, dtype=bool).reshape(len(leaves), internal.size)
        self.goes_left = np.array(goes_left, dtype=bool).reshape(len(leaves), internal.size)

    def followed(self, X: np.ndarray) -> np.ndarray:
        """``(n, L, m)``: whether row ``i`` goes the way of leaf ``l``'s path at node ``k`` (True off the path)."""
        rounded = np.asarray(X, dtype=np.float32).astype(np.float64)
        left = rounded[:, self.node_feature] <= self.node_threshold  # (n, m)
        return ~self.on_path[None] | (left[:, None, :] == self.goes_left[None])


def tree_paths(tree: object) -> TreePaths:
    """The paths of a fitted ``sklearn.tree.DecisionTreeRegressor`` (see :class:`TreePaths`)."""
    return TreePaths(tree)


def _weights(depth: int) -> tuple[np.ndarray, np.ndarray]:
    """``w_A[p, q] = (p-1)! q! / (p+q)!`` and ``w_B[p, q] = p! (q-1)! / (p+q)!`` (zero where undefined)."""
    w_a = np.zeros((depth + 1, depth + 1))
    w_b = np.zeros((depth + 1, depth + 1))
    for p in range(depth + 1):
        for q in range(depth + 1 - p):
            if p:
                w_a[p, q] = factorial(p - 1) * factorial(q) / factorial(p + q)
            if q:
                w_b[p, q] = factorial(p) * factorial(q - 1) / factorial(p + q)
    return w_a, w_b


def tree_shapley(
    paths: TreePaths, X: np.ndarray, reference: np.ndarray, groups: FeatureGroups | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Exact interventional Shapley values of the tree for rows ``X`` against ``reference`` rows.

    Parameters
    ----------
    paths : TreePaths
        The tree (:func:`tree_paths`).
    X : ndarray of shape (n, d)
        Rows to explain.
    reference : ndarray of shape (r, d)
        Reference (background) rows; the game averages over them.
    groups : FeatureGroups, optional
        Players are these groups (their columns switched together) instead of the columns.

    Returns
    -------
    values : ndarray of shape (n, p)
        One value per player; ``base_values + values.sum(1) == T(X)`` to rounding.
    base_values : ndarray of shape (n,)
        ``mean_z T(z)``.
    """
    d = X.shape[1]
    member = groups.matrix.T.astype(np.float64) if groups is not None else np.eye(d)  # (d, p)
    players = member.shape[1]
    n_leaves, n_nodes = paths.on_path.shape
    # node_group[k, g]: node k splits on a column of player g.
    node_group = member[paths.node_feature] if n_nodes else np.zeros((0, players))
    on = (paths.on_path.astype(np.float64) @ node_group) > 0  # (L, p): player g has splits on l's path

    def follows(rows: np.ndarray) -> np.ndarray:
        """``(rows, L, p)``: the row follows all of the path's splits on player ``g``'s columns."""
        broken = (~paths.followed(rows)).astype(np.float64)  # (n, L, m)
        return (broken @ node_group) == 0

    a_all, b_all = follows(X), follows(reference)
    reaches = b_all.all(axis=2).astype(np.float64)  # (r, L): reference row z reaches leaf l
    base = np.full(X.shape[0], float((reaches @ paths.leaf_value).mean()))
    depth = int(paths.on_path.sum(axis=1).max(initial=0))
    w_a, w_b = _weights(depth)
    values = np.zeros((X.shape[0], players))
    r = reference.shape[0]
    step = max(1, _BLOCK // max(1, r * n_leaves * players))
    for start in range(0, X.shape[0], step):
        a = a_all[start : start + step, None]  # (s, 1, L, p)
        b = b_all[None]  # (1, r, L, p)
        must_in = on & a & ~b
        must_out = on & ~a & b
        dead = (on & ~a & ~b).any(axis=3)  # (s, r, L)
        p, q = must_in.sum(axis=3), must_out.sum(axis=3)
        live = np.where(dead, 0.0, paths.leaf_value)  # (s, r, L)
        up = live * w_a[p, q]
        down = live * w_b[p, q]
        phi = np.einsum("srl,srlg->sg", up, must_in.astype(np.float64))
        phi -= np.einsum("srl,srlg->sg", down, must_out.astype(np.float64))
        values[start : start + step] = phi / r
    return values, base
