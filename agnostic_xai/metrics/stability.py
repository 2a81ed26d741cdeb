"""Stability of an explainer: does its explanation survive small changes it should not notice?

* :class:`MaxSensitivity`, :class:`RelativeInputStability` and
  :class:`~agnostic_xai.metrics.output_stability.RelativeOutputStability` perturb the
  explained rows slightly and re-run the fitted explainer on the perturbed rows, for the
  same targets. With ``perturbation="tabular"`` (the default) continuous columns move
  uniformly in a box whose half-width is ``radius`` times the column's background standard
  deviation, integer columns move the same way and are rounded, binary columns flip and
  one-hot groups switch category with probability ``flip_probability``
  (:mod:`agnostic_xai.columns`); ``perturbation="uniform"`` moves every column in the box,
  whatever its type, so a category never changes.
* :class:`SeedStability` re-runs a stochastic explainer with different seeds on the same rows.

Each re-runs the explainer, so each takes ``explainer=`` (the fitted explainer that produced
the attribution) and costs what the explainer costs, times the number of re-runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from itertools import combinations
from typing import Any

import numpy as np

from .._checks import check_int
from .._params import child_seeds, clone
from .._validation import check_float
from ..adapters import Adapter
from ..attribution import Attribution
from ..columns import ColumnTypes, perturb
from ..exceptions import InvalidInputError, NotFittedError
from ._perturbation import column_types_of, flip_probability_of, resolve_kind
from ._rng import row_random
from .base import Metric
from .ranking import resolve_k, rowwise_spearman, top_k_mask
from .relative_stability import check_values, relative_input_stability
from .relative_stability import norm_order as _norm_order

__all__ = [
    "MaxSensitivity",
    "RelativeInputStability",
    "SeedStability",
    "max_sensitivity",
    "relative_input_stability",
    "seed_stability",
    "linf_perturbations",
    "PERTURBATIONS",
]

#: ``perturbation`` names of the stability metrics and the :func:`agnostic_xai.columns.perturb` kind of each.
PERTURBATIONS = {"tabular": "tabular", "uniform": "continuous"}


def linf_perturbations(X: np.ndarray, radius: np.ndarray, n_perturbations: int, random_state: Any = 0) -> np.ndarray:
    """Rows drawn uniformly in the L∞ box ``|x'_j − x_j| <= radius_j`` around each row.

    Parameters
    ----------
    X : ndarray of shape (n, d)
    radius : ndarray of shape (d,)
        Half-width of the box in each column.
    n_perturbations : int
    random_state : int, Generator or None
        Seed of the draws; row ``i`` draws from its own stream
        (:func:`~agnostic_xai.metrics._rng.row_random`), so its perturbations do not
        depend on the other rows.

    Returns
    -------
    ndarray of shape (n_perturbations, n, d)
        The draws of :func:`agnostic_xai.columns.perturb` (``kind="continuous"``,
        ``noise="uniform"``), draw axis first.
    """
    X = np.asarray(X, dtype=np.float64)
    d = X.shape[1]
    every_column = ColumnTypes(tuple(f"x{j}" for j in range(d)), ("continuous",) * d)
    rows = perturb(
        row_random(random_state, X.shape[0]), X, n_perturbations, every_column,
        scale=np.asarray(radius, dtype=np.float64), flip_probability=0.0, kind="continuous", noise="uniform",
    )
    return rows.transpose(1, 0, 2)


def max_sensitivity(
    values: Any, perturbed_values: Any, *, norm: str = "l2", normalize: bool = True
) -> np.ndarray:
    """Largest change of the explanation over perturbations of the input (Yeh et al. 2019).

    For row ``x`` with explanation ``φ(x)`` and perturbed rows ``x'_1 … x'_P``::

        SENS_MAX(x) = max_p ||φ(x'_p) − φ(x)|| / Z(x)

    with ``Z(x) = ||φ(x)||`` when ``normalize`` (1 where ``φ(x) = 0``): this is
    ``captum.metrics.sensitivity_max`` (captum >= 0.5 normalises so that explainers of
    different scale are comparable). ``normalize=False`` gives ``Z = 1``, the unnormalised
    definition of Yeh et al.

    Parameters
    ----------
    values : array-like of shape (n, m)
        ``φ(x)``.
    perturbed_values : array-like of shape (P, n, m)
        ``φ(x'_p)`` for each perturbation ``p``.
    norm : {"l2", "l1", "linf"}
    normalize : bool

    Returns
    -------
    ndarray of shape (n,), >= 0 (exactly 0 for an explainer that ignores its input)

    References
    ----------
    Yeh, C.-K., Hsieh, C.-Y., Suggala, A., Inouye, D. I., & Ravikumar, P. (2019). *On the
    (in)fidelity and sensitivity of explanations.* NeurIPS.
    """
    order = _norm_order(norm)
    values, perturbed_values = check_values(values, perturbed_values)
    change = np.linalg.norm(perturbed_values - values[None], ord=order, axis=2).max(axis=0)
    if not normalize:
        return change
    scale = np.linalg.norm(values, ord=order, axis=1)
    return change / np.where(scale == 0, 1.0, scale)


def seed_stability(runs: Any, k: int | float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Agreement of explanations of the same rows computed with different seeds.

    For ``S`` runs ``φ^(1) … φ^(S)`` of a row, the mean over the ``S(S−1)/2`` pairs of

    * the Jaccard index of the top-k feature sets by ``|φ|``,
      ``|T_s ∩ T_t| / |T_s ∪ T_t|`` (ties by column index), and
    * the Spearman correlation of ``|φ^(s)|`` and ``|φ^(t)|`` (NaN for a constant row).

    Parameters
    ----------
    runs : array-like of shape (S, n, m), S >= 2
    k : int, float or None
        Number of top features, or a fraction of ``m``; None is the top 5, or every feature when there are fewer.

    Returns
    -------
    jaccard : ndarray of shape (n,), in [0, 1]
    spearman : ndarray of shape (n,), in [-1, 1]
    """
    runs = np.asarray(runs, dtype=np.float64)
    if runs.ndim != 3 or runs.shape[0] < 2:
        raise InvalidInputError(f"runs must have shape (S, n, m) with S >= 2, got {runs.shape}.")
    if not np.isfinite(runs).all():
        raise InvalidInputError("runs hold NaN or infinite values.")
    k = resolve_k(k, runs.shape[2])
    masks = [top_k_mask(run, k) for run in runs]
    pairs = list(combinations(range(runs.shape[0]), 2))
    jaccard = np.mean(
        [(masks[s] & masks[t]).sum(axis=1) / (masks[s] | masks[t]).sum(axis=1) for s, t in pairs], axis=0
    )
    spearman = np.mean([rowwise_spearman(np.abs(runs[s]), np.abs(runs[t])) for s, t in pairs], axis=0)
    return jaccard, spearman


# ---------------------------------------------------------------------------- classes
def _check_explainer(explainer: Any, attribution: Attribution, metric: str) -> None:
    from ..explainers.base import Explainer

    if not isinstance(explainer, Explainer):
        raise InvalidInputError(f"{metric}: explainer must be a fitted Explainer, got {type(explainer).__name__}.")
    if not hasattr(explainer, "adapter_"):
        raise NotFittedError(
            f"{metric}: the explainer is not fitted; pass the fitted explainer that produced the attribution."
        )
    if explainer.name != attribution.method:
        raise InvalidInputError(
            f"{metric}: the attribution was produced by {attribution.method!r}, not by the given {explainer.name!r} "
            "explainer; pass the explainer that produced it."
        )
    if explainer.n_attributed_ != attribution.n_features or explainer.adapter_.n_features != attribution.data.shape[1]:
        raise InvalidInputError(f"{metric}: the explainer attributes to other features than the attribution.")
    if explainer.adapter_.output != attribution.output:
        raise InvalidInputError(
            f"{metric}: the explainer explains the {explainer.adapter_.output!r} output, the attribution "
            f"the {attribution.output!r} output."
        )


class _PerturbationStability(Metric):
    """Shared machinery: perturb the rows, re-run the explainer once on all perturbed rows."""

    family = "stability"
    higher_is_better = False
    requires_model = True
    requires_background = True
    requires_explainer = True

    def _rerun_perturbed(
        self, attribution: Attribution, background: np.ndarray, explainer: Any
    ) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
        _check_explainer(explainer, attribution, self.name)
        check_int(self.n_perturbations, "n_perturbations", minimum=1)
        check_float(self.radius, "radius", minimum=0.0, strict=True, kind="a positive fraction of each column's std")
        X = attribution.data
        n, d = X.shape
        kind = resolve_kind(self.perturbation, PERTURBATIONS, self.name)
        types = column_types_of(attribution, background, self.column_types, self.name)
        X_perturbed = perturb(
            row_random(self.random_state, n), X, int(self.n_perturbations), types,
            scale=self.radius * background.std(axis=0), kind=kind, noise="uniform",
            flip_probability=flip_probability_of(self.flip_probability, float(self.radius)),
        ).transpose(1, 0, 2)
        rows_before = explainer.adapter_.rows_evaluated
        rerun = explainer.explain(X_perturbed.reshape(-1, d), target=np.tile(attribution.target, self.n_perturbations))
        perturbed_values = rerun.values.reshape(int(self.n_perturbations), n, -1)
        extras = {
            "explainer_model_rows": int(explainer.adapter_.rows_evaluated - rows_before),
            "column_types": types.to_dict(),
        }
        return X_perturbed, perturbed_values, extras


class MaxSensitivity(_PerturbationStability):
    """Maximum sensitivity of the explanation to small input perturbations (lower is better).

    Re-runs the fitted explainer on ``n_perturbations`` rows drawn uniformly in the L∞ box of
    half-width ``radius × std_j`` (background standard deviation of column ``j``) around
    each explained row, and scores :func:`max_sensitivity`. All ``n × n_perturbations``
    perturbed rows are explained in one call. A stochastic explainer is re-run with its own
    ``random_state``, so its sampling noise is part of the measured sensitivity.

    Parameters
    ----------
    n_perturbations : int, default=10
    radius : float, default=0.02
        Box half-width, as a fraction of each column's background standard deviation.
    norm : {"l2", "l1", "linf"}, default="l2"
    normalize : bool, default=True
        Divide by ``||φ(x)||`` as ``captum.metrics.sensitivity_max`` does (captum >= 0.5);
        False gives the unnormalised quantity of Yeh et al. (2019).
    perturbation : {"tabular", "uniform"}, default="tabular"
        Column-type-aware perturbation, or the box on every column (module docstring).
    flip_probability : float or None, default=None
        Probability that a binary column flips or a one-hot group switches; None is
        ``sqrt(2/π) · radius`` (OpenXAI's rule).
    column_types : mapping of str to str, optional
        Overrides of the inferred column types (:meth:`agnostic_xai.columns.ColumnTypes.infer`).
    random_state : int, default=0
        Seed of the perturbations.
    """

    name = "max_sensitivity"
    is_stochastic = True

    def __init__(
        self,
        n_perturbations: int = 10,
        radius: float = 0.02,
        norm: str = "l2",
        normalize: bool = True,
        perturbation: str = "tabular",
        flip_probability: float | None = None,
        column_types: Mapping[str, str] | None = None,
        random_state: int = 0,
    ) -> None:
        self.n_perturbations = n_perturbations
        self.radius = radius
        self.norm = norm
        self.normalize = normalize
        self.perturbation = perturbation
        self.flip_probability = flip_probability
        self.column_types = column_types
        self.random_state = random_state

    def _score(
        self, attribution: Attribution, adapter: Adapter | None, background: np.ndarray | None, explainer: Any
    ) -> tuple[np.ndarray, dict[str, Any]]:
        _norm_order(self.norm)
        _, perturbed_values, extras = self._rerun_perturbed(attribution, background, explainer)
        scores = max_sensitivity(attribution.values, perturbed_values, norm=self.norm, normalize=self.normalize)
        return scores, extras


class RelativeInputStability(_PerturbationStability):
    """Relative input stability of Agarwal et al. (2022) (lower is better).

    Perturbs as :class:`MaxSensitivity` and scores
    :func:`~agnostic_xai.metrics.relative_stability.relative_input_stability`.

    Parameters
    ----------
    n_perturbations : int, default=10
    radius : float, default=0.02
        Box half-width, as a fraction of each column's background standard deviation.
    norm : {"l2", "l1", "linf"}, default="l2"
    eps : float, default=1e-6
        ``form="elementwise"`` only: guard for zero divisors and floor of the input change.
    form : {"norm_ratio", "elementwise"}, default="norm_ratio"
        ``(||Δφ||/||φ||) / (||Δx||/||x||)``, or the paper's entry-by-entry percent changes,
        which on scaled or binary data (many exact zeros) are dominated by ``ε``.
    perturbation, flip_probability, column_types
        As :class:`MaxSensitivity`.
    random_state : int, default=0

    Notes
    -----
    ``extras``: ``eps_share`` and ``eps_dominated`` per row (how much of the score the
    ``ε`` guard made), ``column_types``, ``explainer_model_rows``.
    """

    name = "relative_input_stability"
    is_stochastic = True

    def __init__(
        self,
        n_perturbations: int = 10,
        radius: float = 0.02,
        norm: str = "l2",
        eps: float = 1e-6,
        form: str = "norm_ratio",
        perturbation: str = "tabular",
        flip_probability: float | None = None,
        column_types: Mapping[str, str] | None = None,
        random_state: int = 0,
    ) -> None:
        self.n_perturbations = n_perturbations
        self.radius = radius
        self.norm = norm
        self.eps = eps
        self.form = form
        self.perturbation = perturbation
        self.flip_probability = flip_probability
        self.column_types = column_types
        self.random_state = random_state

    def _score(
        self, attribution: Attribution, adapter: Adapter | None, background: np.ndarray | None, explainer: Any
    ) -> tuple[np.ndarray, dict[str, Any]]:
        _norm_order(self.norm)
        X_perturbed, perturbed_values, extras = self._rerun_perturbed(attribution, background, explainer)
        scores, guard = relative_input_stability(
            attribution.data, attribution.values, X_perturbed, perturbed_values, norm=self.norm, eps=self.eps,
            form=self.form, return_extras=True,
        )
        return scores, {**extras, **guard}


class SeedStability(Metric):
    """Agreement of a stochastic explainer with itself across seeds (higher is better).

    Re-fits clones of the explainer with ``n_seeds`` seeds derived from ``random_state``
    (``numpy.random.SeedSequence``) on the same adapter, background and groups, explains
    the same rows and targets, and scores the mean pairwise top-k Jaccard index per row
    (:func:`seed_stability`); the mean pairwise Spearman correlation of ``|φ|`` is in
    ``extras["spearman"]``. Deterministic explainers (``is_stochastic = False``) score 1
    without being re-run.

    Parameters
    ----------
    n_seeds : int, default=3
        Number of runs (>= 2).
    k : int, float or None, default=None
        Number of top features, or a fraction of the features; None is the top 5, or every feature when there are fewer.
    random_state : int, default=0
        Root seed of the runs' seeds.
    """

    name = "seed_stability"
    is_stochastic = True
    family = "stability"
    higher_is_better = True
    requires_model = False
    requires_background = False
    requires_explainer = True

    def __init__(self, n_seeds: int = 3, k: int | float | None = None, random_state: int = 0) -> None:
        self.n_seeds = n_seeds
        self.k = k
        self.random_state = random_state

    def _score(
        self, attribution: Attribution, adapter: Adapter | None, background: np.ndarray | None, explainer: Any
    ) -> tuple[np.ndarray, dict[str, Any]]:
        _check_explainer(explainer, attribution, self.name)
        check_int(self.n_seeds, "n_seeds", minimum=2)
        check_int(self.random_state, "random_state", minimum=0)
        resolve_k(self.k, attribution.n_features)
        n = attribution.n_rows
        if not explainer.is_stochastic:
            return np.ones(n), {"spearman": np.ones(n), "seeds": [], "explainer_model_rows": 0}
        if "random_state" not in explainer.get_params():
            raise InvalidInputError(
                f"{explainer.name} says it is stochastic but takes no random_state; it cannot be re-seeded."
            )
        seeds = child_seeds(int(self.random_state), int(self.n_seeds))
        rows_before = explainer.adapter_.rows_evaluated
        runs = []
        for seed in seeds:
            rerun = clone(explainer).set_params(random_state=seed)
            rerun.fit(explainer.adapter_, explainer.background_, groups=explainer.groups_)
            runs.append(rerun.explain(attribution.data, target=attribution.target).values)
        jaccard, spearman = seed_stability(np.stack(runs), self.k)
        extras = {
            "spearman": spearman,
            "seeds": seeds,
            "explainer_model_rows": int(explainer.adapter_.rows_evaluated - rows_before),
        }
        return jaccard, extras
