"""Complexity of an explanation: how concentrated its attribution mass is.

Both measures look only at the distribution of ``|φ|`` over the features of one row; they need
neither the model nor the background. A row of all zeros attributes nothing to any feature
and is scored like a uniform row (sparseness 0, complexity ``log m``), so that no NaN
appears.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..exceptions import InvalidInputError
from .base import Metric

__all__ = ["Sparseness", "Complexity", "sparseness", "complexity"]


def _check_values(values: Any) -> np.ndarray:
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 2 or values.shape[1] == 0:
        raise InvalidInputError(f"values must be an (n, m) array with m >= 1, got shape {values.shape}.")
    if not np.isfinite(values).all():
        raise InvalidInputError("values hold NaN or infinite values.")
    return values


def sparseness(values: Any) -> np.ndarray:
    """Gini index of ``|φ|`` per row (Chalasani et al. 2020).

    With ``a_(1) <= ... <= a_(m)`` the sorted absolute attributions of a row::

        G = Σ_i (2i − m − 1) a_(i) / (m Σ_i a_(i))

    ``G`` is 0 for a uniform row and ``(m − 1) / m`` (its maximum) when one feature holds all
    the mass. All-zero rows score 0.

    Parameters
    ----------
    values : array-like of shape (n, m)

    Returns
    -------
    ndarray of shape (n,), in [0, (m − 1) / m]

    References
    ----------
    Chalasani, P., Chen, J., Chowdhury, A. R., Wu, X., & Jha, S. (2020). *Concise explanations
    of neural networks using adversarial training.* ICML.
    """
    a = np.sort(np.abs(_check_values(values)), axis=1)
    m = a.shape[1]
    total = a.sum(axis=1)
    weights = 2.0 * np.arange(1, m + 1) - m - 1
    numerator = a @ weights
    out = np.zeros(a.shape[0])
    positive = total > 0
    out[positive] = numerator[positive] / (m * total[positive])
    return np.clip(out, 0.0, None)


def complexity(values: Any) -> np.ndarray:
    """Shannon entropy of the fractional contributions ``|φ| / Σ|φ|`` per row (Bhatt et al. 2020).

    ``H = −Σ_i p_i log p_i`` with ``p_i = |φ_i| / Σ_j |φ_j|`` and ``0 log 0 = 0`` (natural log).
    ``H`` is 0 when one feature holds all the mass and ``log m`` for a uniform row. All-zero
    rows score ``log m``, like a uniform row.

    Parameters
    ----------
    values : array-like of shape (n, m)

    Returns
    -------
    ndarray of shape (n,), in [0, log m]

    References
    ----------
    Bhatt, U., Weller, A., & Moura, J. M. F. (2020). *Evaluating and aggregating feature-based
    model explanations.* IJCAI.
    """
    a = np.abs(_check_values(values))
    m = a.shape[1]
    total = a.sum(axis=1, keepdims=True)
    p = np.divide(a, total, out=np.full_like(a, 1.0 / m), where=total > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, p * np.log(p), 0.0)
    return np.clip(-terms.sum(axis=1), 0.0, np.log(m))


class Sparseness(Metric):
    """Gini index of the absolute attributions (higher: sparser); see :func:`sparseness`."""

    name = "sparseness"
    function = sparseness
    family = "complexity"
    higher_is_better = True
    requires_model = False
    requires_background = False

    def __init__(self) -> None:
        pass


class Complexity(Metric):
    """Entropy of the fractional contributions (lower: simpler); see :func:`complexity`."""

    name = "complexity"
    function = complexity
    family = "complexity"
    higher_is_better = False
    requires_model = False
    requires_background = False

    def __init__(self) -> None:
        pass
