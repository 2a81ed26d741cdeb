"""Statistics for comparison tables: bootstrap intervals, paired tests, Holm correction."""

from __future__ import annotations

import numpy as np
from scipy import stats

__all__ = ["bootstrap_ci", "holm", "paired_wilcoxon"]


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


def paired_wilcoxon(a: np.ndarray, b: np.ndarray) -> tuple[float, float, int]:
    """Two-sided Wilcoxon signed-rank test of paired scores ``a`` vs ``b``.

    Rows where either score is NaN are dropped; ties (zero differences) follow scipy's
    ``zero_method="wilcox"``. Returns ``(statistic, p_value, n_pairs)``; the p-value is 1.0
    when every difference is zero and NaN with fewer than two pairs.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    keep = np.isfinite(a) & np.isfinite(b)
    diff = a[keep] - b[keep]
    n = int(diff.size)
    if n < 2:
        return float("nan"), float("nan"), n
    if np.all(diff == 0):
        return 0.0, 1.0, n
    result = stats.wilcoxon(a[keep], b[keep], zero_method="wilcox", alternative="two-sided")
    return float(result.statistic), float(result.pvalue), n
