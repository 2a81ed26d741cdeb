"""Deletion/insertion curves and the deletion gap, against loop references; plus the checks
shared by every faithfulness metric (exact Shapley beats shuffled and random attributions,
invariance to positive scaling, input validation)."""

from __future__ import annotations

import functools

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from agnostic_xai import metrics
from agnostic_xai.adapters import wrap
from agnostic_xai.attribution import Attribution
from agnostic_xai.exceptions import InvalidInputError, UnknownNameError
from agnostic_xai.groups import FeatureGroups
from agnostic_xai.metrics.faithfulness_curves import curve_auc, deletion_curve, insertion_curve
from agnostic_xai.removal import reference_set
from agnostic_xai.testing import AdditiveModel, exact_shapley, make_mlp

TOL = 1e-10
FAITHFULNESS = [
    "deletion_auc",
    "insertion_auc",
    "deletion_gap",
    "faithfulness_correlation",
    "faithfulness_estimate",
    "monotonicity",
    "infidelity",
    "comprehensiveness",
    "sufficiency",
    "pgi",
    "pgu",
]


# ---------------------------------------------------------------------- loop references
def row_output(module, z, t):
    """The model on ONE row, straight from the torch module (logits: no activation)."""
    with torch.no_grad():
        return float(module(torch.tensor(np.array(z, dtype=np.float64)[None, :]))[0, t])


def ref_value(module, x, kept_columns, reference, t):
    """v(x, S): mean over reference rows of f(x with the columns outside S taken from that row)."""
    total = 0.0
    for r in reference:
        z = [x[j] if j in kept_columns else r[j] for j in range(len(x))]
        total += row_output(module, z, t)
    return total / len(reference)


def ref_curves(module, X, values, target, reference, groups, insertion):
    """Curves with Python loops: order by value (desc, ties by index), then remove/insert one at a time."""
    curves = []
    for x, phi, t in zip(X, values, target):
        m = len(phi)
        order = sorted(range(m), key=lambda p: (-phi[p], p))
        row = []
        for k in range(m + 1):
            taken = set(order[:k])
            kept_players = taken if insertion else set(range(m)) - taken
            kept_columns = {c for p in kept_players for c in groups[p]}
            row.append(ref_value(module, x, kept_columns, reference, t))
        curves.append(row)
    return np.array(curves)


def ref_auc(curve):
    m = len(curve) - 1
    return sum((curve[k - 1] + curve[k]) / 2 for k in range(1, m + 1)) / m


# ---------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def setup():
    rng = np.random.default_rng(3)
    d = 5
    module = make_mlp(d, 2, (12,), seed=2, dtype=torch.float64)
    adapter = wrap(module, output="logit")
    X = rng.normal(size=(4, d))
    background = rng.normal(0.3, 1.2, size=(6, d))
    values = rng.normal(size=(4, d))
    values[0, 3] = values[0, 1]  # a tie, broken by column order
    attribution = Attribution(
        values=values,
        base_values=np.zeros(4),
        data=X,
        target=np.array([0, 1, 1, 0]),
        feature_names=[f"x{i}" for i in range(d)],
        method="random",
        output="logit",
    )
    return module, adapter, X, background, attribution


def with_values(attribution, values, **changes):
    from dataclasses import replace

    return replace(attribution, values=values, **changes)


# ---------------------------------------------------------------------- curves against loops
@pytest.mark.parametrize("removal", ["marginal", "mean", "baseline"])
def test_deletion_and_insertion_match_loop_reference(setup, removal):
    module, adapter, X, background, attribution = setup
    baseline = np.linspace(-1, 1, X.shape[1]) if removal == "baseline" else None
    reference = reference_set(removal, background, baseline)
    singles = [(j,) for j in range(X.shape[1])]
    for name, insertion in (("deletion_auc", False), ("insertion_auc", True)):
        result = metrics.get(name, removal=removal, baseline=baseline)(attribution, adapter, background)
        expected = ref_curves(module, X, attribution.values, attribution.target, reference, singles, insertion)
        np.testing.assert_allclose(result.extras["curves"], expected, rtol=0, atol=TOL)
        np.testing.assert_allclose(result.scores, [ref_auc(c) for c in expected], rtol=0, atol=TOL)


