"""Rankings, top-k sets and row-wise correlations: the one home of these helpers.

Every metric that orders players (columns, or feature groups when an attribution has
``groups``), keeps the top ``k`` of them, or correlates two explanations row by row uses the
functions here, so a tie, a fractional ``k`` and a constant row mean the same thing in every
family:

* **Order.** Players are sorted by ``−value`` (``by="signed"``) or ``−|value|``
  (``by="absolute"``) with a stable sort: of two equal players the one with the smaller index
  comes first, so every ranking is deterministic.
* **How many.** A count is an int in ``[1, upper]`` or a fraction ``q`` in ``(0, 1]`` meaning
  ``ceil(q · m)`` players (at least one; ``0.2 · 30`` counts as 6, not 7).
* **Constant rows.** A row whose centred norm is at most ``1e-12`` of its raw norm is constant,
  and its correlation with anything is NaN (undefined), whether it is exactly constant or
  constant up to rounding: ``[0.1, 0.1, 0.1]`` centred by its floating-point mean is not exactly
  zero, and correlating that rounding noise would return an arbitrary number.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np
from scipy.stats import rankdata

from ..exceptions import InvalidInputError

__all__ = [
    "DEFAULT_TOP_K",
    "rank_players",
    "top_k_order",
    "top_k_mask",
    "n_from_fraction",
    "resolve_count",
    "resolve_k",
    "rowwise_pearson",
    "rowwise_spearman",
]

#: The top-k used when ``k`` is None (or every feature, when there are fewer).
DEFAULT_TOP_K = 5

#: A centred row whose norm is at most this fraction of its raw norm is treated as constant.
_CONSTANT_RTOL = 1e-12


def rank_players(values: np.ndarray, *, by: str = "signed") -> np.ndarray:
    """Players of each row ordered most important first, shape ``(n, m)`` of indices.

    ``by="signed"`` sorts by value, largest (most positive evidence for the explained output)
    first; ``by="absolute"`` sorts by ``|value|``. Ties keep column order (stable sort).
    """
    if by == "signed":
        key = -values
    elif by == "absolute":
        key = -np.abs(values)
    else:  # pragma: no cover - internal argument
        raise ValueError(by)
    return np.argsort(key, axis=1, kind="stable")


def top_k_order(values: np.ndarray, k: int) -> np.ndarray:
    """Column indices of the ``k`` largest ``|values|`` per row, most important first, shape ``(n, k)``."""
    return rank_players(values, by="absolute")[:, :k]


def top_k_mask(values: np.ndarray, k: int) -> np.ndarray:
    """Boolean ``(n, m)`` mask of the ``k`` largest ``|values|`` of each row (see :func:`top_k_order`)."""
    mask = np.zeros(values.shape, dtype=bool)
    np.put_along_axis(mask, top_k_order(values, k), True, axis=1)
    return mask


def n_from_fraction(fraction: float, n_players: int) -> int:
    """``ceil(fraction · m)`` players, at least one (``fraction`` in (0, 1])."""
    return max(1, min(n_players, math.ceil(fraction * n_players - 1e-12)))


def resolve_count(
    k: Any, n_players: int, name: str = "k", *, upper: int | None = None, default: int | None = None
) -> int:
    """A number of players: an int in ``[1, upper]`` or a fraction in ``(0, 1]`` (ceil, at least 1).

    Parameters
    ----------
    k : int, float or None
        The count, or a fraction of ``n_players``; None only when ``default`` is given.
    n_players : int
        The number of players the count is taken from.
    name : str, default="k"
        The argument's name in messages.
    upper : int, optional
        The largest count allowed (default ``n_players``).
    default : int, optional
        The count for ``k=None``, capped at ``n_players``.

    Raises
    ------
    InvalidInputError
        For booleans, non-numbers, a fraction outside ``(0, 1]`` or a count outside ``[1, upper]``.
    """
    upper = n_players if upper is None else upper
    if k is None and default is not None:
        return min(default, n_players)
    if isinstance(k, (bool, np.bool_)) or not isinstance(k, numbers.Real):
        raise InvalidInputError(f"{name} must be an int (a count) or a fraction in (0, 1], got {k!r}.")
    if isinstance(k, numbers.Integral):
        count = int(k)
    elif 0.0 < float(k) <= 1.0:
        count = n_from_fraction(float(k), n_players)
    else:
        raise InvalidInputError(f"A fractional {name} must lie in (0, 1], got {k!r}; pass an int for a count.")
    if not 1 <= count <= upper:
        raise InvalidInputError(
            f"{name}={k!r} is out of range: it selects {count} of {n_players} features (or groups); pass "
            f"1 <= {name} <= {upper}, or a fraction of the features such as {name}=0.2."
        )
    return count


def resolve_k(k: Any, n_features: int) -> int:
    """The top-k count of the agreement, ground-truth and stability metrics: None is ``DEFAULT_TOP_K``.

    :func:`resolve_count` with ``default=DEFAULT_TOP_K``, so the default works on small
    feature sets while an explicit ``k`` out of range is an error.
    """
    return resolve_count(k, n_features, "k", default=DEFAULT_TOP_K)


def rowwise_pearson(a: Any, b: Any) -> np.ndarray:
    """Pearson correlation of ``a[i]`` and ``b[i]`` for each row (last axis); NaN where either is constant.

    ``r = Σ a'b' / sqrt(Σ a'² · Σ b'²)`` with ``a'``, ``b'`` centred, clipped to [-1, 1]. One
    square root of the product (not a product of roots) keeps two identical rankings at
    exactly 1.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    ca = a - a.mean(axis=-1, keepdims=True)
    cb = b - b.mean(axis=-1, keepdims=True)
    ssa = (ca * ca).sum(axis=-1)
    ssb = (cb * cb).sum(axis=-1)
    constant = (np.sqrt(ssa) <= _CONSTANT_RTOL * np.sqrt((a * a).sum(axis=-1))) | (
        np.sqrt(ssb) <= _CONSTANT_RTOL * np.sqrt((b * b).sum(axis=-1))
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (ca * cb).sum(axis=-1) / np.sqrt(ssa * ssb)
    return np.where(constant, np.nan, np.clip(r, -1.0, 1.0))


def rowwise_spearman(a: Any, b: Any) -> np.ndarray:
    """Spearman correlation per row: Pearson of average ranks (as :func:`scipy.stats.spearmanr`).

    NaN where a row is constant (all its values tie).
    """
    return rowwise_pearson(rankdata(a, axis=-1), rankdata(b, axis=-1))
