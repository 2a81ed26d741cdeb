"""Honest statistics: float-noise ties, references that are never candidates, detectability."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from agnostic_xai import compare
from agnostic_xai.comparison.references import reference_roles
from agnostic_xai.comparison.stats import (
    min_p_value,
    paired_wilcoxon,
    rows_needed,
    tie_tolerance,
    tolerant_rank,
)
from agnostic_xai.exceptions import InvalidInputError
from agnostic_xai.explainers import get
from agnostic_xai.reports import report_content, to_markdown
from agnostic_xai.testing import LinearModel, make_mlp


# ---------------------------------------------------------------------- ties
def test_float_noise_is_a_tie_not_a_significant_difference():
    rng = np.random.default_rng(0)
    zero = np.zeros(30)
    noise = np.abs(rng.normal(scale=1.5e-16, size=30))  # two exact methods' errors: rounding only
    assert paired_wilcoxon(noise, zero)[1] < 1e-8  # without a tolerance: "significant"
    tol = tie_tolerance(np.concatenate([zero, noise, np.full(30, 0.02)]))
    assert tol == pytest.approx(1e-9 * 0.02, rel=1e-12)
    statistic, p_value, n = paired_wilcoxon(noise, zero, atol=tol)
    assert (statistic, p_value, n) == (0.0, 1.0, 30)
    # Every score is rounding noise: the explanations' scale (capped at 1) sets the tolerance.
    assert tie_tolerance(noise, attribution_scale=0.3) == pytest.approx(3e-10, rel=1e-12)
    assert tie_tolerance(noise, attribution_scale=1e6) == pytest.approx(1e-9, rel=1e-12)
    # A real difference far above the tolerance is still detected.
    assert paired_wilcoxon(noise + 1e-3, zero, atol=tol)[1] < 1e-8


def test_tolerant_rank_averages_ranks_within_the_tolerance():
    values = np.array([2.0, 1.0, 1.0 + 1e-12, np.nan, 0.5])
    np.testing.assert_array_equal(tolerant_rank(values, 1e-9, higher_is_better=False), [4.0, 2.5, 2.5, np.nan, 1.0])
    np.testing.assert_array_equal(tolerant_rank(values, 0.0, higher_is_better=True), [1.0, 3.0, 2.0, np.nan, 4.0])


@pytest.fixture(scope="module")
def exact_case():
    """Shapley errors of two exact methods (shap's exact explainer, kernel SHAP enumerating all
    2**5 coalitions): rounding noise about 1e-16 against the ground truth."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, 5))
    model = make_mlp(5, 2, hidden=(8,), dtype=torch.float64)
    return compare(model, X, explainers=["exact_shapley", "exact_shap", "kernel_shap", "random"],
                   metrics=["shapley_error"], seed=0, progress=False, n_background=8)


def test_exact_methods_tie_in_compare(exact_case):
    means = exact_case.scores("shapley_error").mean()
    assert 0 < means["exact_shap"] < 1e-15 and 0 < means["kernel_shap"] < 1e-15
    significance = exact_case.significance("shapley_error")
    assert list(significance.index) == [e for e in ("exact_shap", "kernel_shap") if e != significance.best.iloc[0]]
    line = significance.iloc[0]
    assert bool(line["tie"]) and line["p_value"] == 1.0 and not bool(line["significant"])
    assert exact_case.winner("shapley_error") is None
    ranks = exact_case.summary(marked=False)[("shapley_error", "rank")]
    assert ranks["exact_shap"] == ranks["kernel_shap"] == 1.5


# ---------------------------------------------------------------------- references
def test_references_are_marked_unranked_and_never_win(exact_case):
    assert exact_case.references == {"exact_shapley": "ground truth", "random": "floor"}
    summary = exact_case.summary(marked=False)
    assert summary[("overall", "reference")].to_dict() == {
        "exact_shap": "", "kernel_shap": "", "exact_shapley": "ground truth", "random": "floor"
    }
    for reference in ("exact_shapley", "random"):
        assert np.isnan(summary.loc[reference, ("shapley_error", "rank")])
        assert np.isnan(summary.loc[reference, ("overall", "mean_rank")])
    assert list(summary.index[-2:]) == ["exact_shapley", "random"]  # references frame the table, last
    assert "random" not in exact_case.significance("shapley_error").index