def test_curve_endpoints_are_fx_and_empty_coalition(setup):
    module, adapter, X, background, attribution = setup
    deletion, _ = deletion_curve(adapter, X, attribution.values, attribution.target, background)
    insertion, _ = insertion_curve(adapter, X, attribution.values, attribution.target, background)
    fx = attribution.explained_output(adapter)
    empty = adapter.predict(background).mean(axis=0)[attribution.target]
    np.testing.assert_allclose(deletion[:, 0], fx, atol=TOL)
    np.testing.assert_allclose(insertion[:, -1], fx, atol=TOL)
    np.testing.assert_allclose(deletion[:, -1], empty, atol=TOL)
    np.testing.assert_allclose(insertion[:, 0], empty, atol=TOL)


def test_deletion_gap_is_area_between_least_and_most_first_curves(setup):
    module, adapter, X, background, attribution = setup
    most, _ = deletion_curve(adapter, X, attribution.values, attribution.target, background)
    least, _ = deletion_curve(adapter, X, attribution.values, attribution.target, background, least_first=True)
    result = metrics.get("deletion_gap")(attribution, adapter, background)
    np.testing.assert_allclose(result.scores, curve_auc(least) - curve_auc(most), atol=TOL)
    # By loops, on tie-free values (least-first = most-first for the negated values):
    singles = [(j,) for j in range(X.shape[1])]
    tie_free = with_values(attribution, attribution.values + 1e-9 * np.arange(X.shape[1]))
    expected_most = ref_curves(module, X, tie_free.values, attribution.target, background, singles, False)
    expected_least = ref_curves(module, X, -tie_free.values, attribution.target, background, singles, False)
    gap = metrics.get("deletion_gap")(tie_free, adapter, background)
    np.testing.assert_allclose(
        gap.scores, [ref_auc(a) - ref_auc(b) for a, b in zip(expected_least, expected_most)], atol=TOL
    )
    normalized = metrics.get("deletion_gap", normalize=True)(attribution, adapter, background)
    span = np.abs(result.extras["deletion_curves"][:, 0] - result.extras["deletion_curves"][:, -1])
    np.testing.assert_allclose(normalized.scores, result.scores / span, atol=TOL)


def test_curves_on_additive_model_are_cumulative_shapley_sums():
    """v(S) = v(∅) + Σ_{i∈S} φ_i for an additive model, so the curves are known in closed form."""
    rng = np.random.default_rng(0)
    d = 6
    model = AdditiveModel(d)
    adapter = wrap(model)
    X, background = rng.normal(size=(5, d)), rng.normal(size=(15, d))
    phi = model.shapley(X, background)
    attribution = exact_shapley(adapter, X, background)
    curves = metrics.get("deletion_auc")(attribution, adapter, background).extras["curves"]
    order = np.argsort(-phi, axis=1, kind="stable")
    removed = np.concatenate([np.zeros((5, 1)), np.cumsum(np.take_along_axis(phi, order, axis=1), axis=1)], axis=1)
    fx = adapter.predict(X)[:, 0]
    np.testing.assert_allclose(curves, fx[:, None] - removed, atol=1e-10)


