"""A table like the third-party ones adapters meet: MinMax-scaled, zero-heavy, binary and one-hot columns."""

from __future__ import annotations

import numpy as np
import pytest


def credit_like(n: int = 200, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(raw, scaled, y)``: 13 columns — an amount and a count that are 0 in about half the rows, a
    duration, an age, three binary flags, a one-hot purpose (4 levels, columns 7–10) and a one-hot
    housing (2 levels, columns 11–12) — MinMax-scaled to [0, 1] like the tables of the issue
    (about half of all entries exactly 0)."""
    rng = np.random.default_rng(seed)
    amount = np.where(rng.random(n) < 0.5, 0.0, rng.lognormal(8, 1, n))
    duration = rng.integers(0, 72, n).astype(float)
    age = rng.integers(19, 75, n).astype(float)
    priors = np.where(rng.random(n) < 0.6, 0, rng.poisson(3, n)).astype(float)
    flags = (rng.random((n, 3)) < [0.2, 0.35, 0.5]).astype(float)
    purpose = np.eye(4)[rng.choice(4, n, p=[0.5, 0.2, 0.2, 0.1])]
    housing = np.eye(2)[rng.choice(2, n)]
    raw = np.column_stack([amount, duration, age, priors, flags, purpose, housing])
    low, high = raw.min(axis=0), raw.max(axis=0)
    scaled = (raw - low) / np.where(high > low, high - low, 1.0)
    logit = 3 * scaled[:, 0] - 2 * scaled[:, 1] + 1.5 * flags[:, 0] - 2 * purpose[:, 3] + 2 * scaled[:, 3] - 0.5
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return raw, scaled, y


@pytest.fixture
def credit():
    return credit_like()
