"""Exact Shapley values through ``shap.ExactExplainer``."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import shap

from .._checks import check_int
from .._shapley import MAX_EXACT_FEATURES, exact_budget_message
from ..exceptions import BudgetError
from ._shap_common import background_masker, explanation_for_target, masks_per_call, model_function
from .base import Explainer, Explanation

__all__ = ["ExactShap"]


class ExactShap(Explainer):
    """Exact interventional Shapley values enumerated by ``shap.ExactExplainer``.

    Evaluates ``v(S) = mean_r f_t(x_S, r_S̄)`` over the background rows ``r`` for all
    ``2**p`` coalitions ``S`` (in Gray-code order, so consecutive coalitions differ in one
    player and shap re-evaluates only the background rows that change) and returns::

        φ_i = Σ_{S ⊆ N \\ {i}} |S|! (p - |S| - 1)! / p! · (v(S ∪ {i}) - v(S)).

    It computes the same numbers as :func:`agnostic_xai.testing.exact_shapley` with the
    same background, by shap's code: a cross-check of both. The explained function is the
    adapter's :meth:`predict`; each row keeps its ``target``. Feature groups are removed as
    a unit (:class:`~agnostic_xai.explainers._shap_common.GroupMasker`).

    Parameters
    ----------
    max_features : int, default=MAX_EXACT_FEATURES (16)
        Refuse more features (or groups) than this: the cost per row is ``2**p`` coalitions
        times the background size. The default is the project's one exact-enumeration limit
        (:data:`agnostic_xai._shapley.MAX_EXACT_FEATURES`), as for ``exact_shapley``.

    Attributes
    ----------
    masker_ : shap masker
        The masker shap uses.
    """

    name: ClassVar[str] = "exact_shap"
    is_exact: ClassVar[bool] = True  # exact values, shap's enumeration: a candidate, never the ground truth
    is_additive: ClassVar[bool] = True
    supports_groups: ClassVar[bool] = True

    def __init__(self, *, max_features: int = MAX_EXACT_FEATURES) -> None:
        self.max_features = max_features

    def _fit(self) -> None:
        limit = self.max_features
        check_int(limit, "max_features", minimum=1)
        players = self.n_attributed_
        if players > limit:
            raise BudgetError(
                exact_budget_message(players, int(limit), grouped=self.groups_ is not None, who="exact_shap would")
            )
        self.masker_ = background_masker(self.background_, self.groups_)

    def _explain(self, X: np.ndarray, target: np.ndarray) -> Explanation:
        explainer = shap.ExactExplainer(model_function(self.adapter_), self.masker_)
        result = explainer(
            np.array(X),
            max_evals=2**self.n_attributed_,
            batch_size=masks_per_call(self.adapter_, self.background_),
            silent=True,
        )
        values, base = explanation_for_target(result, target)
        return Explanation(values=values, base_values=base)
