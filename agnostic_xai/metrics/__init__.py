"""Metrics for explanations on tabular data, and their registry.

Each metric is a thin class holding its configuration and calling one pure function of its
family module; class attributes give ``family`` and ``higher_is_better``.

>>> from agnostic_xai import metrics
>>> m = metrics.get("deletion_auc")
>>> m.higher_is_better
False
"""

from __future__ import annotations

from typing import Any

from .._registry import Registry
from .._validation import shown
from ..exceptions import UnknownNameError
from .base import FAMILIES, AgreementMetric, Metric, MetricResult

__all__ = ["Metric", "AgreementMetric", "MetricResult", "FAMILIES", "get", "get_class", "available"]

# name -> "module:Class" inside this package.
_REGISTRY: dict[str, str] = {
    # faithfulness
    "deletion_auc": "faithfulness_curves:DeletionAUC",
    "insertion_auc": "faithfulness_curves:InsertionAUC",
    "deletion_gap": "faithfulness_curves:DeletionGap",
    "faithfulness_correlation": "faithfulness_correlation:FaithfulnessCorrelation",
    "faithfulness_estimate": "faithfulness_correlation:FaithfulnessEstimate",
    "monotonicity": "faithfulness_correlation:Monotonicity",
    "infidelity": "infidelity:Infidelity",
    "comprehensiveness": "rationale:Comprehensiveness",
    "sufficiency": "rationale:Sufficiency",
    "pgi": "prediction_gap:PGI",
    "pgu": "prediction_gap:PGU",
    # ground truth
    "shapley_error": "ground_truth:ShapleyError",
    "shapley_correlation": "ground_truth:ShapleyCorrelation",
    "shapley_topk": "ground_truth:ShapleyTopK",
    # stability
    "max_sensitivity": "stability:MaxSensitivity",
    "relative_input_stability": "stability:RelativeInputStability",
    "relative_output_stability": "output_stability:RelativeOutputStability",
    "seed_stability": "stability:SeedStability",
    # agreement (two explanations)
    "feature_agreement": "agreement:FeatureAgreement",
    "rank_agreement": "agreement:RankAgreement",
    "sign_agreement": "agreement:SignAgreement",
    "signed_rank_agreement": "agreement:SignedRankAgreement",
    "rank_correlation": "agreement:RankCorrelation",
    "pairwise_rank_agreement": "agreement:PairwiseRankAgreement",
    # complexity and sanity
    "sparseness": "complexity:Sparseness",
    "complexity": "complexity:Complexity",
    "randomization_sanity": "sanity:RandomizationSanity",
}


_METRICS = Registry(__name__, "metric", _REGISTRY)


def available(family: str | None = None) -> list[str]:
    """Registry names of the metrics present (optionally of one family)."""
    names = _METRICS.names()
    if family is not None and family not in FAMILIES:
        raise UnknownNameError(f"Unknown metric family {shown(family)}; families: {list(FAMILIES)}.")
    if family is not None:
        names = [n for n in names if get_class(n).family == family]
    return names


def get_class(name: str) -> type[Metric] | type[AgreementMetric]:
    """The metric class registered under ``name``.

    Raises
    ------
    InvalidTypeError
        When ``name`` is not a string.
    UnknownNameError
        When no metric has that name (the message lists those that exist).
    """
    return _METRICS.load(name)


def get(name: str, **params: Any) -> Metric | AgreementMetric:
    """A new metric ``name`` with the given parameters.

    Raises
    ------
    UnknownNameError
        When no metric has that name.
    InvalidTypeError
        When ``name`` is not a string, or a parameter does not exist (the message lists the
        metric's parameters).
    """
    return _METRICS.build(name, params)
