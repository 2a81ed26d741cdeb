"""PGI/PGU, infidelity and the relative stabilities on binary, one-hot and zero-heavy columns.

Oracles: closed-form expectations of linear models under category switches and flips, loop
references of the norm-ratio forms, and the 1/ε scaling of the elementwise RIS.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from agnostic_xai import metrics, wrap
from agnostic_xai.attribution import Attribution
from agnostic_xai.columns import ColumnTypes, perturb
from agnostic_xai.exceptions import InvalidInputError
from agnostic_xai.explainers import get as get_explainer
from agnostic_xai.groups import FeatureGroups
from agnostic_xai.metrics._rng import row_random
from agnostic_xai.metrics.relative_stability import relative_input_stability, relative_output_stability
from agnostic_xai.testing import LogisticModel

NAMES = ["c", "b", "cat_0", "cat_1", "cat_2", "cat_3"]
W_CAT = np.array([-1.0, 0.5, 2.0, 0.0])
W = np.r_[0.7, 1.5, W_CAT]


def onehot_table(n=60, seed=0):
    rng = np.random.default_rng(seed)
    cat = rng.integers(0, 4, n)
    return np.column_stack([rng.uniform(size=n), (rng.random(n) < 0.4).astype(float), np.eye(4)[cat]])


@pytest.fixture(scope="module")
def linear():
    adapter = wrap(lambda X: X @ W, task="regression", feature_names=NAMES)
    X = onehot_table()
    groups = FeatureGroups.from_dict({"cat": NAMES[2:]}, NAMES)
    return adapter, X[:8], X[20:], groups


def grouped_attribution(X, values, groups):
    return Attribution(
        values=values, base_values=np.zeros(len(X)), data=X, target=np.zeros(len(X), dtype=int),
        feature_names=groups.names, method="random", output="raw", groups=groups,
    )


def test_pgi_switches_categories_with_the_closed_form_expectation(linear):
    adapter, X, background, groups = linear
    n, K, p = len(X), 4000, 0.3
    # Players (c, b, cat): cat has the largest |φ|, so PGI with k=1 switches the category only.
    attribution = grouped_attribution(X, np.tile([0.1, 0.2, 5.0], (n, 1)), groups)
    result = metrics.get("pgi", k=1, n_perturbations=K, flip_probability=p)(attribution, adapter, background)
    current = X[:, 2:].argmax(axis=1)
    # E|f(x) − f(x')| = p · mean over the other categories of |w_new − w_current|.
    expected = np.array([p * np.mean([abs(W_CAT[c] - W_CAT[k]) for c in range(4) if c != k]) for k in current])
    sd = np.array([np.std([abs(W_CAT[c] - W_CAT[k]) for c in range(4) if c != k] + [0.0]) for k in current]) + 1.0
    np.testing.assert_allclose(result.scores, expected, atol=float(5 * sd.max() * np.sqrt(p / K)) + 1e-12)
    assert result.extras["column_types"]["onehot"] == {"cat": NAMES[2:]}
    # Binary column b on top: it flips with probability p and moves f by |w_b|.
    on_b = replace(attribution, values=np.tile([0.1, 5.0, 0.2], (n, 1)))
    flips = metrics.get("pgi", k=1, n_perturbations=K, flip_probability=p)(on_b, adapter, background).scores
    np.testing.assert_allclose(flips, p * W[1], atol=5 * W[1] * np.sqrt(p * (1 - p) / K))


def category_model(X):
    """A model that reads categories as a tree does: the hot column's weight, and b above 0.5."""
    return W_CAT[X[:, 2:].argmax(axis=1)] + 1.5 * (X[:, 1] > 0.5)


def test_gaussian_pgi_never_changes_a_category_tabular_does(linear):
    """The old behaviour, kept as perturbation="gaussian", gives PGI = PGU = 0 for every explanation."""
    _, X, background, groups = linear
    adapter = wrap(category_model, task="regression", feature_names=NAMES)
    n, p = len(X), 0.3
    good = grouped_attribution(X, np.tile([0.1, 0.2, 5.0], (n, 1)), groups)  # the category on top
    bad = grouped_attribution(X, np.tile([5.0, 0.2, 0.1], (n, 1)), groups)  # c, which the model ignores, on top
    for attribution in (good, bad):
        for name in ("pgi", "pgu"):
            result = metrics.get(name, k=1, perturbation="gaussian")(attribution, adapter, background)
            np.testing.assert_array_equal(result.scores, 0.0)

    def tab(name, attribution):
        return metrics.get(name, k=1, flip_probability=p, n_perturbations=2000)(attribution, adapter, background)

    assert tab("pgi", good).value > 0.3 and tab("pgi", bad).value == 0.0
    assert tab("pgu", good).value < tab("pgu", bad).value
    # PGU of the good explanation: only b can move f, by 1.5, when it flips.
    np.testing.assert_allclose(tab("pgu", good).scores, 1.5 * p, atol=5 * 1.5 * np.sqrt(p * (1 - p) / 2000))


