"""Capabilities are class attributes, declared where the class is and read instead of names.

The attributes replace registry-name lists and parameter sniffing (issue 14): these tests pin
them to what the sniffing used to find, so that a new explainer or metric that forgets one
is caught here, and show that a user's class inherits the defaults and is read by its
attributes, never by its name.
"""

from __future__ import annotations

import inspect

import numpy as np
import pytest

from agnostic_xai import explainers, metrics
from agnostic_xai._review_exact import gives_exact_values
from agnostic_xai.comparison.references import reference_roles, self_scored
from agnostic_xai.comparison.writers import REPORT_FORMATS, register_report_writer
from agnostic_xai.exceptions import InvalidInputError
from agnostic_xai.explainers import Explainer, Explanation
from agnostic_xai.metrics import Metric


def _parameters(cls: type) -> set[str]:
    return set(inspect.signature(cls.__init__).parameters) - {"self"}


@pytest.mark.parametrize("name", explainers.available())
def test_explainer_capabilities_match_their_parameters(name: str) -> None:
    cls = explainers.get_class(name)
    assert cls.is_stochastic == ("random_state" in _parameters(cls))
    assert cls.is_exact == (name in {"exact_shapley", "exact_shap"})
    assert cls.computes_exact_shapley == (name == "exact_shapley")
    assert cls.is_reference == (name == "random")
    assert not (cls.computes_exact_shapley and not cls.is_exact)


@pytest.mark.parametrize("name", metrics.available())
def test_metric_capabilities_match_their_parameters(name: str) -> None:
    cls = metrics.get_class(name)
    params = _parameters(cls)
    assert cls.is_stochastic == ("random_state" in params)
    assert cls.needs_reference == ("reference" in params)
    assert cls.needs_reference == (cls.family == "ground_truth")


class Mine(Explainer):
    """A user's explainer, labelled like the registry's references."""

    name = "random"

    def __init__(self) -> None:
        pass

    def _explain(self, X: np.ndarray, target: np.ndarray) -> Explanation:
        return Explanation(np.zeros(X.shape), np.zeros(X.shape[0]))


class MyDistance(Metric):
    """A user's metric with a parameter named ``reference`` that is not the ground truth."""

    name = "my_distance"
    family = "ground_truth"

    def __init__(self, reference: float = 0.0) -> None:
        self.reference = reference


def test_user_classes_inherit_the_defaults_and_are_read_by_attribute() -> None:
    for attribute in ("is_reference", "is_exact", "computes_exact_shapley", "is_stochastic"):
        assert getattr(Mine, attribute) is False
    assert MyDistance.needs_reference is False and MyDistance.is_stochastic is False
    # Named "random" and "exact_shapley", yet candidates: roles come from the attributes.
    assert reference_roles({"random": Mine(), "exact_shapley": Mine()}, ["ground_truth"]) == {}
    roles = reference_roles({"truth": explainers.get("exact_shapley"), "mine": Mine()}, ["ground_truth"])
    assert roles == {"truth": "ground truth"}
    skip, records = self_scored(roles, [("my_distance", MyDistance()), ("shapley_error", metrics.get("shapley_error"))],
                                True)
    assert skip == {"truth": {"shapley_error"}} and [r["metric"] for r in records] == ["shapley_error"]


class _Held:
    def __init__(self) -> None:
        self.explainers: dict[str, object] = {}


def test_exact_values_by_class_attribute_through_the_registry() -> None:
    held = _Held()
    assert gives_exact_values(held, "exact_shapley") and gives_exact_values(held, "exact_shap")  # type: ignore[arg-type]
    assert not gives_exact_values(held, "kernel_shap") and not gives_exact_values(held, "no such explainer")  # type: ignore[arg-type]
    held.explainers = {"exact_shapley": Mine()}  # a fitted explainer's class decides, not its label
    assert not gives_exact_values(held, "exact_shapley")  # type: ignore[arg-type]


def test_comparison_writes_reports_through_the_registered_writers() -> None:
    import pandas as pd

    from agnostic_xai import Comparison, reports

    comparison = Comparison(table=pd.DataFrame(), attributions={}, costs=pd.DataFrame(), failures=pd.DataFrame(),
                            config={})
    assert set(REPORT_FORMATS) == {"html", "json", "markdown"}
    register_report_writer("markdown", lambda c, **options: f"{type(c).__name__} {options}")
    try:
        assert comparison.to_markdown(title="t") == "Comparison {'title': 't'}"
    finally:
        register_report_writer("markdown", reports.to_markdown)  # as importing agnostic_xai.reports left it
    with pytest.raises(InvalidInputError, match="kind must be one of"):
        register_report_writer("pdf", print)
    with pytest.raises(InvalidInputError, match="writer must be callable"):
        register_report_writer("html", None)  # type: ignore[arg-type]
