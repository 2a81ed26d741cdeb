"""Degeneracy warnings: compare says when a metric cannot tell the explanations apart."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from agnostic_xai import FeatureGroups, compare, wrap
from agnostic_xai.comparison.diagnostics import check_degenerate
from agnostic_xai.exceptions import DegenerateMetricWarning
from agnostic_xai.explainers import get as get_explainer
from agnostic_xai.testing import LogisticModel

NAMES = ["c", "b", "cat_0", "cat_1", "cat_2", "cat_3"]
W_CAT = np.array([-1.0, 0.5, 2.0, 0.0])


def category_model(X):
    """Reads categories as a tree does: Gaussian noise on 0/1 columns never changes its output."""
    return W_CAT[X[:, 2:].argmax(axis=1)] + 1.5 * (X[:, 1] > 0.5) + 0.0 * X[:, 0]


@pytest.fixture(scope="module")
def onehot_case():
    rng = np.random.default_rng(0)
    n = 40
    X = np.column_stack([rng.uniform(size=n), (rng.random(n) < 0.4).astype(float), np.eye(4)[rng.integers(0, 4, n)]])
    adapter = wrap(category_model, task="regression", feature_names=NAMES)
    groups = FeatureGroups.from_dict({"cat": NAMES[2:]}, NAMES)
    return adapter, X[:6], X[10:], groups


def run(onehot_case, perturbation):
    adapter, X, background, groups = onehot_case
    return compare(
        adapter, X, background=background, explainers=["feature_ablation", "random"], feature_groups=groups,
        metrics={"pgi": {"perturbation": perturbation, "k": 1}, "pgu": {"perturbation": perturbation, "k": 1}},
        progress=False,
    )


def test_gaussian_pgi_equal_to_pgu_is_flagged(onehot_case):
    with pytest.warns(DegenerateMetricWarning) as record:
        comparison = run(onehot_case, "gaussian")
    assert any("PGI and PGU agree" in str(w.message) for w in record)
    kinds = {d["kind"] for d in comparison.diagnostics}
    assert "pgi_equals_pgu" in kinds
    # Every score is 0 as well: both metrics are tied for every explainer.
    assert {d["metric"] for d in comparison.diagnostics if d["kind"] == "all_tied"} == {"pgi", "pgu"}
    from agnostic_xai.reports.content import report_content

    notes = report_content(comparison).notes
    assert sum(note.startswith("Degenerate metric: ") for note in notes) == len(comparison.diagnostics)


def test_tabular_perturbation_is_not_flagged(onehot_case):
    comparison = run(onehot_case, "tabular")  # AgnosticXAIWarning is an error in the tests
    assert comparison.diagnostics == []
    assert comparison.config["column_types"]["onehot"] == {"cat": NAMES[2:]}
    assert comparison.config["column_types"]["columns"]["b"] == "binary"


def test_eps_dominated_elementwise_ris_is_flagged():
    rng = np.random.default_rng(2)
    n = 40
    X = np.column_stack([np.where(rng.random((n, 3)) < 0.5, 0.0, rng.random((n, 3))), (rng.random((n, 3)) < 0.3)])
    adapter = wrap(LogisticModel(np.column_stack([np.zeros(6), rng.normal(size=6)])), output="logit")
    args = dict(background=X[10:], explainers=["input_x_gradient", "random"], progress=False)
    with pytest.warns(DegenerateMetricWarning, match="eps"):
        flagged = compare(adapter, X[:6], metrics={"relative_input_stability": {"form": "elementwise"}}, **args)
    assert [d["kind"] for d in flagged.diagnostics] == ["eps_dominated"]
    assert "random" in flagged.diagnostics[0]["share_of_rows"]
    assert compare(adapter, X[:6], metrics=["relative_input_stability"], **args).diagnostics == []


def test_a_metric_that_ties_explanations_ranking_differently_is_flagged(onehot_case):
    # PGI with k = every player perturbs every column whatever the ranking: with common random
    # numbers every explainer gets the same score on every row, although feature_ablation and
    # random order the features differently.
    adapter, X, background, groups = onehot_case
    with pytest.warns(DegenerateMetricWarning, match="same pgi"):
        comparison = compare(
            adapter, X, background=background, feature_groups=groups, progress=False,
            metrics={"pgi": {"k": 1.0, "n_perturbations": 8}},
            explainers={"a": get_explainer("feature_ablation"), "b": get_explainer("random")},
        )
    assert [d["kind"] for d in comparison.diagnostics] == ["all_tied"]


def test_identical_explanations_tie_without_a_finding(onehot_case):
    # Identical explanations are expected to tie: that says nothing against the metric.
    adapter, X, background, groups = onehot_case
    comparison = compare(
        adapter, X, background=background, feature_groups=groups, metrics=["sparseness"], progress=False,
        explainers={"a": get_explainer("feature_ablation"), "b": get_explainer("feature_ablation")},
    )
    assert comparison.diagnostics == []


def test_check_degenerate_on_a_table():
    def lines(metric, explainer, scores):
        return pd.DataFrame({"explainer": explainer, "metric": metric, "row": np.arange(len(scores)), "score": scores})

    table = pd.concat([
        lines("pgi", "a", [1.0, 2.0]), lines("pgu", "a", [1.01, 2.0]),
        lines("pgi", "b", [3.0, 3.0]), lines("pgu", "b", [3.0, 3.02]),
        lines("seed_stability", "a", [1.0, 1.0]), lines("seed_stability", "b", [1.0, 1.0]),
    ])
    found = check_degenerate(table, {}, warn=False)
    assert [d["kind"] for d in found] == ["pgi_equals_pgu"]
    assert found[0]["max_relative_difference"] == pytest.approx(0.01 / 3.01, rel=1e-9)
    table.loc[(table.metric == "pgu") & (table.explainer == "b"), "score"] = 1.0
    assert check_degenerate(table, {}, warn=False) == []
