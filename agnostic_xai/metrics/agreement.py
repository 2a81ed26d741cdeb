"""Agreement between two explanations of the same rows: the disagreement problem.

Krishna et al. (2022) showed that popular explainers often disagree on the same model and
rows, and defined the measures implemented here. Each compares two value matrices ``a`` and
``b`` of shape ``(n, m)`` row by row and returns ``n`` scores; every measure is symmetric in
``a`` and ``b``, depends on the values only through their order (so it is invariant to
multiplying either explanation by a positive number), and gives 1 for identical rows.

Importance is ``|φ|``. Ties in the top-k orderings are broken deterministically: features are
sorted by ``(−|φ|, index)`` (a stable sort), so of two equally important features the one with
the smaller column index ranks first. Rank correlations use average ranks for ties (as
:func:`scipy.stats.spearmanr`), and pairwise rank agreement treats a tie as an order of its own.

Reference
---------
Krishna, S., Han, T., Gu, A., Pombra, J., Jabbari, S., Wu, S., & Lakkaraju, H. (2022).
*The Disagreement Problem in Explainable Machine Learning: A Practitioner's Perspective.*
arXiv:2202.01602.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..attribution import Attribution
from ..exceptions import InvalidInputError
from .base import AgreementMetric
from .ranking import resolve_k, rowwise_pearson, rowwise_spearman, top_k_mask, top_k_order

__all__ = [
    "FeatureAgreement",
    "RankAgreement",
    "SignAgreement",
    "SignedRankAgreement",
    "RankCorrelation",
    "PairwiseRankAgreement",
    "agreement_matrix",
    "feature_agreement",
    "rank_agreement",
    "sign_agreement",
    "signed_rank_agreement",
    "rank_correlation",
    "pairwise_rank_agreement",
    # re-exported from .ranking, their one home
    "resolve_k",
    "top_k_order",
    "top_k_mask",
    "rowwise_pearson",
    "rowwise_spearman",
]


# ---------------------------------------------------------------------------- shared helpers
def _check_pair(a: Any, b: Any) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.ndim != 2 or a.shape != b.shape:
        raise InvalidInputError(f"Agreement compares two (n, m) arrays of the same shape, got {a.shape} and {b.shape}.")
    if a.shape[1] == 0:
        raise InvalidInputError("Agreement needs at least one feature.")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise InvalidInputError("Attribution values hold NaN or infinite values; agreement is undefined.")
    return a, b


def _feature_subset(features: Sequence[int] | None, n_features: int, minimum: int) -> np.ndarray:
    if features is None:
        return np.arange(n_features)
    index = np.asarray(features)
    if index.ndim != 1 or not np.issubdtype(index.dtype, np.integer):
        raise InvalidInputError(f"features must be a sequence of column indices, got {features!r}.")
    if index.size < minimum or len(np.unique(index)) != index.size:
        raise InvalidInputError(f"features must hold at least {minimum} distinct column indices, got {features!r}.")
    if index.min() < 0 or index.max() >= n_features:
        raise InvalidInputError(f"features holds indices outside [0, {n_features - 1}]: {features!r}.")
    return index


# ---------------------------------------------------------------------------- pure functions
def feature_agreement(a: Any, b: Any, k: int | float | None = None) -> np.ndarray:
    """Fraction of shared top-k features (Krishna et al. 2022, feature agreement).

    ``FA = |top_k(|a|) ∩ top_k(|b|)| / k``, per row.

    Parameters
    ----------
    a, b : array-like of shape (n, m)
        Attribution values of the same rows.
    k : int, float or None
        Number of top features, or a fraction of ``m``; None is the top 5, or every feature when there are fewer.

    Returns
    -------
    ndarray of shape (n,), in [0, 1]
    """
    a, b = _check_pair(a, b)
    k = resolve_k(k, a.shape[1])
    return (top_k_mask(a, k) & top_k_mask(b, k)).sum(axis=1) / k


def rank_agreement(a: Any, b: Any, k: int | float | None = None) -> np.ndarray:
    """Fraction of the top-k positions holding the same feature (Krishna et al. 2022).

    ``RA = |{r < k : order_a[r] = order_b[r]}| / k``, per row, with ``order`` the features
    sorted by decreasing ``|φ|`` (ties by index).
    """
    a, b = _check_pair(a, b)
    k = resolve_k(k, a.shape[1])
    return (top_k_order(a, k) == top_k_order(b, k)).mean(axis=1)


def sign_agreement(a: Any, b: Any, k: int | float | None = None) -> np.ndarray:
    """Fraction of features in both top-k sets that also have the same sign (Krishna et al. 2022).

    ``SA = |{i ∈ top_k(a) ∩ top_k(b) : sign(a_i) = sign(b_i)}| / k``, per row.
    """
    a, b = _check_pair(a, b)
    k = resolve_k(k, a.shape[1])
    shared = top_k_mask(a, k) & top_k_mask(b, k) & (np.sign(a) == np.sign(b))
    return shared.sum(axis=1) / k


def signed_rank_agreement(a: Any, b: Any, k: int | float | None = None) -> np.ndarray:
    """Fraction of top-k positions with the same feature and the same sign (Krishna et al. 2022).

    ``SRA = |{r < k : order_a[r] = order_b[r], sign(a[order_a[r]]) = sign(b[order_b[r]])}| / k``.
    """
    a, b = _check_pair(a, b)
    k = resolve_k(k, a.shape[1])
    order_a, order_b = top_k_order(a, k), top_k_order(b, k)
    same_sign = np.sign(np.take_along_axis(a, order_a, axis=1)) == np.sign(np.take_along_axis(b, order_b, axis=1))
    return ((order_a == order_b) & same_sign).mean(axis=1)


def rank_correlation(a: Any, b: Any, features: Sequence[int] | None = None) -> np.ndarray:
    """Spearman correlation of ``|a|`` and ``|b|`` per row (Krishna et al. 2022, rank correlation).

    Krishna et al. correlate the ranks of a chosen set of features ``F``; here ``F`` is every
    feature unless ``features`` names a subset, and the features of ``F`` are ranked among
    themselves by ``|φ|`` (average ranks for ties).

    Returns
    -------
    ndarray of shape (n,), in [-1, 1]
        NaN for rows where either explanation ranks every feature of ``F`` equally (e.g. an
        all-zero row): a correlation with a constant is undefined.
    """
    a, b = _check_pair(a, b)
    index = _feature_subset(features, a.shape[1], minimum=2)
    return rowwise_spearman(np.abs(a[:, index]), np.abs(b[:, index]))


def pairwise_rank_agreement(a: Any, b: Any, features: Sequence[int] | None = None) -> np.ndarray:
    """Fraction of feature pairs ordered the same way by ``|a|`` and ``|b|`` (Krishna et al. 2022).

    ``PRA = mean over pairs i < j in F of [sign(|a_i| − |a_j|) = sign(|b_i| − |b_j|)]``, with
    ``F`` every feature unless ``features`` names a subset. A tie is an order of its own: a
    pair agrees when both explanations tie it, or both put the same feature first.

    Returns
    -------
    ndarray of shape (n,), in [0, 1]
    """
    a, b = _check_pair(a, b)
    index = _feature_subset(features, a.shape[1], minimum=2)
    i, j = np.triu_indices(index.size, k=1)
    abs_a, abs_b = np.abs(a[:, index]), np.abs(b[:, index])
    order_a = np.sign(abs_a[:, i] - abs_a[:, j])
    order_b = np.sign(abs_b[:, i] - abs_b[:, j])
    return (order_a == order_b).mean(axis=1)


# ---------------------------------------------------------------------------- metric classes
class _TopKAgreement(AgreementMetric):
    """Shared ``__init__`` of the top-k measures."""

    def __init__(self, k: int | float | None = None) -> None:
        self.k = k


class FeatureAgreement(_TopKAgreement):
    """Share of top-k features two explanations have in common; see :func:`feature_agreement`.

    Parameters
    ----------
    k : int, float or None, default=None
        Number of top features by ``|φ|``, or a fraction of the features; None is the top 5, or every feature when there are fewer.
    """

    name = "feature_agreement"

    def _agree(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return feature_agreement(a, b, self.k)


class RankAgreement(_TopKAgreement):
    """Share of top-k positions holding the same feature; see :func:`rank_agreement`.

    Parameters
    ----------
    k : int, float or None, default=None
        Number of top features by ``|φ|``; None is the top 5, or every feature when there are fewer.
    """

    name = "rank_agreement"

    def _agree(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return rank_agreement(a, b, self.k)


class SignAgreement(_TopKAgreement):
    """Share of common top-k features that also agree in sign; see :func:`sign_agreement`.

    Parameters
    ----------
    k : int, float or None, default=None
        Number of top features by ``|φ|``; None is the top 5, or every feature when there are fewer.
    """

    name = "sign_agreement"

    def _agree(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return sign_agreement(a, b, self.k)


class SignedRankAgreement(_TopKAgreement):
    """Share of top-k positions with the same feature and sign; see :func:`signed_rank_agreement`.

    Parameters
    ----------
    k : int, float or None, default=None
        Number of top features by ``|φ|``; None is the top 5, or every feature when there are fewer.
    """

    name = "signed_rank_agreement"

    def _agree(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return signed_rank_agreement(a, b, self.k)


class RankCorrelation(AgreementMetric):
    """Spearman correlation of ``|φ|``, in [-1, 1]; see :func:`rank_correlation`.

    Parameters
    ----------
    features : sequence of int, optional
        Column indices of the features to correlate over (all by default).
    """

    name = "rank_correlation"

    def __init__(self, features: Sequence[int] | None = None) -> None:
        self.features = features

    def _agree(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return rank_correlation(a, b, self.features)


class PairwiseRankAgreement(AgreementMetric):
    """Share of feature pairs ordered alike by ``|φ|``; see :func:`pairwise_rank_agreement`.

    Parameters
    ----------
    features : sequence of int, optional
        Column indices of the features whose pairs are compared (all by default).
    """

    name = "pairwise_rank_agreement"

    def __init__(self, features: Sequence[int] | None = None) -> None:
        self.features = features

    def _agree(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return pairwise_rank_agreement(a, b, self.features)


def agreement_matrix(
    attributions: Mapping[str, Attribution], metric: str | AgreementMetric = "rank_correlation", **params: Any
) -> pd.DataFrame:
    """Mean agreement of every pair of explanations: an explainer × explainer table.

    Parameters
    ----------
    attributions : mapping of str to Attribution
        Explanations of the same rows (same shape and feature names), keyed by a label such
        as the explainer name.
    metric : str or AgreementMetric, default="rank_correlation"
        Registry name of an agreement metric, or an instance.
    **params
        Parameters of the metric when given by name (e.g. ``k=3``).

    Returns
    -------
    DataFrame
        Symmetric, indexed and labelled by the keys; entry ``(i, j)`` is the mean over rows
        of the agreement of ``i`` and ``j`` (finite rows only). The diagonal is 1 except
        for correlations of explanations whose rows are all constant (NaN).

    Examples
    --------
    >>> import numpy as np
    >>> from agnostic_xai import Attribution
    >>> make = lambda v: Attribution(values=v, base_values=np.zeros(1), data=v, target=[0],
    ...                              feature_names=("a", "b", "c"), method="demo")
    >>> agreement_matrix({"p": make([[3.0, 2.0, 1.0]]), "q": make([[1.0, 2.0, 3.0]])})
         p    q
    p  1.0 -1.0
    q -1.0  1.0
    """
    from . import get

    if isinstance(metric, AgreementMetric):
        if params:
            raise InvalidInputError("Pass parameters either to the metric instance or as keywords, not both.")
        measure = metric
    else:
        measure = get(metric, **params)
        if not isinstance(measure, AgreementMetric):
            raise InvalidInputError(f"{metric!r} is not an agreement metric; use one of the family 'agreement'.")
    if not isinstance(attributions, Mapping) or len(attributions) == 0:
        raise InvalidInputError("attributions must be a non-empty mapping of label -> Attribution.")
    labels = [str(label) for label in attributions]
    records = list(attributions.values())
    table = np.empty((len(records), len(records)))
    for i in range(len(records)):
        for j in range(i, len(records)):
            table[i, j] = table[j, i] = measure(records[i], records[j]).value
    return pd.DataFrame(table, index=pd.Index(labels), columns=pd.Index(labels))
