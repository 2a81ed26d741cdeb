"""Degeneracy checks: is a metric able to tell the explanations apart on the data at hand?

A metric can be well defined and still say nothing on a given table. Three cases are
checked once :func:`~agnostic_xai.compare` has every score:

``pgi_equals_pgu``
    PGI and PGU agree (relative difference below ``rtol``) for *every* explainer: the
    perturbation moves the output by the same amount whichever features it touches, so
    neither metric ranks anything (Gaussian noise on binary and one-hot columns does this).
``eps_dominated``
    For most rows of some explainer the score comes mostly from a numerical guard ``ε``
    (metric extras ``eps_dominated``, e.g. the elementwise relative input stability on
    columns full of exact zeros, whose value then scales like ``1/ε``).
``all_tied``
    Every explainer gets the same score on every row (within tolerance) although the
    explanations order the features differently on some row: the metric has no
    information about the explanations here. Explanations that rank the features alike
    (identical ones, or the same ranking at other magnitudes) are expected to tie on a
    ranking metric, so their ties are not a finding. ``seed_stability`` is left out: it is
    1 for every deterministic explainer by definition, not because of the data.

Each finding is a dict ``{"metric", "kind", "message", …}``; :func:`check_degenerate`
returns them and issues one :class:`~agnostic_xai.exceptions.DegenerateMetricWarning` each.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from ..exceptions import DegenerateMetricWarning

__all__ = ["EPS_DOMINATED_SHARE", "PGI_PGU_RTOL", "TIE_ATOL", "TIE_RTOL", "check_degenerate"]

#: PGI and PGU closer than this (relative to the larger) count as equal.
PGI_PGU_RTOL = 0.02
#: ``eps_dominated`` on more than this share of an explainer's rows flags the metric.
EPS_DOMINATED_SHARE = 0.5
#: Scores within ``TIE_ATOL + TIE_RTOL · |score|`` of each other are tied.
TIE_RTOL = 1e-9
TIE_ATOL = 1e-12
#: Metrics whose ties are set by definition rather than measured on the data.
_TIED_BY_DEFINITION = ("seed_stability",)


def check_degenerate(
    table: pd.DataFrame,
    results: Mapping[tuple[str, str], Any],
    *,
    attributions: Mapping[str, Any] | None = None,
    warn: bool = True,
) -> list[dict[str, Any]]:
    """Degenerate metrics of a comparison (module docstring).

    Parameters
    ----------
    table : DataFrame
        The comparison's tidy table (``explainer``, ``metric``, ``row``, ``score``).
    results : mapping of (explainer, metric) to MetricResult
        For the extras (``eps_dominated``).
    attributions : mapping of explainer to Attribution, optional
        The explanations scored; with them, ties among explanations that rank the features
        alike are not reported (``all_tied``).
    warn : bool
        Issue a :class:`~agnostic_xai.exceptions.DegenerateMetricWarning` per finding.

    Returns
    -------
    list of dict
        One per finding: ``metric``, ``kind`` and ``message``, with the numbers behind it.
    """
    findings = _pgi_equals_pgu(table) + _eps_dominated(results) + _all_tied(table, attributions)
    if warn:
        for finding in findings:
            warnings.warn(finding["message"], DegenerateMetricWarning, stacklevel=3)
    return findings


def _means(table: pd.DataFrame, metric: str) -> pd.Series:
    scores = table[table["metric"] == metric]
    return scores[np.isfinite(scores["score"].astype(float))].groupby("explainer")["score"].mean()


def _pgi_equals_pgu(table: pd.DataFrame) -> list[dict[str, Any]]:
    pgi, pgu = _means(table, "pgi"), _means(table, "pgu")
    common = pgi.index.intersection(pgu.index)
    if common.empty:
        return []
    a, b = pgi[common].to_numpy(float), pgu[common].to_numpy(float)
    scale = np.maximum(np.abs(a), np.abs(b))
    relative = np.where(scale > 0, np.abs(a - b) / np.where(scale > 0, scale, 1.0), 0.0)
    if not np.all(relative < PGI_PGU_RTOL):
        return []
    return [
        {
            "metric": "pgi/pgu",
            "kind": "pgi_equals_pgu",
            "max_relative_difference": float(relative.max()),
            "message": (
                f"PGI and PGU agree within {PGI_PGU_RTOL:.0%} for every explainer (largest relative difference "
                f"{relative.max():.2%}): the perturbation changes the output equally whichever features it touches, "
                "so neither metric ranks the explanations. Check the column types (binary and one-hot columns need "
                "perturbation='tabular' and feature groups) or the noise size."
            ),
        }
    ]


def _eps_dominated(results: Mapping[tuple[str, str], Any]) -> list[dict[str, Any]]:
    shares: dict[str, dict[str, float]] = {}
    for (explainer, metric), result in results.items():
        flags = (getattr(result, "extras", None) or {}).get("eps_dominated")
        if flags is None:
            continue
        flags = np.asarray(flags, dtype=bool)
        if flags.size:
            shares.setdefault(metric, {})[explainer] = float(flags.mean())
    findings = []
    for metric, by_explainer in shares.items():
        flagged = {e: s for e, s in by_explainer.items() if s > EPS_DOMINATED_SHARE}
        if flagged:
            worst = max(flagged.values())
            findings.append(
                {
                    "metric": metric,
                    "kind": "eps_dominated",
                    "share_of_rows": flagged,
                    "message": (
                        f"{metric} is dominated by its guard eps for {sorted(flagged)} (up to {worst:.0%} of the rows): "
                        "zero entries of the rows or of the explanations are divided by eps, so the score scales like "
                        "1/eps and says nothing about the explainer. Use the default form='norm_ratio'."
                    ),
                }
            )
    return findings


def _same_rankings(attributions: Mapping[str, Any] | None, explainers: Any) -> bool:
    """Whether the explanations of ``explainers`` rank the players alike (by |φ|) on every row."""
    if attributions is None:
        return False
    ranks = []
    for name in explainers:
        attribution = attributions.get(name)
        if attribution is None:
            return False
        ranks.append(rankdata(np.abs(np.asarray(attribution.values, dtype=np.float64)), axis=1))
    return all(r.shape == ranks[0].shape and np.array_equal(r, ranks[0]) for r in ranks[1:])


def _all_tied(table: pd.DataFrame, attributions: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    findings = []
    for metric, scores in table.groupby("metric", sort=False):
        if metric in _TIED_BY_DEFINITION:
            continue
        wide = scores.pivot_table(index="row", columns="explainer", values="score", aggfunc="first")
        if wide.shape[1] < 2 or wide.shape[0] == 0:
            continue
        values = wide.to_numpy(float)
        finite = np.isfinite(values)
        if not finite.any():
            continue
        first = values[:, :1]
        tied = np.isclose(values, first, rtol=TIE_RTOL, atol=TIE_ATOL) | (~finite & ~np.isfinite(first))
        if tied.all() and not _same_rankings(attributions, list(wide.columns)):
            findings.append(
                {
                    "metric": str(metric),
                    "kind": "all_tied",
                    "message": (
                        f"Every explainer gets the same {metric} score on every row: the metric cannot tell the "
                        "explanations apart on this data."
                    ),
                }
            )
    return findings
