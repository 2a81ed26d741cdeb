"""Statistics for comparison tables: bootstrap intervals, paired tests, Holm correction, ties.

Two explainers whose scores differ by rounding only are tied, not ranked: a paired
difference ``|a − b| <= tol`` counts as zero, with ``tol`` from :func:`tie_tolerance`
(relative to the scale of the scores). A paired test on ``n`` rows cannot give a p-value
below :func:`min_p_value` ``(n)``; with Holm over ``m`` comparisons nothing is significant
at ``α`` unless ``m · min_p_value(n) < α`` (:func:`rows_needed`).
"""

from __future__ import annotations

import numpy as np
from scipy import stats

__all__ = [
    "TIE_RTOL",
    "bootstrap_ci",
    "holm",
    "min_p_value",
    "paired_wilcoxon",
    "rows_needed",
    "tie_tolerance",
    "tolerant_rank",
]

#: Relative tolerance below which two scores are tied (see :func:`tie_tolerance`). Float64
#: rounding of a score that sums up to a million terms of the scale ``s`` stays below about
#: ``1e-10 · s``; differences that matter between explainers are many orders of magnitude
#: larger. Scores computed from a float32 model can differ by ~1e-7 relative between two
#: ways of computing the same quantity; pass a larger ``rtol`` to tie those too.
TIE_RTOL = 1e-9


def tie_tolerance(scores: np.ndarray, attribution_scale: float = 0.0, *, rtol: float = TIE_RTOL) -> float:
    """Largest paired difference of ``scores`` that is a tie: ``rtol · max(S, min(1, A))``.

    ``S`` is the largest finite ``|score|`` of the metric (every explainer and row,
    references included, so a column of near-zero errors is measured against the floor's
    error), ``A`` the largest ``|φ|`` of the explanations: errors between explanations are
    in the units of ``φ``, so when every score is rounding noise (two exact methods, both
    about 1e-16 from the ground truth) the explanations give the scale. ``A`` is capped at 1
    so that explanations in large units never tie dimensionless scores (correlations).
    """
    values = np.abs(np.asarray(scores, dtype=np.float64))
    values = values[np.isfinite(values)]
    scale = float(values.max()) if values.size else 0.0
    floor = min(1.0, float(attribution_scale)) if np.isfinite(attribution_scale) else 0.0
    return float(rtol) * max(scale, floor)


def tolerant_rank(values: np.ndarray, tol: float, *, higher_is_better: bool) -> np.ndarray:
    """Ranks (1 is best) in which values within ``tol`` of their neighbour share the average rank.

    Values are sorted best first; a run of consecutive values each within ``tol`` of the
    previous one is one tie. NaN keeps NaN.
    """
    values = np.asarray(values, dtype=np.float64)
    ranks = np.full(values.shape, np.nan)
    finite = np.flatnonzero(np.isfinite(values))
    if finite.size == 0:
        return ranks
    key = -values[finite] if higher_is_better else values[finite]
    order = finite[np.argsort(key, kind="stable")]
    start = 0
    for stop in range(1, order.size + 1):
        if stop == order.size or abs(values[order[stop]] - values[order[stop - 1]]) > tol:
            ranks[order[start:stop]] = (start + 1 + stop) / 2.0
            start = stop
    return ranks


def min_p_value(n: int) -> float:
    """Smallest two-sided p-value :func:`paired_wilcoxon` can give on ``n`` pairs.

    Every difference of one sign and no ties: exactly ``2 / 2**n`` for ``n <= 50`` (scipy's
    exact distribution), the normal approximation above. Computed with the test itself, so
    it is the real floor of the p-values reported. NaN below two pairs.
    """
    if n < 2:
        return float("nan")
    return float(stats.wilcoxon(np.arange(1.0, n + 1.0), zero_method="wilcox", alternative="two-sided").pvalue)


def rows_needed(n_comparisons: int, alpha: float, *, limit: int = 10_000) -> int | None:
    """Fewest pairs with which ``n_comparisons`` Holm-corrected tests can all reach ``p < alpha``.

    The smallest Holm-adjusted p-value of ``m`` tests is ``m · min_p_value(n)``; this is the
    smallest ``n`` with ``m · min_p_value(n) < alpha`` (None above ``limit``).
    """
    m = max(1, int(n_comparisons))
    for n in range(2, limit + 1):
        if m * min_p_value(n) < alpha:
            return n
    return None


def bootstrap_ci(
    scores: np.ndarray, *, confidence: float = 0.95, n_resamples: int = 2000, random_state: int = 0
) -> tuple[float, float]:
    """Percentile bootstrap confidence interval of the mean of ``scores`` (NaNs dropped).

    Returns ``(nan, nan)`` for fewer than two finite scores.
    """
    finite = np.asarray(scores, dtype=np.float64)
    finite = finite[np.isfinite(finite)]
    if finite.size < 2:
        return float("nan"), float("nan")
    rng = np.random.default_rng(random_state)
    means = finite[rng.integers(0, finite.size, size=(n_resamples, finite.size))].mean(axis=1)
    alpha = (1 - confidence) / 2
    low, high = np.quantile(means, [alpha, 1 - alpha])
    return float(low), float(high)


def holm(p_values: np.ndarray) -> np.ndarray:
    """Holm–Bonferroni adjusted p-values (step-down, monotone, capped at 1; NaN kept)."""
    p = np.asarray(p_values, dtype=np.float64)
    adjusted = np.full_like(p, np.nan)
    valid = np.flatnonzero(np.isfinite(p))
    m = valid.size
    if m == 0:
        return adjusted
    order = valid[np.argsort(p[valid], kind="stable")]
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[index]))
        adjusted[index] = running
    return adjusted


def paired_wilcoxon(a: np.ndarray, b: np.ndarray, *, atol: float = 0.0) -> tuple[float, float, int]:
    """Two-sided Wilcoxon signed-rank test of paired scores ``a`` vs ``b``.

    Rows where either score is NaN are dropped. Differences with ``|a − b| <= atol`` are
    ties (rounding, not evidence: see :func:`tie_tolerance`) and, like exact zeros, are
    dropped (scipy's ``zero_method="wilcox"``). Returns ``(statistic, p_value, n_pairs)``
    with ``n_pairs`` the finite pairs; the p-value is 1.0 when every difference is a tie and
    NaN with fewer than two pairs.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    keep = np.isfinite(a) & np.isfinite(b)
    diff = a[keep] - b[keep]
    n = int(diff.size)
    if n < 2:
        return float("nan"), float("nan"), n
    diff = np.where(np.abs(diff) <= atol, 0.0, diff)
    if np.all(diff == 0):
        return 0.0, 1.0, n
    result = stats.wilcoxon(diff, zero_method="wilcox", alternative="two-sided")
    return float(result.statistic), float(result.pvalue), n