# ---------------------------------------------------------------------- groups
def test_groups_remove_all_their_columns_together():
    """f = x0·x1 + x2 with group {x0, x1}: removing the group draws both columns from the SAME
    background row, so v(without group) = x2 + mean(b0·b1) ≠ x2 + mean(b0)·mean(b1)."""

    class Interaction(torch.nn.Module):
        in_features = 3

        def __init__(self):
            super().__init__()
            self.register_buffer("unit", torch.ones((), dtype=torch.float64))  # makes the adapter use float64

        def forward(self, x):
            return (x[:, 0] * x[:, 1] + x[:, 2])[:, None]

    module = Interaction()
    adapter = wrap(module)
    rng = np.random.default_rng(1)
    b0 = rng.normal(size=8)
    background = np.column_stack([b0, b0 + 0.1 * rng.normal(size=8), rng.normal(size=8)])
    X = np.array([[1.0, 2.0, 0.5], [-1.0, 0.5, 2.0]])
    groups = FeatureGroups(("pair", "x2"), ((0, 1), (2,)), ("x0", "x1", "x2"))
    values = np.array([[2.0, 0.5], [-0.5, 1.0]])
    attribution = Attribution(
        values=values, base_values=np.zeros(2), data=X, target=np.zeros(2, dtype=int),
        feature_names=groups.names, method="m", groups=groups,
    )
    result = metrics.get("deletion_auc")(attribution, adapter, background)
    expected = ref_curves(module, X, values, [0, 0], background, groups.indices, insertion=False)
    np.testing.assert_allclose(result.extras["curves"], expected, atol=TOL)
    # Row 0 deletes the pair first: x2 + mean(b0*b1), far from the column-wise product of means.
    joint = X[0, 2] + np.mean(background[:, 0] * background[:, 1])
    separate = X[0, 2] + background[:, 0].mean() * background[:, 1].mean()
    assert abs(result.extras["curves"][0, 1] - joint) < TOL
    assert abs(joint - separate) > 0.1


# ---------------------------------------------------------------------- every faithfulness metric
@functools.lru_cache(maxsize=None)
def _additive_case(n=24, d=8, seed=0):
    rng = np.random.default_rng(seed)
    model = AdditiveModel(d)
    adapter = wrap(model)
    X, background = rng.normal(size=(n, d)), rng.normal(size=(16, d))
    exact = exact_shapley(adapter, X, background)
    np.testing.assert_allclose(exact.values, model.shapley(X, background), atol=1e-10)
    shuffled = with_values(exact, np.array([rng.permutation(row) for row in exact.values]))
    random = with_values(exact, rng.normal(size=exact.values.shape) * exact.values.std())
    return model, adapter, X, background, exact, shuffled, random


# Removal-based metrics (and infidelity with removal perturbations) score how well the values
# predict what removing features does, so exact (interventional) Shapley values must win.
REMOVAL_BASED = [n for n in FAITHFULNESS if n not in ("pgi", "pgu")]
# Gaussian perturbations (PGI, PGU, Gaussian infidelity) probe the model locally: to first order
# their best attribution is the gradient scaled by the noise, not the Shapley value. On this
# additive model exact Shapley values do NOT beat a shuffled copy on PGI (0.107 vs 0.112).
LOCAL = ["pgi", "pgu", "infidelity"]


@pytest.mark.parametrize("name", REMOVAL_BASED)
def test_exact_shapley_beats_shuffled_and_random_on_additive_model(name):
    model, adapter, X, background, exact, shuffled, random = _additive_case()
    metric = metrics.get(name, **({"perturbation": "removal"} if name == "infidelity" else {}))
    sign = 1.0 if metric.higher_is_better else -1.0
    best = sign * metric(exact, adapter, background).value
    for other in (shuffled, random):
        assert best > sign * metric(other, adapter, background).value, name


@pytest.mark.parametrize("name", LOCAL)
def test_local_sensitivity_beats_shuffled_and_random_on_gaussian_metrics(name):
    model, adapter, X, background, exact, shuffled, random = _additive_case()
    sensitivity = adapter.gradient(X, 0)
    if name != "infidelity":  # top-k by |∂f/∂x_j · std_j|: the first-order best ranking for noise ∝ std_j
        sensitivity = sensitivity * background.std(axis=0)
    oracle = with_values(exact, sensitivity)
    rng = np.random.default_rng(5)
    metric = metrics.get(name)
    sign = 1.0 if metric.higher_is_better else -1.0
    best = sign * metric(oracle, adapter, background).value
    for other in (np.array([rng.permutation(r) for r in sensitivity]), rng.normal(size=sensitivity.shape)):
        assert best > sign * metric(with_values(oracle, other), adapter, background).value, name


