"""Correlation-type faithfulness: do attributions predict the effect of removing features?

Three metrics, each a per-row correlation between what the attribution claims and what
the model does when players (columns, or feature groups removed as a unit) are removed
under the shared removal definition (:mod:`agnostic_xai.removal`). ``v(S)`` is the value
of the coalition ``S`` of kept players, ``N`` all players, ``f(x) = v(N)``.

* :func:`faithfulness_correlation` (Bhatt et al. 2020): Pearson over random subsets.
* :func:`faithfulness_estimate` (Alvarez-Melis & Jaakkola 2018): Pearson over single players.
* :func:`monotonicity` (Nguyen & Martínez 2020): Spearman between ``|φ|`` and the expected
  squared output change when a player is resampled.

All three lie in [-1, 1], higher is better, and are NaN for a row where one side of the
correlation is constant (for example an all-zero attribution).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from .._checks import check_int
from ..adapters.base import Adapter
from ..exceptions import InvalidInputError
from ..groups import FeatureGroups
from ._removal_utils import (
    RemovalMetric,
    expand_masks,
    explained_output,
    masked_outputs,
    masked_values,
    random_subsets,
)
from ._rng import row_random
from .ranking import resolve_count, rowwise_pearson, rowwise_spearman

__all__ = [
    "faithfulness_correlation",
    "faithfulness_estimate",
    "monotonicity",
    "FaithfulnessCorrelation",
    "FaithfulnessEstimate",
    "Monotonicity",
]


def _check_players(m: int, what: str) -> None:
    if m < 2:
        raise InvalidInputError(f"{what} correlates over features and needs at least 2 features (or groups), got {m}.")


def _single_removal_masks(n: int, m: int) -> np.ndarray:
    """``(n, m, m)`` player masks: coalition ``i`` keeps every player but ``i``."""
    return np.broadcast_to(~np.eye(m, dtype=bool), (n, m, m))


def faithfulness_correlation(
    adapter: Adapter,
    X: np.ndarray,
    attributions: np.ndarray,
    target: np.ndarray,
    reference: np.ndarray,
    *,
    groups: FeatureGroups | None = None,
    n_subsets: int = 50,
    subset_size: int | float = 0.25,
    random_state: Any = 0,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Faithfulness correlation (Bhatt, Weller & Moura 2020, IJCAI, "Evaluating and aggregating
    feature-based model explanations").

    For each row draw ``K = n_subsets`` uniformly random subsets ``S_k`` of ``s`` players and
    return::

        ρ = Pearson_k( Σ_{i ∈ S_k} φ_i ,  f(x) − v(N \\ S_k) )

    Parameters
    ----------
    adapter, X, attributions, target, reference, groups
        As :func:`agnostic_xai.metrics.faithfulness_curves.deletion_curve`.
    n_subsets : int
        Subsets per row (at least 2).
    subset_size : int or float
        Players per subset: an int, or a fraction of the ``m`` players in (0, 1]
        (``ceil(subset_size · m)``, at least 1); at most ``m − 1``.
    random_state : int, Generator or None
        Seed of the subset draws.

    Returns
    -------
    scores : ndarray of shape (n,)
    extras : dict
        ``subsets`` (n, K, m) bool, ``attribution_sums`` and ``output_drops`` (n, K).
    """
    n, m = attributions.shape
    _check_players(m, "faithfulness_correlation")
    n_subsets = check_int(n_subsets, "n_subsets", minimum=2)
    size = resolve_count(subset_size, m, "subset_size", upper=m - 1)
    subsets = random_subsets(row_random(random_state, n), n, n_subsets, m, size)
    masks = expand_masks(~subsets, groups)
    drops = explained_output(adapter, X, target)[:, None] - masked_values(adapter, X, masks, reference, target)
    sums = (subsets * attributions[:, None, :]).sum(axis=-1)
    return rowwise_pearson(sums, drops), {"subsets": subsets, "attribution_sums": sums, "output_drops": drops}


