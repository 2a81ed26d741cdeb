"""When a review check cannot be evaluated because exact Shapley values are above the enumeration limit.

Kept apart from :mod:`agnostic_xai.review` so that the rule lives in one small place: a check
that needs exact values is "not evaluable" (never FAIL) when the explanation has more
players than the comparison's ``exact_limit`` (the project's one limit,
:data:`agnostic_xai._shapley.MAX_EXACT_FEATURES`), or when the cell that would give the values
failed with the enumeration's :class:`~agnostic_xai.exceptions.BudgetError` (a ``max_features``
set lower). Any other missing evidence is a failure. Whether a reference gives exact values
is its class's ``is_exact`` attribute, never its name.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ._shapley import MAX_EXACT_FEATURES
from .exceptions import UnknownNameError

if TYPE_CHECKING:
    from .comparison import Comparison

__all__ = ["above_exact_limit", "gives_exact_values"]


def gives_exact_values(comparison: Comparison, explainer: str) -> bool:
    """Whether ``explainer`` (a label of the comparison, or a registry name) gives exact Shapley values.

    The fitted explainer's ``is_exact`` when the comparison holds it, else that of the class
    registered under the name (an explainer that failed before fitting); False for a name
    that is neither.
    """
    from . import explainers

    fitted = comparison.explainers.get(explainer)
    if fitted is not None:
        return bool(getattr(fitted, "is_exact", False))
    try:
        return bool(explainers.get_class(explainer).is_exact)
    except UnknownNameError:
        return False


def above_exact_limit(comparison: Comparison, explainer: str, cells: Sequence[tuple[str, str]]) -> str | None:
    """Why the exact Shapley values that a check of ``explainer`` needs were not computed, if it is the limit.

    Either the players (features, or groups) of the explanation under review are more than
    the comparison's ``exact_limit``, or one of ``cells`` (explainer, metric) failed with a
    :class:`~agnostic_xai.exceptions.BudgetError` of the enumeration (a ``max_features`` set
    lower than that).
    """
    attribution = comparison.attributions.get(explainer)
    limit = int(comparison.config.get("exact_limit", MAX_EXACT_FEATURES))
    if attribution is not None and attribution.n_features > limit:
        players = "groups" if attribution.groups is not None else "features"
        return (f"exact Shapley values of {attribution.n_features} {players} are above the exact-enumeration limit "
                f"of {limit} (max_features; 2**{attribution.n_features} coalitions per row and background row)")
    failures = comparison.failures
    for who, metric in cells:
        hit = failures[(failures["explainer"] == who) & (failures["metric"] == metric)
                       & (failures["error"] == "BudgetError") & failures["message"].str.contains("coalitions")]
        if not hit.empty:
            return str(hit.iloc[0]["message"])
    return None
