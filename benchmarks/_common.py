"""Shared set-up of the benchmark scripts: tasks, a timed model wrapper and the model-evaluation floor."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from agnostic_xai import FeatureGroups
from agnostic_xai.testing import make_mlp


class TimedModule(nn.Module):
    """Wraps a module; accumulates the wall time and rows of its forward passes."""

    def __init__(self, module: nn.Module) -> None:
        super().__init__()
        self.inner = module
        self.seconds = 0.0
        self.rows = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        start = time.perf_counter()
        out = self.inner(x)
        self.seconds += time.perf_counter() - start
        self.rows += int(x.shape[0])
        return out

    def reset(self) -> None:
        self.seconds, self.rows = 0.0, 0


@dataclass
class Task:
    name: str
    model: TimedModule
    X: np.ndarray
    background: np.ndarray
    feature_names: list[str]
    groups: FeatureGroups | None = None


def breast_cancer_tasks(n_rows: int, n_background: int = 50) -> tuple[Task, Task]:
    """The default breast-cancer MLP (30 -> 64 -> 64 -> 2), explained per column and per group."""
    from agnostic_xai.datasets import default_task

    task = default_task(seed=0)
    model = TimedModule(task.model.eval())
    names = list(task.X_train.columns)
    X = task.X_test.to_numpy()[:n_rows]
    background = task.X_train.to_numpy()[:n_background]
    return (
        Task("breast cancer d=30", model, X, background, names),
        Task("breast cancer 10 groups", model, X, background, names, task.groups),
    )


def synthetic_task(n_rows: int, d: int = 12, n_background: int = 50, seed: int = 0) -> Task:
    """A seeded MLP ``d -> 64 -> 64 -> 2`` on correlated Gaussian columns."""
    rng = np.random.default_rng(seed)
    mixing = rng.normal(size=(d, d)) / np.sqrt(d)
    X = rng.normal(size=(n_rows + n_background, d)) @ mixing
    model = TimedModule(make_mlp(d, 2, (64, 64), seed=seed).eval())
    return Task(f"synthetic d={d}", model, X[:n_rows], X[n_rows:], [f"x{i}" for i in range(d)])


def floor_seconds_per_row(module: nn.Module, d: int, rows: int = 262_144) -> float:
    """Fastest chunked forward (4,096- or 65,536-row chunks) of pre-built rows, per row."""
    x = torch.randn(rows, d)
    best = np.inf
    with torch.inference_mode():
        for chunk in (4096, 65536):
            for _ in range(2):
                start = time.perf_counter()
                for s in range(0, rows, chunk):
                    module(x[s : s + chunk])
                best = min(best, (time.perf_counter() - start) / rows)
    return float(best)
