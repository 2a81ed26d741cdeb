"""Comprehensiveness and sufficiency of the top-ranked features (DeYoung et al. 2020).

DeYoung, Jain, Rajani, Lehman, Xiong, Socher & Wallace (2020), "ERASER: A benchmark to
evaluate rationalized NLP models", ACL; averaged over several rationale sizes ("AOPC") as
in ferret (Attanasio et al. 2023). On tables the *rationale* ``T_k`` of a row is its top
``ceil(k · m)`` players (at least one), ranked by **signed** attribution, largest first (the
strongest evidence for the explained output), ties in column order. With ``v(S)`` the value
of the coalition ``S`` of kept players under the shared removal definition
(:mod:`agnostic_xai.removal`), ``N`` all players and ``f(x) = v(N)``::

    comprehensiveness = mean_k [ f(x) − v(N ∖ T_k) ]    (remove the rationale; higher is better)
    sufficiency       = mean_k [ f(x) − v(T_k) ]        (keep only the rationale; lower is better)

averaged over the fractions ``k`` (default 0.1, 0.2, 0.3, 0.4, 0.5). Both are in the units
of the explained output; a groups' columns are removed or kept together.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from ..adapters.base import Adapter
from ..groups import FeatureGroups
from ._removal_utils import (
    RemovalMetric,
    check_fractions,
    expand_masks,
    explained_output,
    masked_values,
)
from .ranking import n_from_fraction, rank_players

__all__ = ["rationale_drops", "comprehensiveness", "sufficiency", "Comprehensiveness", "Sufficiency"]

DEFAULT_FRACTIONS = (0.1, 0.2, 0.3, 0.4, 0.5)


def rationale_drops(
    adapter: Adapter,
    X: np.ndarray,
    attributions: np.ndarray,
    target: np.ndarray,
    reference: np.ndarray,
    *,
    groups: FeatureGroups | None = None,
    fractions: Sequence[float] = DEFAULT_FRACTIONS,
    keep: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Output drops ``f(x) − v(·)`` when the top players are removed (or, ``keep=True``, kept alone).

    Parameters
    ----------
    adapter, X, attributions, target, reference, groups
        As :func:`agnostic_xai.metrics.faithfulness_curves.deletion_curve`.
    fractions : sequence of float in (0, 1]
        Rationale sizes, as fractions of the players (rounded up, at least one).
    keep : bool
        False: ``f(x) − v(N ∖ T_k)`` (comprehensiveness); True: ``f(x) − v(T_k)`` (sufficiency).

    Returns
    -------
    drops : ndarray of shape (n, len(fractions))
    sizes : int ndarray of shape (len(fractions),)
        ``|T_k|`` for each fraction.
    """
    n, m = attributions.shape
    fractions = check_fractions(fractions, "fractions")
    sizes = np.array([n_from_fraction(f, m) for f in fractions])
    position = np.argsort(rank_players(attributions, by="signed"), axis=1)
    in_rationale = position[:, None, :] < sizes[None, :, None]  # (n, F, m)
    kept = in_rationale if keep else ~in_rationale
    masks = expand_masks(kept, groups)
    full = explained_output(adapter, X, target)
    return full[:, None] - masked_values(adapter, X, masks, reference, target, full=full), sizes


def comprehensiveness(
    adapter: Adapter,
    X: np.ndarray,
    attributions: np.ndarray,
    target: np.ndarray,
    reference: np.ndarray,
    *,
    groups: FeatureGroups | None = None,
    fractions: Sequence[float] = DEFAULT_FRACTIONS,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Mean output drop when the top-``k`` players are removed: ``mean_k [f(x) − v(N ∖ T_k)]``.

    Returns
    -------
    scores : ndarray of shape (n,)
    extras : dict
        ``drops`` (n, F) per fraction and ``sizes`` (F,).
    """
    drops, sizes = rationale_drops(adapter, X, attributions, target, reference, groups=groups, fractions=fractions)
    return drops.mean(axis=1), {"drops": drops, "sizes": sizes}


def sufficiency(
    adapter: Adapter,
    X: np.ndarray,
    attributions: np.ndarray,
    target: np.ndarray,
    reference: np.ndarray,
    *,
    groups: FeatureGroups | None = None,
    fractions: Sequence[float] = DEFAULT_FRACTIONS,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Mean output drop when only the top-``k`` players are kept: ``mean_k [f(x) − v(T_k)]``.

    Returns
    -------
    scores : ndarray of shape (n,)
    extras : dict
        ``drops`` (n, F) per fraction and ``sizes`` (F,).
    """
    drops, sizes = rationale_drops(
        adapter, X, attributions, target, reference, groups=groups, fractions=fractions, keep=True
    )
    return drops.mean(axis=1), {"drops": drops, "sizes": sizes}


class _RationaleMetric(RemovalMetric):
    config = ("fractions",)

    def __init__(
        self, *, fractions: Sequence[float] = DEFAULT_FRACTIONS, removal: str = "marginal", baseline: Any = None
    ) -> None:
        super().__init__(removal=removal, baseline=baseline)
        self.fractions = fractions


class Comprehensiveness(_RationaleMetric):
    """Mean output drop when the top-ranked features are removed (higher is better).

    See :mod:`agnostic_xai.metrics.rationale`. Cost per row: at most ``len(fractions) · r``
    model rows (``r`` reference rows) plus 1.

    Parameters
    ----------
    fractions : sequence of float in (0, 1]
        Rationale sizes as fractions of the features (or groups), rounded up.
    removal : {"marginal", "mean", "baseline"}
        What "removed" means (:mod:`agnostic_xai.removal`).
    baseline : array-like of shape (d,), optional
        The reference row for ``removal="baseline"``.
    """

    name: ClassVar[str] = "comprehensiveness"
    function = comprehensiveness
    higher_is_better: ClassVar[bool] = True


class Sufficiency(_RationaleMetric):
    """Mean output drop when only the top-ranked features are kept (lower is better).

    See :mod:`agnostic_xai.metrics.rationale`; parameters and cost as :class:`Comprehensiveness`.
    """

    name: ClassVar[str] = "sufficiency"
    function = sufficiency
    higher_is_better: ClassVar[bool] = False
