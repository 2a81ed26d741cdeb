"""Distance to the exact Shapley values of the same model, output, rows, background and groups.

The ground truth is the interventional Shapley value that SHAP's explainers estimate,
computed by full enumeration with :func:`agnostic_xai._shapley.exact_shapley` (the same
removal definition, ``"marginal"``, that the explainers use). Enumeration costs
``2**p · b`` model rows per explained row for ``p`` features (or groups) and ``b``
background rows, so it is available only for ``p <= max_features``; above that the metrics
raise :class:`~agnostic_xai.exceptions.BudgetError` rather than silently approximate.

To score several explanations of the same rows, compute the exact values once and pass
them as ``reference=``::

    exact = exact_shapley(adapter, X, background, target, groups=groups)
    ShapleyError(reference=exact)(attribution, adapter, background)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._shapley import MAX_EXACT_FEATURES, exact_budget_message, exact_shapley
from .._validation import check_int
from ..adapters import Adapter
from ..attribution import Attribution
from ..exceptions import BudgetError, InvalidInputError
from .agreement import feature_agreement
from .base import Metric
from .ranking import resolve_k, rowwise_pearson

__all__ = ["ShapleyError", "ShapleyCorrelation", "ShapleyTopK", "shapley_error", "shapley_correlation", "shapley_topk"]


def _check_pair(values: Any, reference: Any) -> tuple[np.ndarray, np.ndarray]:
    values = np.asarray(values, dtype=np.float64)
    reference = np.asarray(reference, dtype=np.float64)
    if values.ndim != 2 or values.shape != reference.shape:
        raise InvalidInputError(
            f"values and reference must be (n, m) arrays of the same shape, got {values.shape} and {reference.shape}."
        )
    if not (np.isfinite(values).all() and np.isfinite(reference).all()):
        raise InvalidInputError("values or reference hold NaN or infinite values.")
    return values, reference


def shapley_error(values: Any, reference: Any) -> np.ndarray:
    """Mean absolute error to the exact Shapley values, per row.

    ``MAE_r = (1/m) Σ_i |φ_ri − φ*_ri|``.

    Parameters
    ----------
    values, reference : array-like of shape (n, m)
        Estimated and exact Shapley values of the same rows.

    Returns
    -------
    ndarray of shape (n,)
    """
    values, reference = _check_pair(values, reference)
    return np.abs(values - reference).mean(axis=1)


def shapley_correlation(values: Any, reference: Any) -> np.ndarray:
    """Pearson correlation with the exact Shapley values, per row.

    ``ρ_r = cov(φ_r, φ*_r) / (σ(φ_r) σ(φ*_r))`` over the ``m`` features of row ``r``.

    Returns
    -------
    ndarray of shape (n,), in [-1, 1]
        NaN for rows where either vector is constant (e.g. all zero): the correlation is
        undefined there, and those rows are left out of the metric's mean.
    """
    values, reference = _check_pair(values, reference)
    return rowwise_pearson(values, reference)


def shapley_topk(values: Any, reference: Any, k: int | float | None = None) -> np.ndarray:
    """Share of the exact top-k features (by ``|φ*|``) that the estimate also ranks top-k.

    ``|top_k(|φ|) ∩ top_k(|φ*|)| / k`` per row; ties broken by column index (see
    :mod:`agnostic_xai.metrics.agreement`). ``k`` is a count or a fraction of the features.
    """
    values, reference = _check_pair(values, reference)
    return feature_agreement(values, reference, k)


class _ShapleyMetric(Metric):
    family = "ground_truth"
    needs_reference = True  # compare passes its one enumeration as reference=
    requires_model = True
    requires_background = True

    def _inputs(
        self, attribution: Attribution, adapter: Adapter | None, background: np.ndarray | None
    ) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """The estimate's values and the exact values of the same rows."""
        assert adapter is not None and background is not None  # requires_model and requires_background
        return (attribution.values, self._exact(attribution, adapter, background).values), {}

    def _exact(self, attribution: Attribution, adapter: Adapter, background: np.ndarray) -> Attribution:
        """The exact Shapley values for ``attribution``'s rows: the given reference, or enumerated."""
        if attribution.output != adapter.output:
            raise InvalidInputError(
                f"The attribution explains the {attribution.output!r} output but the adapter gives {adapter.output!r}; "
                "wrap the model with the output the explainer used."
            )
        reference = self.reference
        if reference is not None:
            if not isinstance(reference, Attribution):
                raise InvalidInputError(
                    f"reference must be an Attribution (from exact_shapley), got {type(reference).__name__}."
                )
            mismatch = [
                what
                for what, same in (
                    ("shape", reference.values.shape == attribution.values.shape),
                    ("feature names", reference.feature_names == attribution.feature_names),
                    ("rows", reference.data.shape == attribution.data.shape
                     and np.array_equal(reference.data, attribution.data)),
                    ("targets", np.array_equal(reference.target, attribution.target)),
                    ("output", reference.output == attribution.output),
                )
                if not same
            ]
            if mismatch:
                raise InvalidInputError(
                    f"reference does not describe the explained quantity: its {', '.join(mismatch)} differ. "
                    "Compute it with exact_shapley(adapter, attribution.data, background, attribution.target, "
                    "groups=attribution.groups)."
                )
            return reference
        players = attribution.n_features
        if players > check_int(self.max_features, "max_features", minimum=1):
            message = exact_budget_message(
                players, self.max_features, grouped=attribution.groups is not None,
                who=f"{self.name}: exact Shapley values are explicitly unavailable: they would",
            )
            raise BudgetError(f"{message[:-1]}; or pass reference= precomputed exact values.")
        return exact_shapley(
            adapter,
            attribution.data,
            background,
            attribution.target,
            groups=attribution.groups,
            max_features=self.max_features,
        )


