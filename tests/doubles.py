"""Test doubles shared by several test modules (importable: tests/ is on sys.path via conftest.py)."""

from __future__ import annotations

import numpy as np

from agnostic_xai.explainers.base import Explainer, Explanation


class Picky(Explainer):
    """Differences from the background mean; raises on rows whose first column is above ``limit``."""

    name = "picky"

    def __init__(self, limit: float = 50.0) -> None:
        self.limit = limit

    def _explain(self, X: np.ndarray, target: np.ndarray) -> Explanation:
        if (X[:, 0] > self.limit).any():
            raise ValueError("a row past the limit")
        return Explanation(values=X - self.background_.mean(axis=0), base_values=np.zeros(X.shape[0]))
