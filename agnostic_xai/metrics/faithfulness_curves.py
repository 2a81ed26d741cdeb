"""Deletion and insertion curves: remove (or restore) features in attribution order.

For one row ``x`` with attributions ``φ`` over ``m`` players (columns, or feature groups
removed as a unit), order the players most important first: by **signed** value, largest
first, i.e. the strongest evidence *for* the explained output first (ties keep column order).
With ``v(S)`` the value of the coalition ``S`` of kept players under the shared removal
definition (:mod:`agnostic_xai.removal`; by default the marginal expectation over the
background), and ``T_k`` the first ``k`` players of the order:

* deletion curve  ``D_k = v(N \\ T_k)``, ``k = 0..m`` (from ``f(x)`` down to ``v(∅)``);
* insertion curve ``I_k = v(T_k)``, ``k = 0..m`` (from ``v(∅)`` up to ``f(x)``);
* the area under a curve ``c`` is the trapezoid mean over its ``m`` steps::

      AUC(c) = (1/m) · Σ_{k=1..m} (c_{k-1} + c_k) / 2

  so it is in the units of the explained output.

A faithful explanation makes the deletion curve fall fast (low deletion AUC) and the
insertion curve rise fast (high insertion AUC) (Petsiuk et al. 2018, "RISE: Randomized input
sampling for explanation of black-box models", BMVC; Samek et al. 2017, "Evaluating the
visualization of what a deep neural network has learned", IEEE TNNLS). Signed order is the
usual choice for tabular attributions: removing the features that push the output up must
lower it the most, whereas ``|φ|`` order would mix features pushing up and down.

Both endpoints, ``f(x)`` and ``v(∅)``, are the same for every explainer of a row, so AUCs
of different explainers on the same rows are directly comparable. All rows and all steps are
evaluated in one batched pass.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from ..adapters.base import Adapter
from ..groups import FeatureGroups
from ._removal_utils import (
    RemovalMetric,
    expand_masks,
    explained_output,
    masked_values,
)
from .ranking import rank_players

__all__ = [
    "deletion_curve",
    "insertion_curve",
    "curve_auc",
    "deletion_auc",
    "insertion_auc",
    "deletion_gap",
    "DeletionAUC",
    "InsertionAUC",
    "DeletionGap",
]


def _curve(
    adapter: Adapter,
    X: np.ndarray,
    attributions: np.ndarray,
    target: np.ndarray,
    reference: np.ndarray,
    groups: FeatureGroups | None,
    *,
    insertion: bool,
    least_first: bool,
    full: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray]:
    n, m = attributions.shape
    order = rank_players(attributions, by="signed")
    if least_first:
        order = order[:, ::-1]
    position = np.argsort(order, axis=1)  # position[i, p] = step at which player p is taken
    steps = np.arange(m + 1)[None, :, None]
    taken = position[:, None, :] < steps  # (n, m+1, m): taken within the first k steps
    kept = taken if insertion else ~taken
    masks = expand_masks(kept, groups)
    return masked_values(adapter, X, masks, reference, target, full=full), order


def deletion_curve(
    adapter: Adapter,
    X: np.ndarray,
    attributions: np.ndarray,
    target: np.ndarray,
    reference: np.ndarray,
    *,
    groups: FeatureGroups | None = None,
    least_first: bool = False,
    full: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Deletion curves ``D_k = v(N \\ T_k)``, ``k = 0..m``.

    Parameters
    ----------
    adapter : Adapter
        The model.
    X : ndarray of shape (n, d)
        Validated rows.
    attributions : ndarray of shape (n, m)
        One value per player (column, or group when ``groups`` is given).
    target : int ndarray of shape (n,)
        Explained output of each row.
    reference : ndarray of shape (r, d)
        Reference rows from :func:`agnostic_xai.removal.reference_set`.
    groups : FeatureGroups, optional
        The players' columns; a group is removed as a unit.
    least_first : bool
        Delete in the reverse order (smallest value first).
    full : ndarray of shape (n,), optional
        ``f(x)`` when already known (saves ``n`` model rows).

    Returns
    -------
    curves : ndarray of shape (n, m + 1)
        ``curves[:, 0] = f(x)``, ``curves[:, m] = v(∅)``.
    order : int ndarray of shape (n, m)
        The deletion order of the players.
    """
    return _curve(
        adapter, X, attributions, target, reference, groups, insertion=False, least_first=least_first, full=full
    )