def test_pgi_openxai_uses_an_absolute_scale_and_independent_flips(linear):
    adapter, X, background, groups = linear
    n = len(X)
    on_c = grouped_attribution(X, np.tile([5.0, 0.1, 0.2], (n, 1)), groups)
    # Only c perturbed: N(0, σ²) with σ = noise_scale itself, so E|Δf| = |w_c| σ sqrt(2/π).
    result = metrics.get("pgi", k=1, perturbation="openxai", noise_scale=0.05, n_perturbations=4000)(
        on_c, adapter, background
    )
    np.testing.assert_allclose(result.scores, W[0] * 0.05 * np.sqrt(2 / np.pi), rtol=0.06)
    with pytest.raises(InvalidInputError, match="perturbation"):
        metrics.get("pgi", perturbation="bogus")(on_c, adapter, background)
    with pytest.raises(InvalidInputError, match="flip_probability"):
        metrics.get("pgi", flip_probability=2.0)(on_c, adapter, background)
    with pytest.raises(InvalidInputError, match="column_types"):
        metrics.get("pgi", column_types=["b"])(on_c, adapter, background)


def test_tabular_infidelity_flips_binary_columns_by_their_full_step(linear):
    adapter, X, background, _ = linear
    n = len(X)
    attribution = Attribution(
        values=np.tile(np.eye(6)[1], (n, 1)), base_values=np.zeros(n), data=X, target=np.zeros(n, dtype=int),
        feature_names=tuple(NAMES), method="random", output="raw",
    )
    result = metrics.get("infidelity", n_perturbations=500, flip_probability=0.25, normalize=False)(
        attribution, adapter, background
    )
    steps = result.extras["attribution_sums"]  # Iᵀφ = I_b = x_b − x'_b
    assert set(np.unique(steps)) <= {-1.0, 0.0, 1.0}
    assert abs(np.mean(steps != 0) - 0.25) < 4 * np.sqrt(0.25 * 0.75 / steps.size)
    # The output change of a linear model is exactly Wᵀ I, so the fit error is that of the other columns only.
    old = metrics.get("infidelity", perturbation="gaussian", n_perturbations=50)(attribution, adapter, background)
    assert not set(np.unique(old.extras["attribution_sums"])) <= {-1.0, 0.0, 1.0}


# ---------------------------------------------------------------------- relative input stability
def test_norm_ratio_ris_matches_a_loop_and_does_not_depend_on_eps():
    rng = np.random.default_rng(4)
    X = np.where(rng.random((5, 6)) < 0.5, 0.0, rng.random((5, 6)))
    values = np.where(rng.random((5, 6)) < 0.3, 0.0, rng.normal(size=(5, 6)))
    Xp = X[None] + 0.01 * rng.normal(size=(3, 5, 6))
    Vp = values[None] + 0.05 * rng.normal(size=(3, 5, 6))
    scores = relative_input_stability(X, values, Xp, Vp)
    for i in range(5):
        ref = max(
            (np.linalg.norm(Vp[p, i] - values[i]) / np.linalg.norm(values[i]))
            / (np.linalg.norm(Xp[p, i] - X[i]) / np.linalg.norm(X[i]))
            for p in range(3)
        )
        assert scores[i] == pytest.approx(ref, rel=1e-12)
    np.testing.assert_array_equal(scores, relative_input_stability(X, values, Xp, Vp, eps=1e-2))
    # Zero explanation or zero row: divided by 1, not by 0; a draw that changed nothing is left out.
    zero = relative_input_stability(np.zeros((1, 2)), np.zeros((1, 2)), np.ones((2, 1, 2)), np.ones((2, 1, 2)))
    np.testing.assert_allclose(zero, 1.0)
    same = relative_input_stability(np.ones((1, 2)), np.ones((1, 2)), np.ones((2, 1, 2)), 2 * np.ones((2, 1, 2)))
    assert np.isnan(same).all()
    with pytest.raises(InvalidInputError, match="form"):
        relative_input_stability(X, values, Xp, Vp, form="ratio")


@pytest.fixture(scope="module")
def zero_heavy():
    """MinMax-scaled columns, half of them exactly 0, and binary columns; a logistic model on them."""
    rng = np.random.default_rng(2)
    n = 80
    X = np.column_stack([
        np.where(rng.random((n, 3)) < 0.5, 0.0, rng.random((n, 3))),
        (rng.random((n, 3)) < 0.3).astype(float),
    ])
    model = LogisticModel(np.column_stack([np.zeros(6), rng.normal(size=6)]))
    adapter = wrap(model, output="logit")
    explainers = {name: get_explainer(name).fit(adapter, X[20:]) for name in ("input_x_gradient", "random")}
    return adapter, X[:10], X[20:], {name: (e, e.explain(X[:10])) for name, e in explainers.items()}


