"""Comprehensiveness, sufficiency (ERASER/ferret) and PGI/PGU (OpenXAI) against loop references."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from agnostic_xai import metrics
from agnostic_xai.adapters import wrap
from agnostic_xai.attribution import Attribution
from agnostic_xai.exceptions import InvalidInputError
from agnostic_xai.groups import FeatureGroups
from agnostic_xai.metrics.rationale import comprehensiveness, sufficiency
from agnostic_xai.testing import AdditiveModel, make_mlp

TOL = 1e-10


def row_output(module, z, t):
    with torch.no_grad():
        return float(module(torch.tensor(np.array(z, dtype=np.float64)[None, :]))[0, t])


def ref_value(module, x, kept_columns, reference, t):
    total = 0.0
    for r in reference:
        total += row_output(module, [x[j] if j in kept_columns else r[j] for j in range(len(x))], t)
    return total / len(reference)


def players(attribution):
    groups = attribution.groups
    return [(j,) for j in range(attribution.n_features)] if groups is None else list(groups.indices)


@pytest.fixture(scope="module")
def setup():
    rng = np.random.default_rng(31)
    d = 7
    module = make_mlp(d, 2, (10,), seed=8, dtype=torch.float64)
    adapter = wrap(module, output="logit")
    X = rng.normal(size=(3, d))
    background = rng.normal(-0.2, 1.1, size=(5, d))
    names = tuple(f"x{i}" for i in range(d))
    attribution = Attribution(
        values=rng.normal(size=(3, d)), base_values=np.zeros(3), data=X, target=np.array([1, 1, 0]),
        feature_names=names, method="random", output="logit",
    )
    groups = FeatureGroups(("a", "b", "c", "d"), ((0, 4), (1, 2), (3,), (5, 6)), names)
    grouped = replace(attribution, values=attribution.values[:, :4], feature_names=groups.names, groups=groups)
    return module, adapter, X, background, attribution, grouped


# ---------------------------------------------------------------------- comprehensiveness / sufficiency
@pytest.mark.parametrize("grouped", [False, True])
@pytest.mark.parametrize("fractions", [(0.1, 0.2, 0.3, 0.4, 0.5), (0.5, 1.0)])
def test_comprehensiveness_and_sufficiency_match_loops(setup, grouped, fractions):
    module, adapter, X, background, attribution, grouped_attribution = setup
    attribution = grouped_attribution if grouped else attribution
    comp = metrics.get("comprehensiveness", fractions=fractions)(attribution, adapter, background)
    suff = metrics.get("sufficiency", fractions=fractions)(attribution, adapter, background)
    cols = players(attribution)
    m = len(cols)
    for i, (x, phi, t) in enumerate(zip(X, attribution.values, attribution.target)):
        order = sorted(range(m), key=lambda p: (-phi[p], p))
        fx = row_output(module, x, t)
        c_drops, s_drops = [], []
        for f in fractions:
            top = set(order[: max(1, math.ceil(round(f * m, 9)))])
            top_columns = {c for p in top for c in cols[p]}
            rest_columns = set(range(X.shape[1])) - top_columns
            c_drops.append(fx - ref_value(module, x, rest_columns, background, t))
            s_drops.append(fx - ref_value(module, x, top_columns, background, t))
        np.testing.assert_allclose(comp.extras["drops"][i], c_drops, atol=TOL)
        np.testing.assert_allclose(suff.extras["drops"][i], s_drops, atol=TOL)
        assert abs(comp.scores[i] - np.mean(c_drops)) < TOL
        assert abs(suff.scores[i] - np.mean(s_drops)) < TOL


def test_rationale_sizes_round_up_with_at_least_one_feature(setup):
    module, adapter, X, background, attribution, grouped = setup
    result = metrics.get("comprehensiveness", fractions=(0.01, 0.1, 0.3, 0.5, 1.0))(attribution, adapter, background)
    np.testing.assert_array_equal(result.extras["sizes"], [1, 1, 3, 4, 7])
    result = metrics.get("sufficiency", fractions=(0.25, 0.5))(grouped, adapter, background)
    np.testing.assert_array_equal(result.extras["sizes"], [1, 2])
    result = metrics.get("sufficiency", fractions=(0.1,))(attribution[:1], adapter, background)
    np.testing.assert_array_equal(result.extras["sizes"], [1])


def test_full_rationale_limits(setup):
    """Removing every feature drops the output to v(∅); keeping every feature changes nothing."""
    module, adapter, X, background, attribution, _ = setup
    fx = attribution.explained_output(adapter)
    empty = adapter.predict(background).mean(axis=0)[attribution.target]
    comp = metrics.get("comprehensiveness", fractions=(1.0,))(attribution, adapter, background)
    suff = metrics.get("sufficiency", fractions=(1.0,))(attribution, adapter, background)
    np.testing.assert_allclose(comp.scores, fx - empty, atol=TOL)
    np.testing.assert_allclose(suff.scores, 0.0, atol=TOL)


@pytest.mark.parametrize("name", ["comprehensiveness", "sufficiency"])
@pytest.mark.parametrize("fractions", [(), (0.0,), (0.2, 1.1), (-0.1,), "half", None])
def test_fraction_errors(setup, name, fractions):
    module, adapter, X, background, attribution, _ = setup
    with pytest.raises(InvalidInputError, match="fractions"):
        metrics.get(name, fractions=fractions)(attribution, adapter, background)


# ---------------------------------------------------------------------- PGI / PGU
@pytest.mark.parametrize("grouped", [False, True])
@pytest.mark.parametrize("name", ["pgi", "pgu"])
def test_prediction_gaps_match_loops(setup, grouped, name):
    module, adapter, X, background, attribution, grouped_attribution = setup
    attribution = grouped_attribution if grouped else attribution
    n, d = X.shape
    K, k, noise_scale, seed = 6, 0.3, 0.5, 9
    result = metrics.get(name, k=k, noise_scale=noise_scale, n_perturbations=K, random_state=seed)(
        attribution, adapter, background
    )
    # The documented draws: for row i, ε = N(0, 1) of shape (K, d) from row i's own stream
    # default_rng(SeedSequence([seed, i])), times noise_scale · std_j.
    noise = np.stack(
        [np.random.default_rng(np.random.SeedSequence([seed, i])).standard_normal((K, d)) for i in range(n)]
    ) * noise_scale * background.std(axis=0)
    cols = players(attribution)
    m = len(cols)
    count = math.ceil(k * m)
    for i, (x, phi, t) in enumerate(zip(X, attribution.values, attribution.target)):
        order = sorted(range(m), key=lambda p: (-abs(phi[p]), p))
        chosen = set(order[:count]) if name == "pgi" else set(order[count:])
        perturbed_columns = {c for p in chosen for c in cols[p]}
        fx = row_output(module, x, t)
        gaps = []
        for e in noise[i]:
            z = [x[j] + e[j] if j in perturbed_columns else x[j] for j in range(d)]
            gaps.append(abs(fx - row_output(module, z, t)))
        assert abs(result.scores[i] - np.mean(gaps)) < TOL
        assert set(np.flatnonzero(result.extras["perturbed"][i])) == perturbed_columns
    assert result.model_rows == n * (K + 1)


def test_pgi_and_pgu_split_the_columns(setup):
    module, adapter, X, background, attribution, _ = setup
    pgi = metrics.get("pgi", k=3)(attribution, adapter, background)
    pgu = metrics.get("pgu", k=3)(attribution, adapter, background)
    assert pgi.extras["k"] == pgu.extras["k"] == 3
    assert (pgi.extras["perturbed"] ^ pgu.extras["perturbed"]).all()
    assert (pgi.extras["perturbed"].sum(axis=1) == 3).all()


@pytest.mark.parametrize(
    "name, k", [("pgi", 0), ("pgi", 8), ("pgi", 1.5), ("pgi", -0.2), ("pgi", "3"), ("pgi", True), ("pgu", 7),
                ("pgu", 1.0)]
)
def test_k_out_of_range(setup, name, k):
    module, adapter, X, background, attribution, _ = setup
    with pytest.raises(InvalidInputError, match="k"):
        metrics.get(name, k=k)(attribution, adapter, background)


@pytest.mark.parametrize("params", [{"noise_scale": 0}, {"noise_scale": float("inf")}, {"n_perturbations": 0}])
def test_prediction_gap_parameter_errors(setup, params):
    module, adapter, X, background, attribution, _ = setup
    with pytest.raises(InvalidInputError):
        metrics.get("pgi", **params)(attribution, adapter, background)


def test_prediction_gaps_are_seeded(setup):
    module, adapter, X, background, attribution, _ = setup
    a = metrics.get("pgi", random_state=1)(attribution, adapter, background).scores
    b = metrics.get("pgi", random_state=1)(attribution, adapter, background).scores
    c = metrics.get("pgi", random_state=2)(attribution, adapter, background).scores
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


@settings(max_examples=20, deadline=None)
@given(n=st.integers(1, 3), d=st.integers(2, 6), r=st.integers(1, 4), seed=st.integers(0, 2**16),
       frac=st.floats(0.01, 1.0))
def test_rationale_properties(n, d, r, seed, frac):
    rng = np.random.default_rng(seed)
    adapter = wrap(AdditiveModel(d))
    X, background = rng.normal(size=(n, d)), rng.normal(size=(r, d))
    values = rng.normal(size=(n, d))
    target = np.zeros(n, dtype=int)
    comp, c_extras = comprehensiveness(adapter, X, values, target, background, fractions=(frac,))
    suff, _ = sufficiency(adapter, X, values, target, background, fractions=(frac,))
    assert comp.shape == suff.shape == (n,) and np.isfinite(comp).all() and np.isfinite(suff).all()
    assert 1 <= c_extras["sizes"][0] <= d
    # Additive model: v(S) = v(∅) + Σ_{i∈S} φ_i, so for any rationale T
    # (f − v(N∖T)) + (f − v(T)) = f − v(∅) for any T.
    fx = adapter.predict(X)[:, 0]
    empty = adapter.predict(background).mean(axis=0)[0]
    np.testing.assert_allclose(comp + suff, fx - empty, atol=1e-9)
