"""One contract, every registered metric: result record, direction, determinism, no mutation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from agnostic_xai import clone, wrap
from agnostic_xai.exceptions import InvalidInputError
from agnostic_xai.explainers import get as get_explainer
from agnostic_xai.metrics import FAMILIES, AgreementMetric, MetricResult, available, get, get_class
from agnostic_xai.testing import make_mlp

NAMES = available()
SCORING = [n for n in NAMES if get_class(n).family != "agreement"]
AGREEMENT = [n for n in NAMES if get_class(n).family == "agreement"]
FAST = {"faithfulness_correlation": {"n_subsets": 10}, "infidelity": {"n_perturbations": 10},
        "pgi": {"n_perturbations": 10}, "pgu": {"n_perturbations": 10}, "max_sensitivity": {"n_perturbations": 3},
        "relative_input_stability": {"n_perturbations": 3},
        "relative_output_stability": {"n_perturbations": 3}, "seed_stability": {"n_seeds": 2}}


@pytest.fixture(scope="module")
def setup():
    rng = np.random.default_rng(3)
    adapter = wrap(make_mlp(6, 3, (8,), seed=4, dtype=torch.float64), output="logit")
    X, background = rng.normal(size=(5, 6)), rng.normal(size=(10, 6))
    explainer = get_explainer("integrated_gradients", n_steps=8).fit(adapter, background)
    return adapter, X, background, explainer, explainer.explain(X)


def test_registry_lists_every_metric_of_the_issue():
    assert set(NAMES) == {
        "deletion_auc", "insertion_auc", "deletion_gap", "faithfulness_correlation", "faithfulness_estimate",
        "monotonicity", "infidelity", "comprehensiveness", "sufficiency", "pgi", "pgu", "shapley_error",
        "shapley_correlation", "shapley_topk", "max_sensitivity", "relative_input_stability", "relative_output_stability",
        "seed_stability", "feature_agreement", "rank_agreement", "sign_agreement", "signed_rank_agreement", "rank_correlation",
        "pairwise_rank_agreement", "sparseness", "complexity", "randomization_sanity",
    }


@pytest.mark.parametrize("name", SCORING)
def test_result_record_and_determinism(name, setup):
    adapter, X, background, explainer, attribution = setup
    background_before = background.copy()
    metric = get(name, **FAST.get(name, {}))
    assert metric.family in FAMILIES and isinstance(metric.higher_is_better, bool)
    first = metric(attribution, adapter, background, explainer=explainer)
    again = clone(metric)(attribution, adapter, background, explainer=explainer)
    assert isinstance(first, MetricResult) and first.name == name and first.family == metric.family
    assert first.scores.shape == (5,) and first.scores.dtype == np.float64
    assert first.higher_is_better == metric.higher_is_better
    finite = first.scores[np.isfinite(first.scores)]
    assert finite.size and first.value == pytest.approx(finite.mean())
    np.testing.assert_array_equal(first.scores, again.scores)
    np.testing.assert_array_equal(background, background_before)
    assert first.seconds >= 0 and first.model_rows >= 0


@pytest.mark.parametrize("name", SCORING)
def test_nan_attributions_are_refused(name, setup):
    adapter, X, background, explainer, attribution = setup
    from dataclasses import replace

    broken = replace(attribution, values=np.where(np.eye(5, 6) > 0, np.nan, attribution.values))
    with pytest.raises(InvalidInputError, match="NaN"):
        get(name)(broken, adapter, background, explainer=explainer)


@pytest.mark.parametrize("name", AGREEMENT)
def test_agreement_is_symmetric_bounded_and_one_on_identity(name, setup):
    *_, attribution = setup
    other = get_explainer("saliency").fit(setup[0], setup[2]).explain(setup[1])
    metric = get(name)
    assert isinstance(metric, AgreementMetric)
    ab, ba = metric(attribution, other), metric(other, attribution)
    np.testing.assert_allclose(ab.scores, ba.scores, atol=1e-12)
    assert np.all((ab.scores >= -1 - 1e-12) & (ab.scores <= 1 + 1e-12))
    np.testing.assert_allclose(metric(attribution, attribution).scores, 1.0, atol=1e-12)
