"""Relative input and output stability (Agarwal et al. 2022): the pure functions.

Agarwal, C., Johnson, N., Pawelczyk, M., Krishna, S., Saxena, E., Zitnik, M., & Lakkaraju,
H. (2022). *Rethinking stability for attribution-based explanations.* ICLR PAIR2Struct.
For a row ``x``, its explanation ``φ = φ(x)`` and perturbed rows ``x'_p`` with explanations
``φ'_p``::

    RIS(x) = max_p  change(φ, φ'_p) / change(x, x'_p)
    ROS(x) = max_p  change(φ, φ'_p) / max(||f(x) − f(x'_p)||, ε)

``form`` says what a relative change is:

``"norm_ratio"`` (default)
    ``change(a, a') = ||a' − a|| / ||a||``: the size of the change relative to the size of
    the vector (``||a||`` replaced by 1 where ``a = 0``). It does not depend on whether
    single entries are 0, so it means the same on min-max scaled, binary and one-hot
    columns, most of whose entries are exactly 0.
``"elementwise"``
    The paper's ``change(a, a') = ||(a' − a) / a||`` with the division entry by entry and
    ``ε`` in place of every zero divisor. Where entries of ``x`` or ``φ`` are exactly 0 the
    score is ``ε``-driven: a zero input entry that moves divides by ``ε`` (the input change
    explodes and the score collapses towards 0), a zero attribution that moves explodes the
    numerator. Its value then scales like ``1/ε`` and says nothing about the explainer; the
    extras report how much of each score came from the guard (``eps_share``).

A draw that leaves ``x`` unchanged (possible when only binary columns are perturbed and none
flipped) is not a perturbation and is left out of the maximum; a row none of whose draws
changed it scores NaN.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import check_choice, check_float
from ..exceptions import InvalidInputError

__all__ = ["FORMS", "NORMS", "norm_order", "check_values", "relative_input_stability", "relative_output_stability"]

FORMS = ("norm_ratio", "elementwise")
NORMS = {"l1": 1.0, "l2": 2.0, "linf": np.inf}

#: A score more than this share of which comes from ``ε``-guarded entries is ``ε``-dominated.
EPS_DOMINATED_SHARE = 0.5


def norm_order(norm: str) -> float:
    """The ``numpy.linalg.norm`` order of ``"l1"``, ``"l2"`` or ``"linf"``."""
    check_choice(norm, "norm", sorted(NORMS))
    return NORMS[norm]


def check_values(values: Any, perturbed_values: Any) -> tuple[np.ndarray, np.ndarray]:
    """Validate explanations ``(n, m)`` and their re-runs on perturbed rows ``(P, n, m)``."""
    values = np.asarray(values, dtype=np.float64)
    perturbed_values = np.asarray(perturbed_values, dtype=np.float64)
    if values.ndim != 2 or perturbed_values.ndim != 3 or perturbed_values.shape[1:] != values.shape:
        raise InvalidInputError(
            f"Expected values (n, m) and perturbed values (p, n, m); got {values.shape} and {perturbed_values.shape}."
        )
    if perturbed_values.shape[0] == 0:
        raise InvalidInputError("At least one perturbation is needed.")
    if not (np.isfinite(values).all() and np.isfinite(perturbed_values).all()):
        raise InvalidInputError("Attribution values hold NaN or infinite values.")
    return values, perturbed_values


def _change(a: np.ndarray, a_perturbed: np.ndarray, form: str, order: float, eps: float) -> tuple[np.ndarray, np.ndarray]:
    """Relative change ``(P, n)`` of ``a (n, m)`` to ``a_perturbed (P, n, m)`` and the share of it due to ``ε``."""
    delta = a_perturbed - a[None]
    if form == "norm_ratio":
        size = np.linalg.norm(a, ord=order, axis=1)
        return np.linalg.norm(delta, ord=order, axis=2) / np.where(size == 0, 1.0, size)[None], np.zeros(delta.shape[:2])
    guarded = np.broadcast_to(a[None] == 0, delta.shape)
    ratio = delta / np.where(a == 0, eps, a)[None]
    total = np.linalg.norm(ratio, ord=order, axis=2)
    from_eps = np.linalg.norm(np.where(guarded, ratio, 0.0), ord=order, axis=2)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(total > 0, from_eps / total, 0.0)
    return total, share


def _check_form(form: Any, eps: Any) -> None:
    check_choice(form, "form", FORMS)
    check_float(eps, "eps", minimum=0.0, strict=True, kind="positive")


def _maximum(ratio: np.ndarray, share: np.ndarray, valid: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Max over valid draws ``(P, n)`` per row, with the ``ε`` share of the maximising draw."""
    masked = np.where(valid, ratio, -np.inf)
    best = masked.argmax(axis=0)
    rows = np.arange(ratio.shape[1])
    any_valid = valid.any(axis=0)
    scores = np.where(any_valid, masked[best, rows], np.nan)
    eps_share = np.where(any_valid, share[best, rows], np.nan)
    return scores, {"eps_share": eps_share, "eps_dominated": eps_share > EPS_DOMINATED_SHARE}


