"""Exact Shapley values by enumeration: the one implementation behind the oracle, the explainer and the ground truth.

This module owns the exact-enumeration limit (:data:`MAX_EXACT_FEATURES`), the refusal above
it, the enumeration (:func:`enumerate_shapley`) and the whole-call oracle
(:func:`exact_shapley`: wrap, validate, resolve the target, enumerate, record). The
``exact_shapley`` explainer, the ground truth of ``compare`` and the ``shapley_*`` metrics
use them here; :mod:`agnostic_xai.testing` re-exports :func:`exact_shapley` and the
coalition helpers for users' tests, and production code never imports ``testing``.
"""

from __future__ import annotations

import time
from math import comb
from typing import Any

import numpy as np

from .adapters import wrap
from .adapters.base import Adapter
from .attribution import Attribution
from .exceptions import BudgetError, InvalidInputError
from .groups import FeatureGroups
from .removal import coalition_values, reference_set

__all__ = [
    "MAX_EXACT_FEATURES",
    "coalition_matrix",
    "shapley_weights",
    "exact_budget_message",
    "check_exact_budget",
    "enumerate_shapley",
    "exact_shapley",
]

#: The one exact-enumeration limit of the project: the default ``max_features`` of the
#: ``exact_shapley``/``exact_shap`` explainers, of :func:`exact_shapley`
#: (re-exported by :mod:`agnostic_xai.testing`) and of the ``shapley_*`` ground-truth metrics, and the default ``exact_limit`` of
#: ``compare`` (which skips exact explainers and the ground truth above it) and so of the
#: command line and of ``review`` (whose exact-value checks are "not evaluable" above it).
#: 16 players are ``2**16`` coalitions per row and background row: about 0.5 s per
#: explained row for a 16 -> 64 -> 64 -> 2 MLP with 50 background rows on 2 CPU cores, in
#: blocks of bounded memory (``benchmarks/memory.py``); each player more doubles that.
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


def exact_budget_message(n_players: int, max_features: int, *, grouped: bool, who: str = "Exact Shapley values") -> str:
    """Why ``n_players`` are not enumerated, and what to do instead.

    Grouping columns is suggested only when the players are columns: players that are
    already groups can only be enumerated at a higher cost or estimated by sampling.

    Parameters
    ----------
    n_players : int
        Features, or groups when ``grouped``.
    max_features : int
        The limit in force.
    grouped : bool
        Whether the players are feature groups.
    who : str
        What refuses (the start of the sentence).
    """
    players = "groups" if grouped else "features"
    advice = (
        f"Raise max_features to {n_players} if you can afford 2**{n_players} coalitions per row and background "
        "row, or use sampling_shapley, permutation_shap or kernel_shap as the reference"
    )
    if not grouped:
        advice += ", or group the columns (FeatureGroups) into at most max_features groups"
    return (
        f"{who} enumerate 2**{n_players} coalitions of {n_players} {players}, above the limit of "
        f"2**{max_features} (max_features={max_features}). {advice}."
    )


def check_exact_budget(n_players: int, max_features: int, *, grouped: bool = False) -> None:
    """Refuse to enumerate more than ``2**max_features`` coalitions, naming the cheaper alternatives.

    Raises
    ------
    BudgetError
        When ``n_players > max_features``; the message is :func:`exact_budget_message`.
    """
    if n_players > max_features:
        raise BudgetError(exact_budget_message(n_players, max_features, grouped=grouped))


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


def exact_shapley(
    adapter: Any,
    X: Any,
    background: Any,
    target: Any = None,
    *,
    groups: FeatureGroups | None = None,
    removal: str = "marginal",
    baseline: Any = None,
    max_features: int = MAX_EXACT_FEATURES,
    max_rows: int | None = None,
) -> Attribution:
    """Exact Shapley values by enumerating every coalition of features (or groups).

    The value of a coalition ``S`` for row ``x`` is ``v(S) = mean_r f_t(x_S, r_{S̄})`` over the
    reference rows of the removal strategy (the background for ``"marginal"``: the
    interventional Shapley values of Janzing et al. 2020, which SHAP estimates), and::

        φ_i = Σ_{S ⊆ N \\ {i}} |S|! (p - |S| - 1)! / p! · (v(S ∪ {i}) - v(S))

    All rows and all ``2**p`` coalitions are evaluated in blocks of ``max_rows`` model rows.
    Efficiency holds by construction: ``v(∅) + Σφ = f(x)``.

    Parameters
    ----------
    adapter : Adapter or model
        The model (anything :func:`agnostic_xai.wrap` accepts).
    X : array-like of shape (n, d)
        Rows to explain.
    background : array-like of shape (b, d)
        Background rows.
    target : int, array of shape (n,) or None
        Explained output; None is the predicted class (output 0 for regression).
    groups : FeatureGroups, optional
        Explain groups of columns (removed together) instead of single columns.
    removal : {"marginal", "mean", "baseline"}
        See :mod:`agnostic_xai.removal`.
    baseline : array-like, optional
        The reference row for ``removal="baseline"``.
    max_features : int, default=MAX_EXACT_FEATURES (16)
        Refuse more features (or groups) than this (:class:`~agnostic_xai.exceptions.BudgetError`).
    max_rows : int, optional
        Model rows per evaluation block. None: 65,536, or 2**20 for a torch model on a CUDA device (:func:`agnostic_xai.removal.block_rows`).

    Returns
    -------
    Attribution
        ``base_values`` is ``v(∅)``.
    """
    start = time.perf_counter()
    adapter = wrap(adapter)
    X = adapter.validate(X)
    reference = reference_set(removal, background, baseline, n_features=adapter.n_features)
    if groups is not None:
        if groups.n_features != adapter.n_features:
            raise InvalidInputError(f"groups cover {groups.n_features} columns; the model has {adapter.n_features}.")
        players, names = groups.n_groups, groups.names
    else:
        players = adapter.n_features
        names = adapter.feature_names or tuple(f"x{i}" for i in range(players))
    check_exact_budget(players, max_features, grouped=groups is not None)
    rows_before = adapter.rows_evaluated
    targets = adapter.resolve_target(target, X)
    phi, base = enumerate_shapley(adapter, X, reference, targets, groups=groups, max_rows=max_rows)
    return Attribution(
        values=phi,
        base_values=base,
        data=X,
        target=targets,
        feature_names=names,
        method="exact_shapley",
        params={"removal": removal, "n_reference": int(reference.shape[0])},
        output=adapter.output,
        seconds=time.perf_counter() - start,
        model_rows=adapter.rows_evaluated - rows_before,
        groups=groups,
    )