def ris(zero_heavy, name, **params):
    adapter, X, background, fitted = zero_heavy
    explainer, attribution = fitted[name]
    return metrics.get("relative_input_stability", n_perturbations=5, **params)(
        attribution, adapter, background, explainer=explainer
    )


def test_elementwise_ris_is_dominated_by_eps_on_zero_heavy_data(zero_heavy):
    small, large = (
        ris(zero_heavy, "random", form="elementwise", perturbation="uniform", eps=eps) for eps in (1e-6, 1e-3)
    )
    # Random explanations have no zeros; the moving zeros of x divide by eps: the score scales like eps
    # on every row the guard dominates, and the guard dominates most rows.
    flagged = small.extras["eps_dominated"]
    assert flagged.mean() > 0.5
    measured = flagged & (small.scores > 0)  # a row of zeros has a zero random explanation, and scores 0
    assert measured.sum() >= 5
    np.testing.assert_allclose(large.scores[measured] / small.scores[measured], 1e3, rtol=0.05)
    assert not ris(zero_heavy, "random").extras["eps_dominated"].any()


def test_norm_ratio_ris_ranks_random_below_input_x_gradient(zero_heavy):
    ixg, rand = ris(zero_heavy, "input_x_gradient").value, ris(zero_heavy, "random").value
    assert rand > 10 * ixg  # random explanations of a nearby row are unrelated: far less stable
    old_ixg = ris(zero_heavy, "input_x_gradient", form="elementwise", perturbation="uniform").value
    old_rand = ris(zero_heavy, "random", form="elementwise", perturbation="uniform").value
    assert old_rand < old_ixg  # the inversion the elementwise form gives on this data


# ---------------------------------------------------------------------- relative output stability
def test_ros_pure_function_matches_a_loop():
    rng = np.random.default_rng(9)
    out, values = rng.normal(size=(4, 3)), rng.normal(size=(4, 5))
    out_p = out[None] + 0.1 * rng.normal(size=(6, 4, 3))
    values_p = values[None] + 0.1 * rng.normal(size=(6, 4, 5))
    scores, extras = relative_output_stability(out, values, out_p, values_p, return_extras=True)
    for i in range(4):
        ref = max(
            (np.linalg.norm(values_p[p, i] - values[i]) / np.linalg.norm(values[i]))
            / max(np.linalg.norm(out_p[p, i] - out[i]), 1e-6)
            for p in range(6)
        )
        assert scores[i] == pytest.approx(ref, rel=1e-12)
    assert not extras["eps_dominated"].any()
    flat = relative_output_stability(out, values, np.broadcast_to(out, (6, 4, 3)), values_p, return_extras=True)[1]
    assert flat["eps_dominated"].all()


def test_ros_of_input_x_gradient_on_a_logistic_model_is_the_closed_form(zero_heavy):
    adapter, X, background, fitted = zero_heavy
    explainer, attribution = fitted["input_x_gradient"]
    P, radius, seed = 5, 0.05, 3
    result = metrics.get("relative_output_stability", n_perturbations=P, radius=radius, random_state=seed)(
        attribution, adapter, background, explainer=explainer
    )
    # The perturbations the metric draws (documented: columns.perturb with the inferred types,
    # row i drawing from its own stream, agnostic_xai.metrics._rng.row_random).
    types = ColumnTypes.infer(background)
    Xp = perturb(
        row_random(seed, len(X)), X, P, types, scale=radius * background.std(axis=0), noise="uniform",
        flip_probability=np.sqrt(2 / np.pi) * radius,
    ).transpose(1, 0, 2)
    logits_W = np.column_stack([adapter.predict(np.eye(6)[j][None])[0] - adapter.predict(np.zeros((1, 6)))[0]
                                for j in range(6)])  # (k, d): output change per unit of column j
    for i in range(len(X)):
        t = attribution.target[i]
        g = explainer.adapter_.gradient(X[i : i + 1], np.array([t]))[0]
        ratios = []
        for p in range(P):
            dx = Xp[p, i] - X[i]
            if not dx.any():
                continue
            size = np.linalg.norm(g * X[i]) or 1.0  # a zero explanation is divided by 1
            ratios.append((np.linalg.norm(g * dx) / size) / max(np.linalg.norm(logits_W @ dx), 1e-6))
        assert result.scores[i] == pytest.approx(max(ratios), rel=1e-9)


def test_ros_is_zero_for_a_constant_explanation(zero_heavy):
    adapter, X, background, _ = zero_heavy
    saliency = get_explainer("saliency").fit(adapter, background)  # a linear model's gradient is constant
    result = metrics.get("relative_output_stability", n_perturbations=3)(
        saliency.explain(X), adapter, background, explainer=saliency
    )
    np.testing.assert_allclose(result.scores, 0.0, atol=1e-12)
    assert metrics.get_class("relative_output_stability").family == "stability"
    assert not metrics.get_class("relative_output_stability").higher_is_better
