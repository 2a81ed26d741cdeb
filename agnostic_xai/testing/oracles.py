"""Exact oracles: Shapley values by full enumeration, and closed forms.

The enumeration (:func:`exact_shapley`, :func:`coalition_matrix`, :func:`shapley_weights`,
:data:`MAX_EXACT_FEATURES`) is production code in :mod:`agnostic_xai._shapley`, re-exported
here unchanged; the closed forms (:func:`linear_shapley`) are test-only.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._shapley import MAX_EXACT_FEATURES, coalition_matrix, exact_shapley, shapley_weights

__all__ = ["exact_shapley", "linear_shapley", "coalition_matrix", "shapley_weights", "MAX_EXACT_FEATURES"]


def linear_shapley(weights: Any, X: Any, background: Any) -> np.ndarray:
    """Closed-form interventional Shapley values of a linear model: ``w_i (x_i - mean(background_i))``."""
    w = np.asarray(weights, dtype=np.float64).reshape(-1)
    X = np.asarray(X, dtype=np.float64)
    return w * (X - np.asarray(background, dtype=np.float64).mean(axis=0))