def relative_input_stability(
    X: Any,
    values: Any,
    X_perturbed: Any,
    perturbed_values: Any,
    *,
    norm: str = "l2",
    eps: float = 1e-6,
    form: str = "norm_ratio",
    return_extras: bool = False,
) -> Any:
    """Relative input stability: explanation change relative to input change (module docstring).

    Parameters
    ----------
    X : array-like of shape (n, d)
    values : array-like of shape (n, m)
    X_perturbed : array-like of shape (P, n, d)
    perturbed_values : array-like of shape (P, n, m)
    norm : {"l2", "l1", "linf"}
    eps : float
        ``"elementwise"`` only: the guard for zero divisors and the floor of the input
        change (the paper's ``ε_min``).
    form : {"norm_ratio", "elementwise"}
    return_extras : bool
        Also return ``{"eps_share", "eps_dominated"}`` per row.

    Returns
    -------
    scores : ndarray of shape (n,), >= 0 (0 for an explainer that ignores its input; NaN for
        a row that no draw changed)
    extras : dict, only with ``return_extras``
        ``eps_share`` (n,): the share of the maximising draw's numerator or denominator norm
        that comes from ``ε``-guarded entries (the larger of the two; 1 where the input
        change was floored at ``ε``); ``eps_dominated`` (n,) bool: ``eps_share > 0.5``.
    """
    order = norm_order(norm)
    _check_form(form, eps)
    values, perturbed_values = check_values(values, perturbed_values)
    X = np.asarray(X, dtype=np.float64)
    X_perturbed = np.asarray(X_perturbed, dtype=np.float64)
    if X.ndim != 2 or X.shape[0] != values.shape[0] or X_perturbed.shape != (perturbed_values.shape[0], *X.shape):
        raise InvalidInputError(
            f"Expected X (n, d) and X_perturbed (P, n, d) matching the values; got {X.shape} and {X_perturbed.shape}."
        )
    numerator, share_num = _change(values, perturbed_values, form, order, eps)
    denominator, share_den = _change(X, X_perturbed, form, order, eps)
    if form == "elementwise":
        floored = denominator < eps
        share_den = np.where(floored, 1.0, share_den)
        ratio, valid = numerator / np.maximum(denominator, eps), np.ones_like(floored)
    else:
        valid = np.any(X_perturbed != X[None], axis=2)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(valid, numerator / np.where(valid, denominator, 1.0), 0.0)
    scores, extras = _maximum(ratio, np.maximum(share_num, share_den), valid)
    return (scores, extras) if return_extras else scores


def relative_output_stability(
    outputs: Any,
    values: Any,
    perturbed_outputs: Any,
    perturbed_values: Any,
    *,
    X: Any = None,
    X_perturbed: Any = None,
    norm: str = "l2",
    eps: float = 1e-6,
    form: str = "norm_ratio",
    return_extras: bool = False,
) -> Any:
    """Relative output stability: explanation change relative to the change of the model's outputs.

    ``ROS(x) = max_p change(φ, φ'_p) / max(||f(x) − f(x'_p)||, ε)`` (module docstring). The
    paper uses the logits ``f``; pass the outputs of an adapter wrapped with
    ``output="logit"`` for that (probabilities saturate, and a saturated output changes by
    almost nothing, which makes any explanation change look unstable).

    Parameters
    ----------
    outputs : array-like of shape (n, k)
        ``f(x)``, every output of the model.
    values : array-like of shape (n, m)
    perturbed_outputs : array-like of shape (P, n, k)
    perturbed_values : array-like of shape (P, n, m)
    X, X_perturbed : array-like of shapes (n, d) and (P, n, d), optional
        When given, draws that leave the row unchanged are left out.
    norm : {"l2", "l1", "linf"}
    eps : float
        Floor ``ε`` of the output change (and the zero guard of ``"elementwise"``).
    form : {"norm_ratio", "elementwise"}
        How the explanation change is measured.
    return_extras : bool
        Also return ``{"eps_share", "eps_dominated"}``; ``eps_share`` is 1 for a row whose
        maximising draw had its output change floored at ``ε``.

    Returns
    -------
    scores : ndarray of shape (n,)
    extras : dict, only with ``return_extras``
    """
    order = norm_order(norm)
    _check_form(form, eps)
    values, perturbed_values = check_values(values, perturbed_values)
    outputs = np.asarray(outputs, dtype=np.float64)
    perturbed_outputs = np.asarray(perturbed_outputs, dtype=np.float64)
    if outputs.ndim != 2 or outputs.shape[0] != values.shape[0] or perturbed_outputs.shape != (
        perturbed_values.shape[0], *outputs.shape
    ):
        raise InvalidInputError(
            f"Expected outputs (n, k) and perturbed outputs (P, n, k); got {outputs.shape} and {perturbed_outputs.shape}."
        )
    numerator, share = _change(values, perturbed_values, form, order, eps)
    output_change = np.linalg.norm(perturbed_outputs - outputs[None], ord=order, axis=2)
    floored = output_change < eps
    valid = np.ones_like(floored)
    if X is not None and X_perturbed is not None:
        valid = np.any(np.asarray(X_perturbed, dtype=np.float64) != np.asarray(X, dtype=np.float64)[None], axis=2)
    ratio = numerator / np.maximum(output_change, eps)
    scores, extras = _maximum(ratio, np.where(floored, 1.0, share), valid)
    return (scores, extras) if return_extras else scores
