"""Reference torch models with known explanations, for tests (ours and users').

:class:`Standardize`, :func:`make_mlp` and :class:`seeded` are production building blocks
(:mod:`agnostic_xai._torch_models`), re-exported here unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from .._torch_models import Standardize, make_mlp, seeded

__all__ = ["Standardize", "LinearModel", "LogisticModel", "AdditiveModel", "make_mlp", "seeded"]


class LinearModel(nn.Module):
    """``f(x) = x @ weights + bias`` in float64: Shapley values are ``w_i (x_i - E[b_i])``.

    Parameters
    ----------
    weights : array of shape (d,) or (d, k)
    bias : float or array of shape (k,)
    """

    def __init__(self, weights: Sequence[float] | np.ndarray, bias: float | np.ndarray = 0.0) -> None:
        super().__init__()
        w = torch.as_tensor(np.asarray(weights, dtype=np.float64))
        if w.ndim == 1:
            w = w[:, None]
        self.linear = nn.Linear(w.shape[0], w.shape[1], dtype=torch.float64)
        with torch.no_grad():
            self.linear.weight.copy_(w.T)
            self.linear.bias.copy_(torch.tensor(np.broadcast_to(np.asarray(bias, dtype=np.float64), (w.shape[1],)).copy()))

    @property
    def weights(self) -> np.ndarray:
        """Weights as a ``(d, k)`` float64 array."""
        return self.linear.weight.detach().numpy().T.copy()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x)


class LogisticModel(LinearModel):
    """Multinomial logistic regression: logits ``x @ weights + bias`` (wrap as a classifier).

    Explained as ``output="logit"``, its Shapley values are those of the linear model.
    """


class AdditiveModel(nn.Module):
    """``f(x) = Σ_i g_i(x_i)`` with fixed nonlinear ``g_i`` cycling through sin, x², tanh, x.

    Shapley values are ``g_i(x_i) - mean_b g_i(b_i)`` for any background (closed form: see
    :meth:`shapley`), so it tests nonlinear explainers exactly.
    """

    def __init__(self, n_features: int, scale: float = 1.0) -> None:
        super().__init__()
        self.in_features = int(n_features)  # read by wrap(), as for nn.Linear
        self.register_buffer("scale", torch.tensor(float(scale), dtype=torch.float64))

    def components(self, x: torch.Tensor) -> torch.Tensor:
        """Per-feature terms ``g_i(x_i)``, shape ``(n, d)``."""
        kinds = torch.arange(self.in_features, device=x.device) % 4
        terms = torch.stack([torch.sin(x), 0.5 * x**2, torch.tanh(2 * x), x], dim=0)
        return self.scale * terms.gather(0, kinds.view(1, 1, -1).expand(1, *x.shape)).squeeze(0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.components(x).sum(dim=1, keepdim=True)

    def shapley(self, X: np.ndarray, background: np.ndarray) -> np.ndarray:
        """Exact interventional Shapley values for rows ``X`` against ``background``."""
        with torch.no_grad():
            gx = self.components(torch.as_tensor(np.asarray(X, dtype=np.float64))).numpy()
            gb = self.components(torch.as_tensor(np.asarray(background, dtype=np.float64))).numpy()
        return gx - gb.mean(axis=0)
