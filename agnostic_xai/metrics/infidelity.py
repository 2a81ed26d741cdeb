"""Infidelity (Yeh et al. 2019): how well ``Iᵀφ`` predicts the output change under perturbations ``I``.

Yeh, Hsieh, Suggala, Inouye & Ravikumar (2019), "On the (in)fidelity and sensitivity of
explanations", NeurIPS. For a row ``x``, attributions ``φ`` and random perturbations ``I``::

    INFD(φ, x) = E_I[ (Iᵀφ − (f(x) − f(x − I)))² ]

estimated with ``K`` draws. With ``normalize=True`` (the default) the attributions are first
put on the scale that fits best, ``β* = argmin_β E[(β Iᵀφ − Δf)²] = E[Iᵀφ Δf] / E[(Iᵀφ)²]``,
and the error of ``β* φ`` is reported, so that merely shrinking attributions towards 0 is not
rewarded (the normalisation of the paper's experiments and of captum's ``normalize=True``).
The score is then invariant to positive (and negative) rescaling of ``φ``.

The definition depends entirely on the perturbation. Four are provided:

``"tabular"`` (default)
    ``x − I`` is drawn by column type (:mod:`agnostic_xai.columns`): continuous columns
    get ``N(0, (noise_scale · std_j)²)``, integer columns the same noise rounded, binary
    columns flip and one-hot groups switch category with probability ``flip_probability``;
    ``I = x − (x − I)`` column by column and ``Iᵀφ = Σ_j I_j φ_j``. A flip moves a column
    by its full step, which is what the model sees on such a column.
``"gaussian"``
    ``I_j ~ N(0, (noise_scale · std_j)²)`` independently per column, ``std_j`` the
    background's (population) standard deviation of column ``j``, whatever the column's
    type; ``Iᵀφ = Σ_j I_j φ_j``. For small noise ``Δf ≈ ∇f(x)ᵀI``, so this rewards
    *gradient-like* (local sensitivity) attributions. On binary and one-hot columns it asks
    the model about values that are not categories.
``"openxai"``
    OpenXAI's ``NormalPerturbation`` (see :mod:`agnostic_xai.metrics.prediction_gap`).

``"tabular"``, ``"gaussian"`` and ``"openxai"`` are defined per column: grouped
attributions are refused.
``"removal"``
    A random subset ``S`` of ``s`` players (columns or groups) is replaced by the columns
    of a reference row ``b`` (a random background row under marginal removal, the mean or
    baseline row otherwise): ``x − I = (x_{N∖S}, b_S)``. The attribution's prediction is the
    sum over the removed players, ``Iᵀφ := Σ_{i ∈ S} φ_i`` (``I`` is the indicator of ``S``),
    which is the right comparison for *additive* attributions in output units (Shapley values,
    IG, occlusion). For ungrouped attributions it is captum's
    ``infidelity_perturb_func_decorator(multiply_by_inputs=True)`` convention,
    ``I_j = (x_j − x'_j) / (x_j − b_j)``, wherever ``x_j ≠ b_j``. Groups are removed as a unit.

Lower is better; 0 means ``Iᵀφ`` (scaled by ``β*`` when normalised) predicts every change.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from .._checks import check_float, check_int
from ..adapters.base import Adapter
from ..attribution import Attribution
from ..columns import ColumnTypes, perturb
from ..exceptions import InvalidInputError
from ..groups import FeatureGroups
from ._perturbation import column_types_of, flip_probability_of, noise_scale_of
from ._removal_utils import (
    RemovalMetric,
    expand_masks,
    explained_output,
    random_subsets,
)
from ._rng import RowRandom, row_random
from .ranking import resolve_count

__all__ = [
    "PERTURBATIONS",
    "gaussian_perturbations",
    "removal_perturbations",
    "infidelity_from_perturbations",
    "infidelity",
    "Infidelity",
]

PERTURBATIONS = ("tabular", "gaussian", "openxai", "removal")
_KINDS = {"tabular": "tabular", "gaussian": "continuous", "openxai": "openxai"}


def gaussian_perturbations(
    rng: np.random.Generator | RowRandom, X: np.ndarray, scale: np.ndarray, n_perturbations: int
) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian perturbations ``I ~ N(0, diag(scale²))`` and the perturbed rows ``x − I``.

    Returns
    -------
    perturbations : ndarray of shape (n, K, d)
    perturbed : ndarray of shape (n, K, d)
    """
    n, d = X.shape
    noise = rng.standard_normal((n, n_perturbations, d)) * scale
    return noise, X[:, None, :] - noise


