"""Shared fixtures: small seeded data and reference models (no network, seconds to build)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from agnostic_xai.testing import LinearModel, make_mlp


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


@pytest.fixture
def linear_setup(rng):
    """A float64 linear regression model with known weights, rows and a background."""
    d = 6
    weights = rng.normal(size=d)
    model = LinearModel(weights, bias=0.3)
    X = rng.normal(size=(8, d))
    background = rng.normal(loc=0.5, size=(20, d))
    return model, weights, X, background


@pytest.fixture
def mlp_classifier():
    """A seeded float64 MLP with 3 logits over 5 features."""
    return make_mlp(5, 3, (16, 16), seed=1, dtype=torch.float64)


@pytest.fixture(scope="session")
def client():
    """A Dask client of a LocalCluster of 2 single-threaded worker processes, closed after the tests.

    One cluster for the whole session (starting one takes seconds), shared by the tests of
    Dask backends in tests/distributed and tests/io.
    """
    distributed = pytest.importorskip("dask.distributed")
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    with distributed.Client(cluster) as c:
        yield c
    cluster.close()
