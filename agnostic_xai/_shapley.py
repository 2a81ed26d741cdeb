"""Exact Shapley values by enumeration: the one implementation behind the oracle and the explainer.

:func:`agnostic_xai.testing.exact_shapley` (the test oracle) and the ``exact_shapley``
explainer both call :func:`enumerate_shapley`, so they cannot drift apart. It lives outside
:mod:`agnostic_xai.testing` so that explainers do not import the torch reference models.
"""

from __future__ import annotations

from math import comb

import numpy as np

from .adapters.base import Adapter
from .exceptions import BudgetError
from .groups import FeatureGroups
from .removal import coalition_values

__all__ = ["MAX_EXACT_FEATURES", "coalition_matrix", "shapley_weights", "check_exact_budget", "enumerate_shapley"]

#: Default largest number of features (or groups) enumerated: 2**16 coalitions.
MAX_EXACT_FEATURES = 16


def coalition_matrix(n_players: int) -> np.ndarray:
    """All ``2**n_players`` coalitions as a boolean ``(2**p, p)`` matrix; row ``j`` is the bits of ``j``."""
    codes = np.arange(2**n_players, dtype=np.int64)
    return ((codes[:, None] >> np.arange(n_players)) & 1).astype(bool)


def shapley_weights(coalitions: np.ndarray) -> np.ndarray:
    """Matrix ``W`` with ``φ = v @ W`` for coalition values ``v`` over all coalitions.

    ``W[S, i] = w(|S| - 1)`` when ``i ∈ S`` and ``-w(|S|)`` otherwise, with
    ``w(s) = s! (p - s - 1)! / p! = 1 / (p * C(p - 1, s))``.
    """
    p = coalitions.shape[1]
    sizes = coalitions.sum(axis=1)
    w = np.array([1.0 / (p * comb(p - 1, s)) for s in range(p)] + [0.0])
    inside = w[np.maximum(sizes - 1, 0)][:, None]
    outside = -w[sizes][:, None]
    return np.where(coalitions, inside, outside)


def check_exact_budget(n_players: int, max_features: int) -> None:
    """Refuse to enumerate more than ``2**max_features`` coalitions, naming the cheaper alternatives.

    Raises
    ------
    BudgetError
        When ``n_players > max_features``.
    """
    if n_players > max_features:
        raise BudgetError(
            f"Exact Shapley values enumerate 2**{n_players} coalitions, above the limit of 2**{max_features} "
            f"(max_features={max_features}). Use a sampling estimator (permutation_shap, kernel_shap), or "
            "group the columns (FeatureGroups) so that at most max_features groups are enumerated."
        )


def enumerate_shapley(
    adapter: Adapter,
    X: np.ndarray,
    reference: np.ndarray,
    target: np.ndarray,
    *,
    groups: FeatureGroups | None = None,
    max_rows: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Exact Shapley values of validated rows against a reference set.

    Every row is evaluated under all ``2**p`` coalitions of its ``p`` players (columns, or
    groups removed as a unit) in one batched :func:`~agnostic_xai.removal.coalition_values`
    call, and::

        φ_i = Σ_{S ⊆ N \\ {i}} |S|! (p - |S| - 1)! / p! · (v(S ∪ {i}) - v(S))

    Parameters
    ----------
    adapter : Adapter
        The model.
    X : ndarray of shape (n, d)
        Validated rows.
    reference : ndarray of shape (r, d)
        Reference rows from :func:`~agnostic_xai.removal.reference_set`.
    target : int ndarray of shape (n,)
        Explained output of each row.
    groups : FeatureGroups, optional
        Players are these groups instead of the columns.
    max_rows : int, optional
        Model rows per evaluation block. None: 65,536, or 2**20 for a torch model on a CUDA device (:func:`agnostic_xai.removal.block_rows`).

    Returns
    -------
    values : ndarray of shape (n, p)
    base_values : ndarray of shape (n,)
        ``v(∅)``; ``base_values + values.sum(1) == f_target(X)`` up to rounding.
    """
    players = groups.n_groups if groups is not None else X.shape[1]
    coalitions = coalition_matrix(players)
    masks = groups.expand(coalitions) if groups is not None else coalitions
    v = coalition_values(adapter, X, masks, reference, target, max_rows=max_rows)
    return v @ shapley_weights(coalitions), v[:, 0]
