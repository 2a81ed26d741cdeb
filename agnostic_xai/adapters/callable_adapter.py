"""Adapter for a plain prediction function."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..exceptions import InvalidInputError
from .base import Adapter

__all__ = ["CallableAdapter"]


class CallableAdapter(Adapter):
    """Explain a function ``f(X: ndarray (n, d) float64) -> ndarray (n,) or (n, k)``.

    The function's return value is the explained quantity; ``output`` only names it. For a
    binary classifier that returns one column, the column is read as the positive class and
    presented as two outputs (``[1 - p, p]`` for probabilities, ``[-z, z]`` for logits).
    ``task`` defaults to ``"regression"``: a function cannot be inspected to tell.
    """

    def __init__(
        self,
        function: Callable[[np.ndarray], Any],
        *,
        task: str | None = None,
        output: str | None = None,
        feature_names: Sequence[str] | None = None,
        batch_size: int | None = None,
    ) -> None:
        if not callable(function):
            raise InvalidInputError(f"CallableAdapter needs a callable, got {type(function).__name__}.")
        task = task or "regression"
        output = output or ("probability" if task == "classification" else "raw")
        super().__init__(task=task, output=output, n_features=None, feature_names=feature_names, batch_size=batch_size)
        self.function = function
        self._expand_binary: bool | None = None

    def forward(self, X: np.ndarray) -> np.ndarray:
        """One chunk of rows through the function (see :meth:`Adapter.forward`)."""
        # The function gets its own copy of the rows; Adapter.evaluate copies what it returns.
        out = np.asarray(self.function(np.array(X, copy=True)), dtype=np.float64)
        if out.ndim == 1:
            out = out[:, None]
        if self.task == "classification" and self.output != "raw" and out.ndim == 2 and out.shape[1] == 1:
            column = out[:, 0]
            out = np.stack([1 - column, column] if self.output == "probability" else [-column, column], axis=1)
        return out
