"""Prediction gaps on important and unimportant features (PGI, PGU; OpenXAI).

Agarwal, Krishna, Saxena, Pawelczyk, Johnson, Puri, Zitnik & Lakkaraju (2022), "OpenXAI:
Towards a transparent evaluation of model explanations", NeurIPS Datasets and Benchmarks.
For a row ``x``, the top-``k`` players ``T`` by **absolute** attribution (noise has no
direction, so the size of an attribution is what matters; ties in column order), and
``K = n_perturbations`` perturbed copies ``x'_k`` of ``x`` in which only the columns of
``T`` (PGI) or only the others (PGU) change::

    PGI = mean_k | f(x) − f(x'_k) |,  columns of T perturbed        (higher is better)
    PGU = mean_k | f(x) − f(x'_k) |,  columns not in T perturbed    (lower is better)

The perturbation (``perturbation=``) is one of

``"tabular"`` (default)
    by column type (:mod:`agnostic_xai.columns`): continuous columns get
    ``N(0, (noise_scale · std_j)²)`` with ``std_j`` the background's standard deviation,
    integer columns the same noise rounded and kept in range, binary columns flip and
    one-hot groups switch category with probability ``flip_probability``. Gaussian noise
    alone never changes a category, so on a table of mostly binary and one-hot columns PGI
    and PGU would both measure the few continuous columns and come out nearly equal.
``"gaussian"``
    ``N(0, (noise_scale · std_j)²)`` on every perturbed column, whatever its type.
``"openxai"``
    OpenXAI's ``NormalPerturbation``: ``N(0, noise_scale²)`` (one absolute scale, for
    tables min-max scaled to [0, 1]) on non-binary columns, and every binary or one-hot
    column flipped on its own with probability ``flip_probability``.

A group's columns are perturbed together. With the same ``random_state`` PGI and PGU use the
same draws, row by row (one generator per row, :mod:`agnostic_xai.metrics._rng`); in
``compare`` both are seeded under the key ``"prediction_gap"``, so they always share them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from .._checks import check_float, check_int
from ..adapters.base import Adapter
from ..attribution import Attribution
from ..columns import ColumnTypes, perturb
from ..groups import FeatureGroups
from ._perturbation import column_types_of, flip_probability_of, noise_scale_of, resolve_kind
from ._removal_utils import (
    FaithfulnessMetric,
    expand_masks,
    explained_output,
)
from ._rng import row_random
from .ranking import resolve_count, top_k_mask

__all__ = ["prediction_gap", "PGI", "PGU", "PERTURBATIONS"]

#: ``perturbation`` names of PGI/PGU and the :func:`agnostic_xai.columns.perturb` kind of each.
PERTURBATIONS = {"tabular": "tabular", "gaussian": "continuous", "openxai": "openxai"}


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
    column_types: ColumnTypes | None = None,
    perturbation: str = "tabular",
    flip_probability: float = 0.0,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Mean absolute output change when the top-``k`` (or all other) players are perturbed.

    Parameters
    ----------
    adapter, X, attributions, target, groups
        As :func:`agnostic_xai.metrics.faithfulness_curves.deletion_curve`.
    scale : ndarray of shape (d,)
        Noise standard deviation of each (continuous or integer) column.
    k : int or float
        Number of top players: an int in [1, m] (``[1, m − 1]`` for PGU), or a fraction in
        (0, 1] (rounded up).
    important : bool
        True perturbs the top-``k`` players (PGI); False perturbs the others (PGU).
    n_perturbations : int
        Noise draws per row.
    random_state : int, Generator or None
        Seed of the noise; row ``i`` draws from its own stream (:func:`~agnostic_xai.metrics._rng.row_random`).
    column_types : ColumnTypes, optional
        Needed by ``"tabular"`` and ``"openxai"``; None treats every column as continuous.
    perturbation : {"tabular", "gaussian", "openxai"}
        See the module docstring.
    flip_probability : float
        Probability that a perturbed binary column flips (a one-hot group switches).

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
    n_perturbations = check_int(n_perturbations, "n_perturbations", minimum=1)
    top = top_k_mask(attributions, count)
    columns = expand_masks(top if important else ~top, groups)
    kind = resolve_kind(perturbation, PERTURBATIONS, "prediction_gap")
    if column_types is None:
        column_types, kind = ColumnTypes(tuple(f"x{j}" for j in range(d)), ("continuous",) * d), "continuous"
    perturbed = perturb(
        row_random(random_state, n), X, n_perturbations, column_types, scale=scale,
        flip_probability=flip_probability, kind=kind, columns=columns,
    )
    outputs = adapter.evaluate(perturbed.reshape(n * n_perturbations, d))
    changed = outputs[np.arange(n * n_perturbations), np.repeat(target, n_perturbations)].reshape(n, n_perturbations)
    scores = np.abs(explained_output(adapter, X, target)[:, None] - changed).mean(axis=1)
    return scores, {"k": count, "perturbed": columns}


class _PredictionGap(FaithfulnessMetric):
    _important: ClassVar[bool] = True
    draws: ClassVar[str] = "prediction_gap"  # PGI and PGU perturb with the same noise
    function = prediction_gap
    config = ("k", "n_perturbations", "random_state", "perturbation")
    is_stochastic: ClassVar[bool] = True

    def __init__(
        self,
        *,
        k: int | float = 0.25,
        noise_scale: float = 0.1,
        n_perturbations: int = 50,
        perturbation: str = "tabular",
        flip_probability: float | None = None,
        column_types: Mapping[str, str] | None = None,
        random_state: Any = 0,
    ) -> None:
        self.k = k
        self.noise_scale = noise_scale
        self.n_perturbations = n_perturbations
        self.perturbation = perturbation
        self.flip_probability = flip_probability
        self.column_types = column_types
        self.random_state = random_state

    def _inputs(
        self, attribution: Attribution, adapter: Adapter | None, background: np.ndarray | None
    ) -> tuple[tuple[Any, ...], dict[str, Any]]:
        assert adapter is not None and background is not None  # requires_model and requires_background
        ctx = self._context(attribution, adapter)
        kind = resolve_kind(self.perturbation, PERTURBATIONS, self.name)
        noise_scale = check_float(
            self.noise_scale, "noise_scale", minimum=0.0, strict=True, kind="a positive finite number"
        )
        types = column_types_of(attribution, background, self.column_types, self.name)
        inputs = {
            "groups": attribution.groups,
            "important": self._important,
            "column_types": types,
            "flip_probability": flip_probability_of(self.flip_probability, noise_scale),
        }
        return (adapter, ctx.X, ctx.values, ctx.target, noise_scale_of(kind, background, noise_scale)), inputs

    def _extras(self, extras: dict[str, Any], inputs: dict[str, Any]) -> dict[str, Any]:
        return {**extras, "column_types": inputs["column_types"].to_dict()}


class PGI(_PredictionGap):
    """Prediction gap on important features: output change when the top-``k`` get noise (higher is better).

    See :mod:`agnostic_xai.metrics.prediction_gap`. Cost per row: ``n_perturbations + 1`` model rows.

    Parameters
    ----------
    k : int or float
        Top players by ``|φ|``: an int, or a fraction of the features (or groups), rounded up.
    noise_scale : float
        Noise std as a fraction of each column's background std (an absolute std for
        ``perturbation="openxai"``).
    n_perturbations : int
        Noise draws per row.
    perturbation : {"tabular", "gaussian", "openxai"}
        How columns change (see :mod:`agnostic_xai.metrics.prediction_gap`); ``"tabular"``
        follows the column types inferred from the background and the attribution's groups.
    flip_probability : float or None
        Probability that a perturbed binary column flips or a one-hot group switches
        category; None is OpenXAI's ``sqrt(2/π) · noise_scale`` (the mean absolute size of
        the continuous noise, in standard deviations).
    column_types : mapping of str to str, optional
        Overrides of the inferred types (:meth:`agnostic_xai.columns.ColumnTypes.infer`).
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
