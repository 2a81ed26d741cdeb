"""Fixtures of the report tests: the Agg backend, a small real Comparison, no figure leaks."""

from __future__ import annotations

import matplotlib
import pytest

matplotlib.use("Agg")

import matplotlib.pyplot as plt
from report_setup import make_comparison


@pytest.fixture(scope="session")
def comparison():
    """Five explainers (one broken) × four metrics (one failing) on 24 rows of 5 features."""
    return make_comparison()


@pytest.fixture(autouse=True)
def _no_figure_leaks():
    yield
    plt.close("all")
