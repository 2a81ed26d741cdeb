"""Prediction gaps on important and unimportant features (PGI, PGU; OpenXAI).

Agarwal, Krishna, Saxena, Pawelczyk, Johnson, Puri, Zitnik & Lakkaraju (2022), "OpenXAI:
Towards a transparent evaluation of model explanations", NeurIPS Datasets and Benchmarks.
For a row ``x``, the top-``k`` players ``T`` by **absolute** attribution (noise has no
direction, so the size of an attribution is what matters; ties in column order), and
Gaussian noise ``ε ~ N(0, diag((noise_scale · std_j)²))`` with ``std_j`` the background's
per-column standard deviation::

    PGI = mean_k | f(x) − f(x + ε_k ⊙ 1[columns of T]) |        (higher is better)
    PGU = mean_k | f(x) − f(x + ε_k ⊙ 1[columns not in T]) |    (lower is better)

over ``K = n_perturbations`` draws. A group's columns are perturbed together (each column
with its own noise). With the same ``random_state`` PGI and PGU use the same noise draws, row
by row (one generator per row, :mod:`agnostic_xai.metrics._rng`); in ``compare`` both are
seeded under the key ``"prediction_gap"``, so they always share them.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from ..adapters.base import Adapter
from ..attribution import Attribution
from ..groups import FeatureGroups
from ._removal_utils import (
    FaithfulnessMetric,
    check_positive_float,
    check_positive_int,
    expand_masks,
    explained_output,
    gaussian_scale,
    rank_players,
    resolve_count,
    top_k_masks,
)
from ._rng import row_random

__all__ = ["prediction_gap", "PGI", "PGU"]


def prediction_gap(
    adapter: Adapter,
    X: np.ndarray,
    attributions: np.ndarray,
    target: np.ndarray,
    scale: np.ndarray,
    *,
    groups: FeatureGroups | None = None,
    k: int | float = 0.25,
    important: bool = True,
    n_perturbations: int = 50,
    random_state: Any = 0,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Mean absolute output change when the top-``k`` (or all other) players get Gaussian noise.

    Parameters
    ----------
    adapter, X, attributions, target, groups
        As :func:`agnostic_xai.metrics.faithfulness_curves.deletion_curve`.
    scale : ndarray of shape (d,)
        Noise standard deviation of each column.
    k : int or float
        Number of top players: an int in [1, m] (``[1, m − 1]`` for PGU), or a fraction in
        (0, 1] (rounded up).
    important : bool
        True perturbs the top-``k`` players (PGI); False perturbs the others (PGU).
    n_perturbations : int
        Noise draws per row.
    random_state : int, Generator or None
        Seed of the noise; row ``i`` draws from its own stream (:func:`~agnostic_xai.metrics._rng.row_random`).

    Returns
    -------
    scores : ndarray of shape (n,)
    extras : dict
        ``k`` (the number of top players) and ``perturbed`` (n, d) bool: the columns perturbed.
    """
    n, m = attributions.shape
    d = X.shape[1]
    # PGU needs at least one player outside the top k.
    count = resolve_count(k, m, "k", upper=m if important else m - 1)
    n_perturbations = check_positive_int(n_perturbations, "n_perturbations")
    top = top_k_masks(rank_players(attributions, by="absolute"), count)
    columns = expand_masks(top if important else ~top, groups)
    noise = row_random(random_state, n).standard_normal((n, n_perturbations, d)) * scale
    perturbed = X[:, None, :] + noise * columns[:, None, :]
    outputs = adapter._predict_validated(perturbed.reshape(n * n_perturbations, d))
    changed = outputs[np.arange(n * n_perturbations), np.repeat(target, n_perturbations)].reshape(n, n_perturbations)
    scores = np.abs(explained_output(adapter, X, target)[:, None] - changed).mean(axis=1)
    return scores, {"k": count, "perturbed": columns}


class _PredictionGap(FaithfulnessMetric):
    _important: ClassVar[bool] = True
    draws: ClassVar[str] = "prediction_gap"  # PGI and PGU perturb with the same noise

    def __init__(
        self, *, k: int | float = 0.25, noise_scale: float = 0.1, n_perturbations: int = 50, random_state: Any = 0
    ) -> None:
        self.k = k
        self.noise_scale = noise_scale
        self.n_perturbations = n_perturbations
        self.random_state = random_state

    def _score(
        self, attribution: Attribution, adapter: Adapter, background: np.ndarray, explainer: Any
    ) -> tuple[np.ndarray, dict[str, Any]]:
        ctx = self._context(attribution, adapter)
        return prediction_gap(
            adapter,
            ctx.X,
            ctx.values,
            ctx.target,
            gaussian_scale(background, check_positive_float(self.noise_scale, "noise_scale")),
            groups=attribution.groups,
            k=self.k,
            important=self._important,
            n_perturbations=self.n_perturbations,
            random_state=self.random_state,
        )


class PGI(_PredictionGap):
    """Prediction gap on important features: output change when the top-``k`` get noise (higher is better).

    See :mod:`agnostic_xai.metrics.prediction_gap`. Cost per row: ``n_perturbations + 1`` model rows.

    Parameters
    ----------
    k : int or float
        Top players by ``|φ|``: an int, or a fraction of the features (or groups), rounded up.
    noise_scale : float
        Noise std as a fraction of each column's background std.
    n_perturbations : int
        Noise draws per row.
    random_state : int, Generator or None
    """

    name: ClassVar[str] = "pgi"
    higher_is_better: ClassVar[bool] = True
    _important: ClassVar[bool] = True


class PGU(_PredictionGap):
    """Prediction gap on unimportant features: output change when all but the top-``k`` get noise
    (lower is better).

    See :mod:`agnostic_xai.metrics.prediction_gap`; parameters and cost as :class:`PGI`.
    """

    name: ClassVar[str] = "pgu"
    higher_is_better: ClassVar[bool] = False
    _important: ClassVar[bool] = False
