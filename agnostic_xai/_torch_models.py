"""Torch building blocks the package itself uses: an input scaling layer, a seeded MLP, a seeding context.

:class:`Standardize` is a layer that DeepLIFT treats as affine and that the demo task's model
(:func:`agnostic_xai.datasets.default_task`) starts with; :func:`make_mlp` and
:class:`seeded` build and train that model without touching the global torch RNG. They are
production code, re-exported by :mod:`agnostic_xai.testing` for users' tests.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

__all__ = ["Standardize", "make_mlp", "seeded"]


class seeded:
    """Context manager: run a block under ``torch.manual_seed(seed)``, restoring the global RNG after."""

    def __init__(self, seed: int) -> None:
        self.seed = int(seed)
        self._fork = torch.random.fork_rng(devices=[])

    def __enter__(self) -> None:
        self._fork.__enter__()
        torch.manual_seed(self.seed)

    def __exit__(self, *exc: object) -> None:
        self._fork.__exit__(*exc)


class Standardize(nn.Module):
    """Fixed affine input scaling ``(x - mean) / scale``, so a model takes raw feature values."""

    def __init__(self, mean: np.ndarray, scale: np.ndarray, dtype: torch.dtype = torch.float32) -> None:
        super().__init__()
        self.register_buffer("mean", torch.tensor(np.array(mean, dtype=np.float64), dtype=dtype))
        self.register_buffer("scale", torch.tensor(np.array(scale, dtype=np.float64), dtype=dtype))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.scale


def make_mlp(
    n_features: int,
    n_outputs: int = 2,
    hidden: Sequence[int] = (64, 64),
    *,
    seed: int = 0,
    dtype: torch.dtype = torch.float32,
) -> nn.Sequential:
    """A seeded ReLU MLP ``d -> hidden... -> n_outputs`` (raw outputs, no final activation).

    The global torch RNG is left untouched.
    """
    layers: list[nn.Module] = []
    width = n_features
    with seeded(seed):
        for h in hidden:
            layers += [nn.Linear(width, h, dtype=dtype), nn.ReLU()]
            width = h
        layers.append(nn.Linear(width, n_outputs, dtype=dtype))
    return nn.Sequential(*layers)
