"""Feature ablation (occlusion): how much the output drops when one feature is removed."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from ..removal import block_rows, coalition_values, reference_set
from .base import Explainer, Explanation

__all__ = ["FeatureAblation"]


class FeatureAblation(Explainer):
    """Occlusion: the change in the explained output when one feature (or group) is removed.

    With ``v(x, S)`` the expected explained output when only the columns in ``S`` are kept
    (the shared removal definition, :mod:`agnostic_xai.removal`) and ``N`` all units::

        φ_i = f_t(x) − v(x, N \\ {i})

    (Zeiler & Fergus 2014 for images; captum's ``FeatureAblation``.) A group is removed as a
    unit. All rows × all ``p`` single-removal masks go through one batched
    :func:`~agnostic_xai.removal.coalition_values` call.

    Base value. Each ``φ_i`` is measured from a different point (``x`` with ``i`` removed),
    so occlusion has no reference output that its values add up from. The record stores
    ``base_values = v(x, ∅)``, the output with every unit removed (``E_R f_t``: the mean
    over the background for ``"marginal"``, ``f_t`` of the mean row or of the baseline
    otherwise), the same base value exact Shapley values use. Then
    ``base + Σφ = f_t(x)`` holds exactly when the model has no interactions between the
    removed units (an additive model, where occlusion equals the Shapley value), and
    :meth:`Attribution.additivity_gap` measures how far the model is from that. The method
    is therefore not declared additive (``is_additive = False``).

    Cost: ``n · p · |R|`` rows for the removals (``|R|`` the reference size), ``n`` for
    ``f(x)`` and ``|R|`` for the base value.

    Parameters
    ----------
    removal : {"marginal", "mean", "baseline"}
        What "feature removed" means; see :mod:`agnostic_xai.removal`.
    baseline : array-like of shape (d,), optional
        The reference row for ``removal="baseline"``.
    max_rows : int, optional
        Model rows per evaluation block (bounds peak memory). None: 65,536, or 2**20 for a torch model on a CUDA device (:func:`agnostic_xai.removal.block_rows`).

    Attributes
    ----------
    reference_ : ndarray of shape (r, d)
        The reference rows removed columns are drawn from.
    """

    name: ClassVar[str] = "feature_ablation"
    is_stochastic: ClassVar[bool] = False
    is_additive: ClassVar[bool] = False
    supports_groups: ClassVar[bool] = True

    def __init__(self, *, removal: str = "marginal", baseline: Any = None, max_rows: int | None = None) -> None:
        self.removal = removal
        self.baseline = baseline
        self.max_rows = max_rows

    def _fit(self) -> None:
        self.reference_ = reference_set(
            self.removal, self.background_, self.baseline, n_features=self.adapter_.n_features
        )

    def _explain(self, X: np.ndarray, target: np.ndarray) -> Explanation:
        adapter = self.adapter_
        p = self.n_attributed_
        # Row j of `kept` keeps everything but unit j.
        kept = ~np.eye(p, dtype=bool)
        masks = self.groups_.expand(kept) if self.groups_ is not None else kept
        removed = coalition_values(adapter, X, masks, self.reference_, target, max_rows=block_rows(self.max_rows, adapter))
        rows = np.arange(X.shape[0])
        full = adapter.evaluate(X)[rows, target]
        empty = adapter.evaluate(self.reference_).mean(axis=0)[target]
        return Explanation(values=full[:, None] - removed, base_values=empty)