def insertion_curve(
    adapter: Adapter,
    X: np.ndarray,
    attributions: np.ndarray,
    target: np.ndarray,
    reference: np.ndarray,
    *,
    groups: FeatureGroups | None = None,
    full: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Insertion curves ``I_k = v(T_k)``, ``k = 0..m``, starting from all players removed.

    Parameters are those of :func:`deletion_curve`.

    Returns
    -------
    curves : ndarray of shape (n, m + 1)
        ``curves[:, 0] = v(∅)``, ``curves[:, m] = f(x)``.
    order : int ndarray of shape (n, m)
        The insertion order of the players.
    """
    return _curve(adapter, X, attributions, target, reference, groups, insertion=True, least_first=False, full=full)


def curve_auc(curves: np.ndarray) -> np.ndarray:
    """Trapezoid mean of each curve over its ``m`` unit steps: ``(1/m) Σ_k (c_{k-1} + c_k)/2``."""
    curves = np.asarray(curves, dtype=np.float64)
    m = curves.shape[-1] - 1
    if m < 1:
        return curves[..., 0].copy()
    return (curves[..., 1:-1].sum(axis=-1) + 0.5 * (curves[..., 0] + curves[..., -1])) / m


def deletion_auc(
    adapter: Adapter,
    X: np.ndarray,
    attributions: np.ndarray,
    target: np.ndarray,
    reference: np.ndarray,
    *,
    groups: FeatureGroups | None = None,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Area under each row's deletion curve (:func:`curve_auc` of :func:`deletion_curve`).

    Returns
    -------
    scores : ndarray of shape (n,)
    extras : dict
        ``curves`` (n, m + 1) and ``order`` (n, m).
    """
    curves, order = deletion_curve(adapter, X, attributions, target, reference, groups=groups)
    return curve_auc(curves), {"curves": curves, "order": order}


def insertion_auc(
    adapter: Adapter,
    X: np.ndarray,
    attributions: np.ndarray,
    target: np.ndarray,
    reference: np.ndarray,
    *,
    groups: FeatureGroups | None = None,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Area under each row's insertion curve (:func:`curve_auc` of :func:`insertion_curve`).

    Returns scores and extras as :func:`deletion_auc`.
    """
    curves, order = insertion_curve(adapter, X, attributions, target, reference, groups=groups)
    return curve_auc(curves), {"curves": curves, "order": order}


def deletion_gap(
    adapter: Adapter,
    X: np.ndarray,
    attributions: np.ndarray,
    target: np.ndarray,
    reference: np.ndarray,
    *,
    groups: FeatureGroups | None = None,
    normalize: bool = False,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Area between the least-first and the most-first deletion curves.

    ``gap = AUC(D^least) − AUC(D^most)``. Deleting the players in exactly the reverse
    order keeps, after ``k`` steps, the ``m − k`` most important players, so
    ``D^least_k = I_{m−k}`` and the gap equals ``AUC(I) − AUC(D)``: insertion minus deletion
    AUC, computed from one deletion and one insertion curve. It is largest when the most
    important players are the ones that move the output; a random order gives about 0.

    With ``normalize=True`` the gap is divided by ``|f(x) − v(∅)|``, the total change the
    curves travel, which makes it comparable across rows and models (scale-free; 1 is reached
    when removing the top player alone takes the output all the way to ``v(∅)`` and nothing
    else moves it). Rows with ``|f(x) − v(∅)| <= 1e-12 · max(1, |f(x)|)`` then score NaN.

    Returns
    -------
    scores : ndarray of shape (n,)
    extras : dict
        ``deletion_curves`` and ``insertion_curves`` of shape (n, m + 1), ``order`` (n, m).
    """
    full = explained_output(adapter, X, target)
    deletion, order = deletion_curve(adapter, X, attributions, target, reference, groups=groups, full=full)
    insertion, _ = insertion_curve(adapter, X, attributions, target, reference, groups=groups, full=full)
    gap = curve_auc(insertion) - curve_auc(deletion)
    if normalize:
        span = np.abs(deletion[:, 0] - deletion[:, -1])
        tiny = span <= 1e-12 * np.maximum(1.0, np.abs(deletion[:, 0]))
        with np.errstate(divide="ignore", invalid="ignore"):
            gap = np.where(tiny, np.nan, gap / span)
    return gap, {"deletion_curves": deletion, "insertion_curves": insertion, "order": order}


class DeletionAUC(RemovalMetric):
    """Area under the deletion curve (lower is better).

    Players are removed most-positive-attribution first, one per step, under the shared
    removal definition; the score is the trapezoid mean of the explained output over the
    ``m`` steps (see :mod:`agnostic_xai.metrics.faithfulness_curves`). Cost per row:
    ``(m − 1) · r`` model rows (``r`` reference rows) plus ``1``.

    Parameters
    ----------
    removal : {"marginal", "mean", "baseline"}
        What "removed" means (:mod:`agnostic_xai.removal`); use the explainers' choice.
    baseline : array-like of shape (d,), optional
        The reference row for ``removal="baseline"``.

    Notes
    -----
    ``extras``: ``curves`` (n, m + 1) and ``order`` (n, m).
    """

    name: ClassVar[str] = "deletion_auc"
    function = deletion_auc
    higher_is_better: ClassVar[bool] = False


class InsertionAUC(RemovalMetric):
    """Area under the insertion curve (higher is better).

    Starting from every player removed, players are restored most-positive-attribution
    first; the score is the trapezoid mean of the explained output over the ``m`` steps.
    Parameters and cost as :class:`DeletionAUC`.
    """

    name: ClassVar[str] = "insertion_auc"
    function = insertion_auc
    higher_is_better: ClassVar[bool] = True


class DeletionGap(RemovalMetric):
    """Area between the least-first and most-first deletion curves (higher is better).

    Equal to insertion AUC minus deletion AUC (see :func:`deletion_gap`); about 0 for a
    random order and negative for an anti-faithful one.

    Parameters
    ----------
    removal, baseline
        As :class:`DeletionAUC`.
    normalize : bool
        Divide by ``|f(x) − v(∅)|`` to make the score scale-free (rows where the output
        does not move at all score NaN).
    """

    name: ClassVar[str] = "deletion_gap"
    function = deletion_gap
    config = ("normalize",)
    higher_is_better: ClassVar[bool] = True

    def __init__(self, *, removal: str = "marginal", baseline: Any = None, normalize: bool = False) -> None:
        super().__init__(removal=removal, baseline=baseline)
        self.normalize = normalize