def faithfulness_estimate(
    adapter: Adapter,
    X: np.ndarray,
    attributions: np.ndarray,
    target: np.ndarray,
    reference: np.ndarray,
    *,
    groups: FeatureGroups | None = None,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Faithfulness estimate (Alvarez-Melis & Jaakkola 2018, NeurIPS, "Towards robust
    interpretability with self-explaining neural networks").

    The Pearson correlation, over the players ``i``, of the attribution and the output drop
    when that player alone is removed::

        ρ = Pearson_i( φ_i ,  f(x) − v(N \\ {i}) )

    Returns
    -------
    scores : ndarray of shape (n,)
    extras : dict
        ``output_drops`` (n, m).
    """
    n, m = attributions.shape
    _check_players(m, "faithfulness_estimate")
    masks = expand_masks(_single_removal_masks(n, m), groups)
    drops = explained_output(adapter, X, target)[:, None] - masked_values(adapter, X, masks, reference, target)
    return rowwise_pearson(attributions, drops), {"output_drops": drops}


def monotonicity(
    adapter: Adapter,
    X: np.ndarray,
    attributions: np.ndarray,
    target: np.ndarray,
    reference: np.ndarray,
    *,
    groups: FeatureGroups | None = None,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Monotonicity correlation (Nguyen & Martínez 2020, "On quantitative aspects of model
    interpretability", arXiv:2007.07584).

    The Spearman correlation, over the players ``i``, of ``|φ_i|`` and the effect of player
    ``i``: the expected squared change of the output when its columns are replaced by those
    of a reference row ``r`` (a draw from the background under marginal removal)::

        e_i = mean_{r ∈ R} ( f(x) − f(x_{N∖{i}}, r_i) )²
        ρ   = Spearman_i( |φ_i| , e_i )

    The squared change (a variance about ``f(x)``) follows the paper; with a single
    reference row (``"mean"``/``"baseline"`` removal) ``e_i`` is a monotone function of
    ``|f(x) − v(N∖{i})|``. Ties take average ranks.

    Returns
    -------
    scores : ndarray of shape (n,)
    extras : dict
        ``effects`` (n, m): ``e_i``.
    """
    n, m = attributions.shape
    _check_players(m, "monotonicity")
    masks = expand_masks(_single_removal_masks(n, m), groups)
    outputs = masked_outputs(adapter, X, masks, reference, target)
    effects = ((explained_output(adapter, X, target)[:, None, None] - outputs) ** 2).mean(axis=-1)
    return rowwise_spearman(np.abs(attributions), effects), {"effects": effects}


class FaithfulnessCorrelation(RemovalMetric):
    """Pearson correlation of attribution sums and output drops over random subsets (higher is better).

    See :func:`faithfulness_correlation`. Cost per row: ``n_subsets · r`` model rows
    (``r`` reference rows) plus 1.

    Parameters
    ----------
    n_subsets : int
        Random subsets per row.
    subset_size : int or float
        Players removed per subset (int, or fraction of the players, rounded up).
    removal : {"marginal", "mean", "baseline"}
        What "removed" means (:mod:`agnostic_xai.removal`).
    baseline : array-like of shape (d,), optional
        The reference row for ``removal="baseline"``.
    random_state : int, Generator or None
    """

    name: ClassVar[str] = "faithfulness_correlation"
    function = faithfulness_correlation
    config = ("n_subsets", "subset_size", "random_state")
    is_stochastic: ClassVar[bool] = True

    def __init__(
        self,
        *,
        n_subsets: int = 50,
        subset_size: int | float = 0.25,
        removal: str = "marginal",
        baseline: Any = None,
        random_state: Any = 0,
    ) -> None:
        super().__init__(removal=removal, baseline=baseline)
        self.n_subsets = n_subsets
        self.subset_size = subset_size
        self.random_state = random_state


class FaithfulnessEstimate(RemovalMetric):
    """Pearson correlation of attributions and single-player output drops (higher is better).

    See :func:`faithfulness_estimate`. Cost per row: ``m · r`` model rows plus 1.

    Parameters
    ----------
    removal, baseline
        As :class:`FaithfulnessCorrelation`.
    """

    name: ClassVar[str] = "faithfulness_estimate"
    function = faithfulness_estimate


class Monotonicity(RemovalMetric):
    """Spearman correlation of ``|φ|`` and each player's expected squared effect (higher is better).

    See :func:`monotonicity`. Cost per row: ``m · r`` model rows plus 1.

    Parameters
    ----------
    removal, baseline
        As :class:`FaithfulnessCorrelation`.
    """

    name: ClassVar[str] = "monotonicity"
    function = monotonicity
