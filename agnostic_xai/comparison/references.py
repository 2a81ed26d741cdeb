"""Reference explainers: the points that frame a comparison and are never candidates.

Two roles:

* ``"floor"`` — an explainer that ignores the model's structure (``random``: the class
  says so with ``is_reference = True``). Any explainer worth using beats it; it is shown so
  that the reader sees where "no better than chance" lies.
* ``"ground truth"`` — the explainer that computes the ground truth itself
  (``computes_exact_shapley = True``: ``exact_shapley``, the same enumeration,
  :func:`agnostic_xai._shapley.exact_shapley`, that ``compare`` runs), of the game the
  comparison's ground-truth metrics measure against (removal ``"marginal"`` over the
  background), in a comparison that has a ground-truth metric. It is the ceiling of those
  metrics; in a comparison without them it is an ordinary candidate (an exact method that
  a user may choose when ``d`` is small), and with another removal it computes another
  game and is a candidate too. Another exact implementation (``exact_shap``, shap's:
  ``is_exact`` but not ``computes_exact_shapley``) stays a candidate: its distance to the
  ground truth, rounding only, cross-checks the ground truth, and ties with every other
  exact method (:func:`~agnostic_xai.comparison.stats.tie_tolerance`).

A reference is shown in every table, marked as one, and left out of ``winner``,
``significance``, ranks, the mean rank and every "best"/"cheapest" highlight. The
ground-truth explainer is not scored against compare's own ground truth (it would score
itself). Explainers without the class attributes (test doubles, older plug-ins) are
recognised by their registry name or label (``random``, ``exact_shapley``):
a table whose line reads ``random`` is read as the floor, whatever produced it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["FLOOR", "GROUND_TRUTH", "reference_roles", "self_scored"]

FLOOR = "floor"
GROUND_TRUTH = "ground truth"


def reference_roles(explainers: Mapping[str, Any], families: Iterable[str]) -> dict[str, str]:
    """The role of each reference explainer of a comparison, by label.

    Parameters
    ----------
    explainers : mapping of label to Explainer
        The comparison's explainers (fitted or not).
    families : iterable of str
        The families of the comparison's metrics: exact explainers are the ground truth
        only next to a ``"ground_truth"`` metric.

    Returns
    -------
    dict of str to str
        ``{label: "floor" | "ground truth"}`` for the references only, in the explainers' order.
    """
    has_truth = "ground_truth" in set(families)
    roles: dict[str, str] = {}
    for label, explainer in explainers.items():
        if getattr(explainer, "is_reference", False):
            roles[label] = FLOOR
        elif has_truth and getattr(explainer, "computes_exact_shapley", False):
            if getattr(explainer, "removal", "marginal") == "marginal":
                roles[label] = GROUND_TRUTH
    return roles


def self_scored(
    roles: Mapping[str, str], metrics: Iterable[tuple[str, Any]], ground_truth_computed: bool
) -> tuple[dict[str, set[str]], list[dict[str, str]]]:
    """Cells that would score the ground-truth explainer against itself, and their skip records.

    A metric that declares ``needs_reference`` scores against the exact values ``compare`` computes;
    for the ground-truth explainer that is a distance of the ground truth to itself (0 up to
    rounding), which says nothing and would top the column. Those cells are not run: they
    are absent from the table and listed in the failures with ``stage="skipped"``.

    Returns
    -------
    skip : dict of str to set of str
        Per explainer label, the metric names not to run.
    records : list of dict
        One failures line per skipped cell.
    """
    if not ground_truth_computed:
        return {}, []
    with_reference = [name for name, metric in metrics if getattr(metric, "needs_reference", False)]
    skip: dict[str, set[str]] = {}
    records: list[dict[str, str]] = []
    for label, role in roles.items():
        if role != GROUND_TRUTH or not with_reference:
            continue
        skip[label] = set(with_reference)
        records.extend(
            {"explainer": label, "metric": metric, "stage": "skipped", "error": "",
             "message": f"{label} is the ground truth of this comparison: it is not scored against itself"}
            for metric in with_reference
        )
    return skip, records