def removal_perturbations(
    rng: np.random.Generator | RowRandom,
    X: np.ndarray,
    reference: np.ndarray,
    n_perturbations: int,
    size: int,
    *,
    groups: FeatureGroups | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Random-subset removal: ``size`` players replaced by one random reference row per draw.

    Returns
    -------
    perturbations : bool ndarray of shape (n, K, m)
        The indicator of the removed players ``S`` (so ``Iᵀφ = Σ_{i∈S} φ_i``).
    perturbed : ndarray of shape (n, K, d)
        ``(x_{N∖S}, b_S)`` with ``b`` the drawn reference row.
    """
    n, d = X.shape
    m = d if groups is None else groups.n_groups
    subsets = random_subsets(rng, n, n_perturbations, m, size)
    rows = rng.integers(reference.shape[0], size=(n, n_perturbations))
    removed = expand_masks(subsets, groups)
    return subsets, np.where(removed, reference[rows], X[:, None, :])


def infidelity_from_perturbations(
    adapter: Adapter,
    X: np.ndarray,
    attributions: np.ndarray,
    target: np.ndarray,
    perturbations: np.ndarray,
    perturbed: np.ndarray,
    *,
    normalize: bool = True,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Infidelity for given perturbations.

    Parameters
    ----------
    adapter : Adapter
    X : ndarray of shape (n, d)
    attributions : ndarray of shape (n, m)
    target : int ndarray of shape (n,)
    perturbations : ndarray of shape (n, K, m)
        ``I`` in attribution space, so that ``Iᵀφ = Σ_i I_i φ_i``.
    perturbed : ndarray of shape (n, K, d)
        The perturbed rows ``x − I`` in input space.
    normalize : bool
        Rescale ``φ`` by the optimal ``β*`` first (``β* = 0`` when every ``Iᵀφ`` is 0).

    Returns
    -------
    scores : ndarray of shape (n,)
        ``mean_k (β Iₖᵀφ − Δfₖ)²`` with ``β = β*`` or 1.
    extras : dict
        ``beta`` (n,), ``attribution_sums`` (n, K) ``Iᵀφ`` and ``output_changes`` (n, K) ``Δf``.
    """
    n, K, d = perturbed.shape
    predicted = np.einsum("nkm,nm->nk", perturbations, attributions)
    outputs = adapter.evaluate(perturbed.reshape(n * K, d))
    changes = explained_output(adapter, X, target)[:, None] - outputs[np.arange(n * K), np.repeat(target, K)].reshape(
        n, K
    )
    if normalize:
        power = (predicted * predicted).sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            beta = np.where(power > 0, (predicted * changes).sum(axis=1) / power, 0.0)
    else:
        beta = np.ones(n)
    scores = ((beta[:, None] * predicted - changes) ** 2).mean(axis=1)
    return scores, {"beta": beta, "attribution_sums": predicted, "output_changes": changes}


def infidelity(
    adapter: Adapter,
    X: np.ndarray,
    attributions: np.ndarray,
    target: np.ndarray,
    background: np.ndarray,
    *,
    groups: FeatureGroups | None = None,
    perturbation: str = "tabular",
    noise_scale: float = 0.1,
    subset_size: int | float = 0.25,
    reference: np.ndarray | None = None,
    n_perturbations: int = 50,
    normalize: bool = True,
    random_state: Any = 0,
    column_types: ColumnTypes | None = None,
    flip_probability: float = 0.0,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Infidelity of attributions under one of :data:`PERTURBATIONS`.

    See the module docstring for the definitions.

    Parameters
    ----------
    adapter, X, attributions, target
        As :func:`infidelity_from_perturbations`.
    background : ndarray of shape (b, d)
        Gives the columns' standard deviations (``"gaussian"``) and, unless ``reference``
        is given, the reference rows (``"removal"``).
    groups : FeatureGroups, optional
        The players' columns (``"removal"`` only).
    perturbation : {"tabular", "gaussian", "openxai", "removal"}
    noise_scale : float
        Noise standard deviation as a fraction of each column's std (absolute for ``"openxai"``).
    subset_size : int or float
        Players removed per draw (``"removal"``): an int, or a fraction (rounded up).
    reference : ndarray of shape (r, d), optional
        Rows removed players are taken from (``"removal"``); default ``background``.
    n_perturbations : int
        Draws ``K`` per row.
    normalize : bool
        Optimal rescaling ``β*`` of the attributions (see the module docstring).
    random_state : int, Generator or None
        Seed of the draws; row ``i`` draws from its own stream
        (:func:`~agnostic_xai.metrics._rng.row_random`).
    column_types : ColumnTypes, optional
        The column types (``"tabular"`` and ``"openxai"``); None treats every column as continuous.
    flip_probability : float
        Probability that a binary column flips (a one-hot group switches).

    Returns
    -------
    scores : ndarray of shape (n,)
    extras : dict
        As :func:`infidelity_from_perturbations`.
    """
    if perturbation not in PERTURBATIONS:
        raise InvalidInputError(f"Unknown perturbation {perturbation!r}; choose one of {PERTURBATIONS}.")
    n_perturbations = check_int(n_perturbations, "n_perturbations", minimum=1)
    rng = row_random(random_state, X.shape[0])  # one stream per row: common random numbers
    m = X.shape[1] if groups is None else groups.n_groups
    if perturbation != "removal":
        if not (groups is None or groups.is_identity):
            raise InvalidInputError(
                f"{perturbation!r} infidelity perturbs single columns, and grouped attributions give one value per "
                "group: use perturbation='removal', which removes groups as a unit, or explain ungrouped columns."
            )
        kind = _KINDS[perturbation]
        noise_scale = check_float(noise_scale, "noise_scale", minimum=0.0, strict=True, kind="a positive finite number")
        scale = noise_scale_of(kind, background, noise_scale)
        if kind == "continuous":
            perturbations, perturbed = gaussian_perturbations(rng, X, scale, n_perturbations)
        else:
            d = X.shape[1]
            if column_types is None:
                column_types, kind = ColumnTypes(tuple(f"x{j}" for j in range(d)), ("continuous",) * d), "continuous"
            perturbed = perturb(
                rng, X, n_perturbations, column_types, scale=scale, flip_probability=flip_probability, kind=kind
            )
            perturbations = X[:, None, :] - perturbed
    else:
        size = resolve_count(subset_size, m, "subset_size")
        reference = background if reference is None else reference
        perturbations, perturbed = removal_perturbations(rng, X, reference, n_perturbations, size, groups=groups)
    return infidelity_from_perturbations(
        adapter, X, attributions, target, perturbations, perturbed, normalize=bool(normalize)
    )


class Infidelity(RemovalMetric):
    """Infidelity of Yeh et al. (2019) with a stated perturbation (lower is better).

    See :mod:`agnostic_xai.metrics.infidelity`. Cost per row: ``n_perturbations + 1`` model rows.

    Parameters
    ----------
    perturbation : {"tabular", "gaussian", "openxai", "removal"}
        ``"tabular"``: columns perturbed by type (noise of ``noise_scale`` background
        standard deviations on continuous columns, flips and category switches with
        ``flip_probability``); ``"gaussian"``: that noise on every column; ``"openxai"``:
        OpenXAI's perturbation (these three: for gradient-like attributions, ungrouped
        only); ``"removal"``: random subsets of players replaced by a reference row of the
        removal strategy (for additive attributions; groups removed as a unit).
    noise_scale : float
        Noise std as a fraction of each column's background std (absolute for ``"openxai"``).
    subset_size : int or float
        Players removed per draw for ``"removal"`` (int or fraction, rounded up).
    n_perturbations : int
        Draws per row.
    normalize : bool
        Rescale the attributions by the optimal ``β*`` before measuring the error.
    removal : {"marginal", "mean", "baseline"}
        Where removed values come from (``"removal"`` only): a random background row, the
        background mean, or ``baseline``.
    baseline : array-like of shape (d,), optional
    flip_probability : float or None
        Probability that a binary column flips or a one-hot group switches category; None
        is OpenXAI's ``sqrt(2/π) · noise_scale``.
    column_types : mapping of str to str, optional
        Overrides of the inferred column types (:meth:`agnostic_xai.columns.ColumnTypes.infer`).
    random_state : int, Generator or None

    Notes
    -----
    ``extras``: ``beta`` (n,), ``attribution_sums`` and ``output_changes`` (n, K).
    """

    name: ClassVar[str] = "infidelity"
    function = infidelity
    config = ("perturbation", "noise_scale", "subset_size", "n_perturbations", "normalize", "random_state")
    is_stochastic: ClassVar[bool] = True
    higher_is_better: ClassVar[bool] = False

    def __init__(
        self,
        *,
        perturbation: str = "tabular",
        noise_scale: float = 0.1,
        subset_size: int | float = 0.25,
        n_perturbations: int = 50,
        normalize: bool = True,
        removal: str = "marginal",
        baseline: Any = None,
        flip_probability: float | None = None,
        column_types: Mapping[str, str] | None = None,
        random_state: Any = 0,
    ) -> None:
        super().__init__(removal=removal, baseline=baseline)
        self.perturbation = perturbation
        self.noise_scale = noise_scale
        self.subset_size = subset_size
        self.n_perturbations = n_perturbations
        self.normalize = normalize
        self.flip_probability = flip_probability
        self.column_types = column_types
        self.random_state = random_state

    def _inputs(
        self, attribution: Attribution, adapter: Adapter | None, background: np.ndarray | None
    ) -> tuple[tuple[Any, ...], dict[str, Any]]:
        assert adapter is not None and background is not None  # requires_model and requires_background
        types = None
        if self.perturbation == "removal":
            ctx, reference = self._removal_inputs(attribution, adapter, background)
        else:
            ctx, reference = self._context(attribution, adapter), None
            if self.perturbation in ("tabular", "openxai"):
                types = column_types_of(attribution, background, self.column_types, self.name)
        noise_scale = check_float(
            self.noise_scale, "noise_scale", minimum=0.0, strict=True, kind="a positive finite number"
        )
        flips = flip_probability_of(self.flip_probability, noise_scale)
        inputs = {
            "groups": attribution.groups, "reference": reference, "column_types": types, "flip_probability": flips
        }
        return (adapter, ctx.X, ctx.values, ctx.target, background), inputs

    def _extras(self, extras: dict[str, Any], inputs: dict[str, Any]) -> dict[str, Any]:
        types = inputs["column_types"]
        return extras if types is None else {**extras, "column_types": types.to_dict()}
