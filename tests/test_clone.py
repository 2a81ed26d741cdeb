"""``agnostic_xai.clone``: a new, unfitted object with deep-copied parameters."""

from __future__ import annotations

import numpy as np

import agnostic_xai
from agnostic_xai import clone, explainers, metrics, wrap


def test_clone_is_public():
    assert "clone" in agnostic_xai.__all__ and agnostic_xai.clone is clone
    assert clone.__doc__ and "Parameters" in clone.__doc__


def test_clone_copies_parameters_deeply_and_nothing_learned():
    baseline = np.zeros(3)
    explainer = explainers.get("feature_ablation", removal="baseline", baseline=baseline)
    explainer.fit(wrap(lambda X: X.sum(axis=1), feature_names=["a", "b", "c"]), np.ones((4, 3)))
    copy = clone(explainer)
    assert type(copy) is type(explainer) and copy is not explainer
    assert copy.removal == "baseline" and np.array_equal(copy.baseline, baseline) and copy.baseline is not baseline
    assert not hasattr(copy, "adapter_") and hasattr(explainer, "adapter_")


def test_clone_of_a_metric_keeps_its_configuration():
    metric = metrics.get("infidelity", n_perturbations=7)
    copy = clone(metric)
    assert type(copy) is type(metric) and copy.get_params() == metric.get_params()
