"""Saturated probabilities: how many, and why.

Explanations of a probability at exactly 0 or 1 vanish (zero gradients, no change under
removal), so :func:`~agnostic_xai.compare` warns when many explained probabilities are
saturated. A warning that always says "explain the log-odds" is wrong twice over: a module
that returns probabilities itself has no logits to explain (the adapter refuses them), and
the commonest cause on real tables is not the model at all but the input — rows fed on their
original scale to a model trained on MinMax- or standard-scaled data land far outside the
training range, every probability is 0 or 1 and every attribution is 0. So the warning
diagnoses, in this order:

1. the explained rows lie far outside the background's range in some columns: say which,
   and that the inputs look unscaled relative to the background;
2. the module returns probabilities itself: say so, and how to reach log-odds (wrap the
   module without its final activation), not ``output='logit'``;
3. otherwise: explain the log-odds, ``output='logit'``.
"""

from __future__ import annotations

import warnings

import numpy as np

from ..adapters.base import Adapter
from ..exceptions import SaturationWarning

__all__ = ["OUT_OF_RANGE_SHARE", "SATURATION_SHARE", "check_saturation", "out_of_range_columns"]

#: Share of explained rows with a saturated probability (0 or 1 to float32 precision) from
#: which :func:`check_saturation` warns.
SATURATION_SHARE = 0.05
#: A column is out of range when more than this share of the explained rows lie outside
#: ``[min - r, max + r]`` of the background, with ``r`` the background's range in that column.
OUT_OF_RANGE_SHARE = 0.5


def out_of_range_columns(X: np.ndarray, background: np.ndarray) -> np.ndarray:
    """Indices of the columns where most explained rows lie far outside the background's range.

    "Far" is more than one background range below its minimum or above its maximum: drift
    or a rare category stays inside that band, a column on another scale (amounts in euros
    against MinMax-scaled training data in [0, 1]) does not. Columns constant over the
    background have no scale to compare with and are never flagged.

    Parameters
    ----------
    X : ndarray of shape (n, d)
        Explained rows.
    background : ndarray of shape (m, d)
        Background rows.

    Returns
    -------
    ndarray of int
    """
    low, high = background.min(axis=0), background.max(axis=0)
    spread = high - low
    outside = (X < low - spread) | (X > high + spread)
    flagged = (outside.mean(axis=0) > OUT_OF_RANGE_SHARE) & (spread > 0)
    return np.flatnonzero(flagged)


def _diagnosis(adapter: Adapter, X: np.ndarray, background: np.ndarray) -> str:
    columns = out_of_range_columns(X, background)
    if columns.size:
        names = adapter.feature_names or tuple(f"x{i}" for i in range(X.shape[1]))
        shown = ", ".join(
            f"{names[j]} (rows' median {np.median(X[:, j]):.4g}, background [{background[:, j].min():.4g}, "
            f"{background[:, j].max():.4g}])"
            for j in columns[:3]
        )
        more = f" and {columns.size - 3} more" if columns.size > 3 else ""
        return (
            f"The explained rows lie far outside the background's range in {columns.size} of {X.shape[1]} columns: "
            f"{shown}{more}. The inputs look unscaled (or scaled differently) relative to the background: a "
            "model trained on scaled data sees extreme values and saturates. Scale X the way the model's "
            "training data was scaled; explaining log-odds would not cure this."
        )
    if getattr(adapter, "head", "raw") != "raw":
        return (
            "The module returns probabilities itself (adapter.head="
            f"{adapter.head!r}, head_source={getattr(adapter, 'head_source', None)!r}), so its logits are not "
            "available and output='logit' is refused. To explain log-odds, wrap the module without its final "
            "softmax/sigmoid and pass output='logit'."
        )
    return "Explain the log-odds instead: wrap(model, output='logit') (CLI: --output logit)."


def check_saturation(
    adapter: Adapter, predictions: np.ndarray, targets: np.ndarray, X: np.ndarray, background: np.ndarray
) -> float | None:
    """Share of rows whose explained probability is 0 or 1 to float32 precision; warn, with a cause, above
    :data:`SATURATION_SHARE`.

    Parameters
    ----------
    adapter : Adapter
        The explained model.
    predictions : ndarray of shape (n, k)
        The adapter's outputs on ``X``.
    targets : int ndarray of shape (n,)
        The explained output of each row.
    X : ndarray of shape (n, d)
        Explained rows.
    background : ndarray of shape (m, d)
        Background rows.

    Returns
    -------
    float or None
        The saturated share; None when the output is not a probability.
    """
    if adapter.output != "probability":
        return None
    explained = predictions[np.arange(predictions.shape[0]), targets]
    eps = float(np.finfo(np.float32).eps)
    share = float(np.mean((explained <= eps) | (explained >= 1.0 - eps)))
    if share >= SATURATION_SHARE:
        warnings.warn(
            f"{share:.0%} of the explained probabilities are saturated at 0 or 1: their gradients are zero and "
            f"explanations in probability space vanish for those rows. {_diagnosis(adapter, X, background)}",
            SaturationWarning,
            stacklevel=3,
        )
    return share
