"""Permutation SHAP through ``shap.PermutationExplainer``."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import shap

from .._checks import check_int
from ..exceptions import BudgetError, InvalidInputError
from ._shap_common import (
    background_masker,
    draw_seed,
    explanation_for_target,
    masks_per_call,
    model_function,
    numpy_global_seed,
)
from .base import Explainer, Explanation

__all__ = ["PermutationShap"]


class PermutationShap(Explainer):
    """Shapley values estimated from antithetic permutations, by ``shap.PermutationExplainer``.

    For a random order ``π`` of the ``p`` players, the marginal contribution of player ``i``
    is ``v(Pre_π(i) ∪ {i}) - v(Pre_π(i))`` with ``v(S) = mean_r f_t(x_S, r_S̄)`` over the
    background rows ``r``. Averaging it over orders gives the Shapley value (Castro et al.
    2009); shap walks each order forwards and backwards (antithetic sampling, exact for
    models with at most pairwise interactions), so ``base + Σφ = f(x)`` holds exactly for
    every budget.

    The explained function is the adapter's :meth:`predict`; every output is estimated from
    the same evaluations and each row keeps its ``target``. The masker is shap's
    ``Independent`` masker over the whole background (no subsampling); feature groups are
    removed as a unit by :class:`~agnostic_xai.explainers._shap_common.GroupMasker`, which
    replaces a group's columns by each background row's.

    Parameters
    ----------
    max_evals : int or "auto"
        Coalitions evaluated per row; each walk through one order and back costs
        ``2 p + 1``, so ``max_evals // (2 p + 1)`` orders are used (at least one). ``"auto"``
        is shap's ``20 p``. Each coalition costs up to one model row per background row
        (shap skips background rows that a change of mask leaves identical).
    random_state : int, numpy Generator or None
        Seed of the permutations. shap draws them from numpy's global generator, which is
        seeded for each call and restored afterwards.

    Attributes
    ----------
    masker_ : shap masker
        The masker shap uses (``shap.maskers.Independent`` or a ``GroupMasker``).
    """

    name: ClassVar[str] = "permutation_shap"
    is_stochastic: ClassVar[bool] = True
    is_additive: ClassVar[bool] = True
    supports_groups: ClassVar[bool] = True

    def __init__(self, *, max_evals: int | str = 500, random_state: Any = 0) -> None:
        self.max_evals = max_evals
        self.random_state = random_state

    def _fit(self) -> None:
        self.masker_ = background_masker(self.background_, self.groups_)

    def check_budget(self, n_players: int) -> None:
        """Refuse a ``max_evals`` too small for ``n_players`` (called by ``compare`` before any work)."""
        self._check_budget(n_players)

    def _check_budget(self, players: int | None = None) -> int | str:
        max_evals = self.max_evals
        players = self.n_attributed_ if players is None else players
        if isinstance(max_evals, str):
            if max_evals != "auto":
                raise InvalidInputError(f"max_evals must be a positive int or 'auto', got {max_evals!r}.")
            return max_evals
        check_int(max_evals, "max_evals", kind="a positive int or 'auto'")  # too few: BudgetError below
        needed = 2 * players + 1
        if max_evals < needed:
            raise BudgetError(
                f"permutation_shap walks whole permutations of {players} players, which costs "
                f"2 p + 1 = {needed} evaluations each; max_evals={max_evals} is less. Raise max_evals, or group "
                "the features (FeatureGroups) to have fewer players."
            )
        return int(max_evals)

    def _explain(self, X: np.ndarray, target: np.ndarray) -> Explanation:
        max_evals = self._check_budget()
        seed = draw_seed(self._rng())
        with numpy_global_seed(seed):
            # PermutationExplainer re-seeds numpy's global generator itself when built.
            explainer = shap.PermutationExplainer(model_function(self.adapter_), self.masker_, seed=seed)
            result = explainer(
                np.array(X),
                max_evals=max_evals,
                batch_size=masks_per_call(self.adapter_, self.background_),
                silent=True,
            )
        values, base = explanation_for_target(result, target)
        return Explanation(values=values, base_values=base)
