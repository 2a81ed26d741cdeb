"""Exact oracles: Shapley values by full enumeration, and closed forms."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from .._shapley import MAX_EXACT_FEATURES, check_exact_budget, coalition_matrix, enumerate_shapley, shapley_weights
from ..adapters import wrap
from ..attribution import Attribution
from ..exceptions import InvalidInputError
from ..groups import FeatureGroups
from ..removal import reference_set

__all__ = ["exact_shapley", "linear_shapley", "coalition_matrix", "shapley_weights", "MAX_EXACT_FEATURES"]


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


def linear_shapley(weights: Any, X: Any, background: Any) -> np.ndarray:
    """Closed-form interventional Shapley values of a linear model: ``w_i (x_i - mean(background_i))``."""
    w = np.asarray(weights, dtype=np.float64).reshape(-1)
    X = np.asarray(X, dtype=np.float64)
    return w * (X - np.asarray(background, dtype=np.float64).mean(axis=0))
