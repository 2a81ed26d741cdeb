"""Infidelity against a loop reference and against captum.metrics.infidelity fed the same
perturbations (captum is a test-only reference)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch
from captum.metrics import infidelity as captum_infidelity
from captum.metrics import infidelity_perturb_func_decorator

from agnostic_xai import metrics
from agnostic_xai.adapters import wrap
from agnostic_xai.attribution import Attribution
from agnostic_xai.exceptions import InvalidInputError
from agnostic_xai.groups import FeatureGroups
from agnostic_xai.metrics._rng import row_random
from agnostic_xai.metrics.infidelity import (
    gaussian_perturbations,
    infidelity_from_perturbations,
    removal_perturbations,
)
from agnostic_xai.testing import LinearModel, make_mlp

TOL = 1e-10
K = 9


def row_output(module, z, t):
    with torch.no_grad():
        return float(module(torch.tensor(np.array(z, dtype=np.float64)[None, :]))[0, t])


def ref_infidelity(module, X, values, target, perturbations, perturbed, normalize):
    """E_k[(β·Iₖᵀφ − (f(x) − f(x − Iₖ)))²] row by row, β = Σ aΔ / Σ a² or 1."""
    scores = []
    for x, phi, t, I_row, z_row in zip(X, values, target, perturbations, perturbed):
        fx = row_output(module, x, t)
        a = [sum(I[p] * phi[p] for p in range(len(phi))) for I in I_row]
        delta = [fx - row_output(module, z, t) for z in z_row]
        beta = 1.0
        if normalize:
            power = sum(v * v for v in a)
            beta = sum(u * v for u, v in zip(a, delta)) / power if power > 0 else 0.0
        scores.append(sum((beta * u - v) ** 2 for u, v in zip(a, delta)) / len(a))
    return np.array(scores)


@pytest.fixture(scope="module")
def setup():
    rng = np.random.default_rng(21)
    d = 5
    module = make_mlp(d, 2, (10,), seed=6, dtype=torch.float64)
    adapter = wrap(module, output="logit")
    X = rng.normal(size=(4, d))
    background = rng.normal(0.1, [0.5, 1.0, 2.0, 0.2, 1.0], size=(12, d))
    attribution = Attribution(
        values=rng.normal(size=(4, d)), base_values=np.zeros(4), data=X, target=np.array([0, 1, 0, 1]),
        feature_names=tuple(f"x{i}" for i in range(d)), method="random", output="logit",
    )
    return module, adapter, X, background, attribution


@pytest.mark.parametrize("normalize", [True, False])
@pytest.mark.parametrize("perturbation", ["gaussian", "removal"])
def test_matches_loop_reference(setup, perturbation, normalize):
    module, adapter, X, background, attribution = setup
    metric = metrics.get("infidelity", perturbation=perturbation, normalize=normalize, n_perturbations=K,
                         noise_scale=0.3, random_state=7)
    result = metric(attribution, adapter, background)
    # The documented draws, regenerated from the same seed (one stream per row):
    rng = row_random(7, X.shape[0])
    if perturbation == "gaussian":
        I, Z = gaussian_perturbations(rng, X, 0.3 * background.std(axis=0), K)
    else:
        I, Z = removal_perturbations(rng, X, background, K, 2)
    expected = ref_infidelity(module, X, attribution.values, attribution.target, I, Z, normalize)
    np.testing.assert_allclose(result.scores, expected, rtol=1e-9, atol=TOL)
    assert result.model_rows == X.shape[0] * (K + 1)


def test_gaussian_perturbations_have_the_stated_scale():
    X = np.zeros((1, 3))
    scale = np.array([0.1, 1.0, 0.0])
    I, Z = gaussian_perturbations(np.random.default_rng(0), X, scale, 20000)
    np.testing.assert_allclose(I[0].std(axis=0), scale, rtol=0.03)
    np.testing.assert_array_equal(Z, X[:, None, :] - I)


def test_removal_perturbations_replace_subsets_by_one_reference_row():
    rng = np.random.default_rng(0)
    X = np.full((2, 4), 100.0)
    reference = np.arange(12.0).reshape(3, 4)
    groups = FeatureGroups(("ab", "c", "d"), ((0, 1), (2,), (3,)), ("a", "b", "c", "d"))
    I, Z = removal_perturbations(rng, X, reference, 50, 2, groups=groups)
    assert I.shape == (2, 50, 3) and (I.sum(axis=-1) == 2).all()
    for i in range(2):
        for k in range(50):
            removed = np.flatnonzero(groups.expand(I[i, k]))
            kept = np.setdiff1d(np.arange(4), removed)
            np.testing.assert_array_equal(Z[i, k, kept], 100.0)
            assert any(np.array_equal(Z[i, k, removed], r[removed]) for r in reference)


def _captum(module, X, values, target, I, Z, normalize):
    n, k = I.shape[:2]

    def perturb(inputs):
        assert inputs.shape[0] == n * k
        return (torch.tensor(I.reshape(n * k, -1).astype(np.float64)), torch.tensor(Z.reshape(n * k, -1)))

    return captum_infidelity(
        module, perturb, torch.tensor(X), torch.tensor(values), target=torch.tensor(target),
        n_perturb_samples=k, normalize=normalize,
    ).numpy()


@pytest.mark.parametrize("normalize", [True, False])
@pytest.mark.parametrize("perturbation", ["gaussian", "removal"])
def test_agrees_with_captum_on_the_same_perturbations(setup, perturbation, normalize):
    module, adapter, X, background, attribution = setup
    rng = np.random.default_rng(1)
    if perturbation == "gaussian":
        I, Z = gaussian_perturbations(rng, X, 0.1 * background.std(axis=0), K)
    else:
        I, Z = removal_perturbations(rng, X, background, K, 2)
    ours, _ = infidelity_from_perturbations(
        adapter, X, attribution.values, attribution.target, I, Z, normalize=normalize
    )
    theirs = _captum(module, X, attribution.values, attribution.target, I, Z, normalize)
    np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-12)


def test_removal_indicator_is_captums_multiply_by_inputs_convention(setup):
    """With one reference row b (removal="mean"), captum's decorator derives I = (x − x')/(x − b):
    the indicator of the removed columns, which is what the "removal" perturbation uses."""
    module, adapter, X, background, attribution = setup
    b = background.mean(axis=0, keepdims=True)
    result = metrics.get("infidelity", perturbation="removal", removal="mean", n_perturbations=K, random_state=3)(
        attribution, adapter, background
    )
    _, Z = removal_perturbations(row_random(3, X.shape[0]), X, b, K, 2)

    @infidelity_perturb_func_decorator(True)
    def perturb(inputs, baselines):
        return torch.tensor(Z.reshape(-1, 5))

    theirs = captum_infidelity(
        module, perturb, torch.tensor(X), torch.tensor(attribution.values), baselines=torch.tensor(b),
        target=torch.tensor(attribution.target), n_perturb_samples=K, normalize=True,
    ).numpy()
    np.testing.assert_allclose(result.scores, theirs, rtol=1e-9, atol=1e-12)


def test_grouped_removal_sums_the_removed_groups(setup):
    module, adapter, X, background, attribution = setup
    groups = FeatureGroups(("ab", "c", "de"), ((0, 1), (2,), (3, 4)), attribution.feature_names)
    grouped = replace(attribution, values=attribution.values[:, :3], feature_names=groups.names, groups=groups)
    result = metrics.get("infidelity", perturbation="removal", subset_size=1, n_perturbations=K, random_state=2)(
        grouped, adapter, background
    )
    I, Z = removal_perturbations(row_random(2, X.shape[0]), X, background, K, 1, groups=groups)
    expected = ref_infidelity(module, X, grouped.values, grouped.target, I, Z, True)
    np.testing.assert_allclose(result.scores, expected, rtol=1e-9, atol=TOL)
    # each perturbed row replaces both columns of a removed pair
    changed = Z != X[:, None, :]
    assert not (changed[..., 0] ^ changed[..., 1]).any()


def test_gaussian_refuses_groups(setup):
    module, adapter, X, background, attribution = setup
    groups = FeatureGroups(("ab", "c", "de"), ((0, 1), (2,), (3, 4)), attribution.feature_names)
    grouped = replace(attribution, values=attribution.values[:, :3], feature_names=groups.names, groups=groups)
    with pytest.raises(InvalidInputError, match="perturbation='removal'"):
        metrics.get("infidelity")(grouped, adapter, background)


def test_linear_model_gradient_has_zero_unnormalised_gaussian_infidelity():
    """f(x) − f(x − I) = wᵀI exactly for a linear model, so φ = w is perfectly faithful."""
    rng = np.random.default_rng(0)
    w = rng.normal(size=4)
    adapter = wrap(LinearModel(w, bias=0.5))
    X, background = rng.normal(size=(3, 4)), rng.normal(size=(10, 4))
    attribution = Attribution(values=np.tile(w, (3, 1)), base_values=np.zeros(3), data=X,
                              target=np.zeros(3, int), feature_names=("a", "b", "c", "d"), method="gradient")
    for normalize in (True, False):
        result = metrics.get("infidelity", normalize=normalize, noise_scale=1.0)(attribution, adapter, background)
        np.testing.assert_allclose(result.scores, 0.0, atol=1e-20)
    # Halving φ costs infidelity unnormalised but not normalised (β* = 2 restores it).
    half = replace(attribution, values=attribution.values / 2)
    assert metrics.get("infidelity", normalize=False)(half, adapter, background).value > 1e-4
    np.testing.assert_allclose(metrics.get("infidelity")(half, adapter, background).extras["beta"], 2.0, rtol=1e-12)


def test_zero_attribution_gets_beta_zero(setup):
    module, adapter, X, background, attribution = setup
    zero = replace(attribution, values=np.zeros_like(attribution.values))
    result = metrics.get("infidelity", n_perturbations=K)(zero, adapter, background)
    np.testing.assert_array_equal(result.extras["beta"], 0.0)
    np.testing.assert_allclose(result.scores, (result.extras["output_changes"] ** 2).mean(axis=1), atol=TOL)


@pytest.mark.parametrize(
    "params",
    [{"perturbation": "uniform"}, {"noise_scale": 0.0}, {"noise_scale": -1}, {"n_perturbations": 0},
     {"perturbation": "removal", "subset_size": 1.2}, {"perturbation": "removal", "subset_size": 6}],
)
def test_parameter_errors(setup, params):
    module, adapter, X, background, attribution = setup
    with pytest.raises(InvalidInputError):
        metrics.get("infidelity", **params)(attribution, adapter, background)