class ShapleyError(_ShapleyMetric):
    """Mean absolute error to the exact Shapley values (lower is better); see :func:`shapley_error`.

    Parameters
    ----------
    max_features : int, default=MAX_EXACT_FEATURES (16)
        Largest number of features (or groups) for which the exact values are enumerated
        (the project's one exact-enumeration limit, shared with ``exact_shapley`` and
        ``compare``'s ``exact_limit``); above it the metric raises
        :class:`~agnostic_xai.exceptions.BudgetError`.
    reference : Attribution, optional
        Precomputed exact Shapley values of the same rows, targets, output and groups; skips
        the enumeration (share one across the explanations being compared).
    """

    name = "shapley_error"
    function = shapley_error
    higher_is_better = False

    def __init__(self, max_features: int = MAX_EXACT_FEATURES, reference: Attribution | None = None) -> None:
        self.max_features = max_features
        self.reference = reference


class ShapleyCorrelation(_ShapleyMetric):
    """Pearson correlation with the exact Shapley values (higher is better); see :func:`shapley_correlation`.

    Parameters
    ----------
    max_features : int, default=MAX_EXACT_FEATURES (16)
    reference : Attribution, optional
        See :class:`ShapleyError`.
    """

    name = "shapley_correlation"
    function = shapley_correlation
    higher_is_better = True

    def __init__(self, max_features: int = MAX_EXACT_FEATURES, reference: Attribution | None = None) -> None:
        self.max_features = max_features
        self.reference = reference


class ShapleyTopK(_ShapleyMetric):
    """Overlap with the exact top-k features (higher is better); see :func:`shapley_topk`.

    Parameters
    ----------
    k : int, float or None, default=None
        Number of top features, or a fraction of the features; None is the top 5, or every feature when there are fewer.
    max_features : int, default=MAX_EXACT_FEATURES (16)
    reference : Attribution, optional
        See :class:`ShapleyError`.
    """

    name = "shapley_topk"
    function = shapley_topk
    config = ("k",)
    higher_is_better = True

    def __init__(self, k: int | float | None = None, max_features: int = MAX_EXACT_FEATURES, reference: Attribution | None = None) -> None:
        self.k = k
        self.max_features = max_features
        self.reference = reference

    def _inputs(
        self, attribution: Attribution, adapter: Adapter | None, background: np.ndarray | None
    ) -> tuple[tuple[Any, ...], dict[str, Any]]:
        resolve_k(self.k, attribution.n_features)  # fail before the enumeration, not after
        return super()._inputs(attribution, adapter, background)