@pytest.mark.parametrize("name", FAITHFULNESS)
def test_invariant_to_positive_scaling_of_attributions(name, setup):
    """Every metric here depends on the attributions only through their order, their
    correlation with the model, or (infidelity, normalised) after optimal rescaling."""
    module, adapter, X, background, attribution = setup
    config = {"infidelity": {"perturbation": "removal", "n_perturbations": 8}}.get(name, {"n_perturbations": 8})
    metric = metrics.get(name)
    config = {k: v for k, v in config.items() if k in metric.get_params()}
    metric.set_params(**config)
    base = metric(attribution, adapter, background).scores
    scaled = metric(with_values(attribution, 7.5 * attribution.values), adapter, background).scores
    np.testing.assert_allclose(scaled, base, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name", FAITHFULNESS)
def test_validation_errors(name, setup):
    module, adapter, X, background, attribution = setup
    metric = metrics.get(name)
    assert metric.family == "faithfulness"
    bad = attribution.values.copy()
    bad[0, 0] = np.nan
    with pytest.raises(InvalidInputError, match="NaN"):
        metric(with_values(attribution, bad), adapter, background)
    with pytest.raises(InvalidInputError, match="output"):
        metric(with_values(attribution, attribution.values, output="probability"), adapter, background)
    with pytest.raises(InvalidInputError, match="columns"):
        metric(attribution, adapter, background[:, :3])
    with pytest.raises(InvalidInputError, match="background"):
        metric(attribution, adapter, None)
    with pytest.raises(InvalidInputError, match="output 1"):
        regression = wrap(make_mlp(5, 1, (4,), dtype=torch.float64))  # a single output, index 0
        metric(with_values(attribution, attribution.values, output="raw"), regression, background)
    other_model = wrap(make_mlp(4, 2, (4,), dtype=torch.float64), output="logit")
    with pytest.raises(InvalidInputError, match="columns"):
        metric(attribution, other_model, background[:, :4])


@pytest.mark.parametrize("name", ["deletion_auc", "insertion_auc", "deletion_gap"])
def test_removal_strategy_errors(name, setup):
    module, adapter, X, background, attribution = setup
    with pytest.raises(UnknownNameError, match="removal strategy"):
        metrics.get(name, removal="zero")(attribution, adapter, background)
    with pytest.raises(InvalidInputError, match="baseline"):
        metrics.get(name, removal="baseline")(attribution, adapter, background)


def test_metric_does_not_mutate_inputs_and_counts_model_rows(setup):
    module, adapter, X, background, attribution = setup
    background_copy = background.copy()
    result = metrics.get("deletion_auc")(attribution, adapter, background)
    np.testing.assert_array_equal(background, background_copy)
    n, d = X.shape
    # (d - 1) inner steps × r reference rows per row, f(x) once per row, v(∅) once over the background.
    assert result.model_rows == n * (d - 1) * len(background) + n + len(background)
    assert not result.higher_is_better


# ---------------------------------------------------------------------- properties
@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(1, 3),
    d=st.integers(1, 5),
    r=st.integers(1, 4),
    seed=st.integers(0, 2**16),
    scale=st.floats(1e-3, 1e3),
)
def test_curve_properties(n, d, r, seed, scale):
    rng = np.random.default_rng(seed)
    adapter = wrap(AdditiveModel(d))
    X, background = rng.normal(size=(n, d)), rng.normal(size=(r, d))
    values = scale * rng.normal(size=(n, d))
    values[:, 0] = np.round(values[:, 0])  # some ties and zeros
    target = np.zeros(n, dtype=int)
    deletion, order = deletion_curve(adapter, X, values, target, background)
    insertion, _ = insertion_curve(adapter, X, values, target, background)
    assert deletion.shape == insertion.shape == (n, d + 1)
    assert np.isfinite(deletion).all() and np.isfinite(insertion).all()
    assert sorted(order[0].tolist()) == list(range(d))
    np.testing.assert_allclose(deletion[:, 0], insertion[:, -1], atol=1e-12)
    np.testing.assert_allclose(deletion[:, -1], insertion[:, 0], atol=1e-12)
    for curves in (deletion, insertion):
        auc = curve_auc(curves)
        assert auc.shape == (n,)
        assert (auc >= curves.min(axis=1) - 1e-12).all() and (auc <= curves.max(axis=1) + 1e-12).all()
