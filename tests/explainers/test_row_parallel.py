"""n_jobs for explainers that loop over rows in third-party code: identical values, honest costs."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from agnostic_xai import wrap
from agnostic_xai.exceptions import InvalidInputError
from agnostic_xai.explainers import get
from agnostic_xai.testing import make_mlp


@pytest.fixture(scope="module")
def setup():
    rng = np.random.default_rng(5)
    adapter = wrap(make_mlp(4, 2, (8,), seed=6, dtype=torch.float64), output="logit")
    return adapter, rng.normal(size=(5, 4)), rng.normal(size=(10, 4))


@pytest.mark.parametrize("name, params", [("kernel_shap", {"n_samples": 10}), ("lime", {"n_samples": 100})])
def test_n_jobs_does_not_change_values_or_counted_cost(setup, name, params):
    adapter, X, background = setup
    serial = get(name, **params, n_jobs=1).fit(adapter, background).explain(X)
    parallel = get(name, **params, n_jobs=2).fit(adapter, background).explain(X)
    np.testing.assert_allclose(parallel.values, serial.values, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(parallel.base_values, serial.base_values, rtol=1e-12, atol=1e-14)
    assert parallel.model_rows == serial.model_rows > 0


@pytest.mark.parametrize("name", ["kernel_shap", "lime"])
@pytest.mark.parametrize("n_jobs", [0, -2, 1.5, True])
def test_bad_n_jobs_is_refused(setup, name, n_jobs):
    adapter, X, background = setup
    with pytest.raises(InvalidInputError, match="n_jobs"):
        get(name, n_jobs=n_jobs).fit(adapter, background).explain(X)
