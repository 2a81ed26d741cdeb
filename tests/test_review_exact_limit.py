"""Review checks that need exact Shapley values, above the one exact-enumeration limit."""

import json

import numpy as np
import pandas as pd
import pytest

from agnostic_xai import compare
from agnostic_xai._shapley import MAX_EXACT_FEATURES
from agnostic_xai.review import Policy, render_review_html, review_passed, run_checks, write_review

POLICY = dict(surrogate_fidelity=None, seed_stability=None, beats_random_p=None, randomization_similarity=None)


def _comparison(d: int, **options):
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(6, d)), columns=[f"x{i}" for i in range(d)])
    weights = np.linspace(1.0, 2.0, d)
    return compare(lambda Z: Z @ weights, X, explainers=["feature_ablation", "exact_shapley"],
                   metrics=["shapley_error"], progress=False, n_background=4, **options)


def test_exact_checks_above_the_limit_are_not_evaluable_never_fail():
    d = MAX_EXACT_FEATURES + 1
    comparison = _comparison(d)
    policy = Policy("feature_ablation", reference=("exact_shapley",), agreement=0.6, shapley_error=0.05, **POLICY)
    checks = run_checks(comparison, policy)
    assert [c.status for c in checks] == ["not evaluable", "not evaluable"]
    for check in checks:
        assert check.passed is None and check.value is None
        assert f"{d} features are above the exact-enumeration limit of {MAX_EXACT_FEATURES}" in check.evidence
    assert review_passed(checks)
    html = render_review_html(policy=policy, checks=checks, cohort=None, manifest={})
    assert "PASS: every evaluable check passed (2 not evaluable)" in html and "FAIL" not in html


def test_a_lowered_exact_limit_is_not_evaluable_and_recorded_as_such(tmp_path):
    # 5 features above a comparison whose exact_limit is 3: the JSON says "not evaluable", not failed.
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(6, 5)), columns=[f"x{i}" for i in range(5)])
    comparison = compare(lambda Z: Z.sum(axis=1), X, explainers=["feature_ablation"],
                         metrics={"shapley_error": {"max_features": 3}}, progress=False, n_background=4, exact_limit=3)
    policy = Policy("feature_ablation", reference=("kernel_shap",), agreement=None, shapley_error=0.05, **POLICY)
    (check,) = run_checks(comparison, policy)
    assert check.status == "not evaluable" and "max_features" in check.evidence
    paths = write_review(tmp_path, policy=policy, checks=[check], cohort=None, manifest={})
    review = json.loads(paths[1].read_text())
    assert review["passed"] is True and review["checks"][0]["status"] == "not evaluable"
    assert review["checks"][0]["passed"] is None


def test_under_the_limit_the_exact_checks_are_judged():
    comparison = _comparison(4)
    strict = Policy("feature_ablation", reference=("exact_shapley",), agreement=0.6, shapley_error=-1.0, **POLICY)
    agreement, error = run_checks(comparison, strict)
    # feature ablation of a linear model is exact: full agreement, zero error (which fails a threshold of -1)
    assert agreement.passed and agreement.value == pytest.approx(1.0)
    assert error.status == "FAIL" and error.value == pytest.approx(0.0, abs=1e-12)
    assert not review_passed([agreement, error])


def test_a_failure_that_is_not_the_limit_still_fails():
    d = MAX_EXACT_FEATURES + 1
    comparison = _comparison(d)
    # a non-exact reference that was not run is a missing piece of evidence, not the limit
    policy = Policy("feature_ablation", reference=("kernel_shap",), agreement=0.6, shapley_error=None, **POLICY)
    (check,) = run_checks(comparison, policy)
    assert check.status == "FAIL" and "not available" in check.evidence


def test_a_raised_exact_limit_computes_the_ground_truth_and_the_check_is_judged():
    # 17 features with exact_limit=17: compare enumerates them (it used to ask the oracle for at most
    # 16 and fail), so the check gets a value.
    d = MAX_EXACT_FEATURES + 1
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(2, d)), columns=[f"x{i}" for i in range(d)])
    weights = np.linspace(1.0, 2.0, d)
    comparison = compare(lambda Z: Z @ weights, X, background=X.to_numpy()[:1], explainers=["feature_ablation"],
                         metrics=["shapley_error"], progress=False, exact_limit=d)
    assert comparison.failures.empty
    policy = Policy("feature_ablation", reference=("kernel_shap",), agreement=None, shapley_error=1e-9, **POLICY)
    (check,) = run_checks(comparison, policy)
    assert check.status == "pass" and check.value == pytest.approx(0.0, abs=1e-9)
