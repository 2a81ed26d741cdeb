"""Exact Shapley values by enumerating every coalition (the ceiling of Shapley-based agreement)."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from .._checks import check_int
from .._shapley import MAX_EXACT_FEATURES, check_exact_budget, enumerate_shapley
from ..removal import block_rows, reference_set
from .base import Explainer, Explanation

__all__ = ["ExactShapley"]


class ExactShapley(Explainer):
    """Exact Shapley values of features (or groups) by full enumeration.

    The value of a coalition ``S`` for row ``x`` is the expected explained output with the
    columns outside ``S`` taken from the reference rows ``R`` of the removal strategy
    (:mod:`agnostic_xai.removal`)::

        v(S) = mean_{r ∈ R} f_t(x_S, r_{S̄})
        φ_i = Σ_{S ⊆ N \\ {i}} |S|! (p - |S| - 1)! / p! · (v(S ∪ {i}) - v(S))

    (Shapley 1953; with ``removal="marginal"`` these are the interventional Shapley values
    of Janzing et al. 2020 that SHAP estimates.) All rows and all ``2**p`` coalitions are
    evaluated in batched blocks by the same code as the oracle
    :func:`agnostic_xai.testing.exact_shapley`. The result is deterministic and additive:
    ``v(∅) + Σφ = f_t(x)`` to rounding.

    Cost: ``n · 2**p · |R|`` model rows (``|R|`` is the background size for ``"marginal"``,
    1 otherwise), so ``p`` is capped by ``max_features``.

    Parameters
    ----------
    removal : {"marginal", "mean", "baseline"}
        What "feature removed" means; see :mod:`agnostic_xai.removal`.
    baseline : array-like of shape (d,), optional
        The reference row for ``removal="baseline"``.
    max_features : int, default=MAX_EXACT_FEATURES (16)
        Largest number of players (columns, or groups when fitted with groups) enumerated;
        :meth:`fit` refuses more with a :class:`~agnostic_xai.exceptions.BudgetError`. The
        default is the project's one exact-enumeration limit
        (:data:`agnostic_xai._shapley.MAX_EXACT_FEATURES`); raising it doubles the cost per player.
    max_rows : int
        Model rows per evaluation block (bounds peak memory).

    Attributes
    ----------
    reference_ : ndarray of shape (r, d)
        The reference rows removed columns are drawn from.

    Examples
    --------
    >>> import numpy as np
    >>> from agnostic_xai import wrap
    >>> adapter = wrap(lambda X: X @ np.array([1.0, -2.0, 3.0]))
    >>> background = np.array([[0.0, 0.0, 0.0], [2.0, 2.0, 2.0]])
    >>> explainer = ExactShapley().fit(adapter, background)
    >>> explainer.explain(np.array([[1.0, 1.0, 2.0]])).values.round(12) + 0.0  # w * (x - mean(background))
    array([[0., 0., 3.]])
    """

    name: ClassVar[str] = "exact_shapley"
    is_exact: ClassVar[bool] = True
    computes_exact_shapley: ClassVar[bool] = True  # the ground truth next to ground-truth metrics
    is_stochastic: ClassVar[bool] = False
    is_additive: ClassVar[bool] = True
    supports_groups: ClassVar[bool] = True

    def __init__(
        self,
        *,
        removal: str = "marginal",
        baseline: Any = None,
        max_features: int = MAX_EXACT_FEATURES,
        max_rows: int | None = None,
    ) -> None:
        self.removal = removal
        self.baseline = baseline
        self.max_features = max_features
        self.max_rows = max_rows

    def _fit(self) -> None:
        value = self.max_features
        check_int(value, "max_features", minimum=1)
        block_rows(self.max_rows, self.adapter_)
        check_exact_budget(self.n_attributed_, int(self.max_features), grouped=self.groups_ is not None)
        self.reference_ = reference_set(
            self.removal, self.background_, self.baseline, n_features=self.adapter_.n_features
        )

    def _explain(self, X: np.ndarray, target: np.ndarray) -> Explanation:
        values, base = enumerate_shapley(
            self.adapter_, X, self.reference_, target, groups=self.groups_,
            max_rows=block_rows(self.max_rows, self.adapter_),
        )
        return Explanation(values=values, base_values=base)