def test_the_ground_truth_is_not_scored_against_itself(exact_case):
    assert "exact_shapley" not in exact_case.scores("shapley_error").columns
    skipped = exact_case.failures[exact_case.failures.explainer == "exact_shapley"]
    assert list(skipped.stage) == ["skipped"] and list(skipped.metric) == ["shapley_error"]
    assert "ground truth" in skipped.message.iloc[0] and "not scored against itself" in skipped.message.iloc[0]


def test_reports_mark_references_and_highlight_only_candidates(exact_case):
    content = report_content(exact_case, agreement=None)
    marks = {row.explainer: row.reference for row in content.rows}
    assert marks == {"exact_shap": "", "kernel_shap": "", "exact_shapley": "ground truth", "random": "floor"}
    for column in content.columns:
        assert not set(column.best) & {"exact_shapley", "random"}, column
    assert content.cost_leader.explainer in ("exact_shap", "kernel_shap")
    assert "References, shown but never ranked: exact_shapley (ground truth), random (floor)." in content.headline
    assert "random *(reference: floor)*" in to_markdown(exact_case, agreement=None)


def test_exact_shapley_is_a_candidate_without_ground_truth_metrics():
    X = np.random.default_rng(1).normal(size=(12, 4))
    model = LinearModel(np.array([2.0, -1.0, 0.5, 0.1]))
    comparison = compare(model, X, explainers=["exact_shapley", "random"], metrics=["deletion_auc"], seed=0,
                         progress=False, n_background=6)
    assert comparison.references == {"random": "floor"}
    assert comparison.summary(marked=False).loc["exact_shapley", ("deletion_auc", "rank")] == 1.0
    with pytest.raises(InvalidInputError, match="at least two candidate"):
        comparison.significance("deletion_auc")  # random is not a candidate to beat


def test_reference_roles_by_class_attribute_name_and_removal():
    roles = reference_roles(
        {"floor": get("random"), "truth": get("exact_shapley"), "mean_game": get("exact_shapley", removal="mean"),
         "shap": get("exact_shap"), "ig": get("integrated_gradients")},
        ["faithfulness", "ground_truth"],
    )
    assert roles == {"floor": "floor", "truth": "ground truth"}
    assert reference_roles({"truth": get("exact_shapley")}, ["faithfulness"]) == {}


# ---------------------------------------------------------------------- detectability
def test_min_p_value_is_the_exact_floor_of_the_test():
    for n in (2, 5, 10, 30, 50):
        assert min_p_value(n) == pytest.approx(2.0 / 2**n, rel=1e-12)
        worst = np.arange(1.0, n + 1.0)
        assert paired_wilcoxon(worst, np.zeros(n))[1] == pytest.approx(min_p_value(n), rel=1e-12)
    assert rows_needed(2, 0.05) == 7  # 2 · 2 / 2**7 = 0.031 < 0.05 <= 2 · 2 / 2**6
    assert rows_needed(1, 0.05) == 6
    assert rows_needed(10, 0.01) == 11  # 10 · 2 / 2**11 = 0.0098 < 0.01 <= 10 · 2 / 2**10


def test_too_few_rows_to_detect_anything_is_said():
    X = np.random.default_rng(2).normal(size=(5, 4))
    model = LinearModel(np.array([2.0, -1.0, 0.5, 0.1]))
    comparison = compare(model, X, explainers=["exact_shapley", "feature_ablation", "kernel_shap"],
                         metrics=["deletion_auc"], seed=0, progress=False, n_background=5)
    significance = comparison.significance("deletion_auc")
    np.testing.assert_allclose(significance["min_p_holm"].to_numpy(), 2 * 2 / 2**5, rtol=1e-12)
    assert significance.attrs["detectable"] is False and significance.attrs["rows_needed"] == 7
    assert "at least 7 rows are needed" in significance.attrs["note"]
    assert comparison.winner("deletion_auc") is None
    (verdict,) = report_content(comparison, agreement=None).verdicts
    assert verdict.rows_needed == 7 and "no significant winner can exist" in verdict.statement
    assert "at least 7 rows are needed" in verdict.statement


def test_references_are_never_on_the_pareto_front(exact_case):
    front = exact_case.pareto("shapley_error")
    assert not front.loc[["random"], "on_front"].any()  # the cheapest line, but a reference
    assert front.loc["random", "reference"] == "floor"
    assert front.loc[front.reference == "", "on_front"].any()
