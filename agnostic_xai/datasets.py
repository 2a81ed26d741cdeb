"""The embedded default task: a seeded MLP on scikit-learn's bundled breast-cancer table.

Nothing is downloaded: the table ships with scikit-learn, and the model trains in about a
second on a CPU with a fixed seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .groups import FeatureGroups

__all__ = ["load_breast_cancer", "breast_cancer_groups", "DefaultTask", "default_task"]


def breast_cancer_groups(feature_names: list[str] | tuple[str, ...]) -> FeatureGroups:
    """The 10 measurements of the breast-cancer table (radius, texture, ...), each taken as
    mean, standard error and worst value: ``"mean radius"``, ``"radius error"`` and
    ``"worst radius"`` form the group ``"radius"``."""

    def measurement(name: str) -> str:
        for prefix in ("mean ", "worst "):
            if name.startswith(prefix):
                return name[len(prefix):]
        return name[: -len(" error")] if name.endswith(" error") else name

    return FeatureGroups.from_function(feature_names, measurement)


def load_breast_cancer() -> tuple[pd.DataFrame, np.ndarray, FeatureGroups]:
    """The Wisconsin diagnostic breast-cancer table bundled with scikit-learn.

    Returns
    -------
    X : DataFrame of shape (569, 30)
    y : ndarray of shape (569,)
        1 for benign, 0 for malignant (scikit-learn's coding).
    groups : FeatureGroups
        The 10 measurement groups.
    """
    from sklearn.datasets import load_breast_cancer as _load

    bunch = _load(as_frame=True)
    X = bunch.data.astype(np.float64)
    return X, bunch.target.to_numpy(), breast_cancer_groups(list(X.columns))


@dataclass(frozen=True)
class DefaultTask:
    """The embedded default: model, split data and feature groups.

    Attributes
    ----------
    model : torch.nn.Module
        ``Standardize -> 30-64-64-2 ReLU MLP``, ending in logits; it takes raw feature values.
    X_train, X_test : DataFrame
    y_train, y_test : ndarray
    groups : FeatureGroups
        The 10 measurement groups.
    test_accuracy : float
    """

    model: object
    X_train: pd.DataFrame
    X_test: pd.DataFrame
    y_train: np.ndarray
    y_test: np.ndarray
    groups: FeatureGroups
    test_accuracy: float


def default_task(seed: int = 0, epochs: int = 300) -> DefaultTask:
    """Train the embedded default model (about a second on 2 CPU cores).

    Parameters
    ----------
    seed : int
        Seeds the split, the initialisation and the training; the global RNGs are untouched.
    epochs : int
        Full-batch Adam steps.
    """
    import torch
    from sklearn.model_selection import train_test_split
    from torch import nn

    from ._torch_models import Standardize, make_mlp, seeded

    X, y, groups = load_breast_cancer()
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=seed, stratify=y)
    mlp = make_mlp(X.shape[1], 2, (64, 64), seed=seed)
    model = nn.Sequential(Standardize(X_train.mean().to_numpy(), X_train.std().to_numpy()), *mlp)
    xt = torch.tensor(X_train.to_numpy(dtype=np.float32))
    yt = torch.as_tensor(y_train, dtype=torch.long)
    with seeded(seed):
        optimiser = torch.optim.Adam(model.parameters(), lr=3e-3, weight_decay=1e-3)
        model.train()
        for _ in range(epochs):
            optimiser.zero_grad()
            loss = nn.functional.cross_entropy(model(xt), yt)
            loss.backward()
            optimiser.step()
    model.eval()
    with torch.no_grad():
        predicted = model(torch.tensor(X_test.to_numpy(dtype=np.float32))).argmax(dim=1).numpy()
    return DefaultTask(model, X_train, X_test, y_train, y_test, groups, float((predicted == y_test).mean()))
