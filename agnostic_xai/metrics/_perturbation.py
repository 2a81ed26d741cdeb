"""The perturbation settings shared by PGI, PGU, infidelity and the stability metrics.

Each of those metrics takes ``perturbation`` (which of :data:`agnostic_xai.columns.PERTURBATION_KINDS`
under the metric's own names), ``flip_probability`` and ``column_types`` (overrides of the
inferred types); this module turns them into the arguments of
:func:`agnostic_xai.columns.perturb`, so that every metric reads them the same way.

Private to :mod:`agnostic_xai.metrics`.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..attribution import Attribution
from ..columns import ColumnTypes, openxai_flip_probability
from ..exceptions import InvalidInputError

__all__ = ["resolve_kind", "column_types_of", "flip_probability_of", "noise_scale_of"]


def resolve_kind(perturbation: Any, names: Mapping[str, str], metric: str) -> str:
    """The :func:`~agnostic_xai.columns.perturb` kind of a metric's ``perturbation`` name."""
    if not isinstance(perturbation, str) or perturbation not in names:
        raise InvalidInputError(f"{metric}: unknown perturbation {perturbation!r}; choose one of {tuple(names)}.")
    return names[perturbation]


def column_types_of(attribution: Attribution, background: np.ndarray, overrides: Any, metric: str) -> ColumnTypes:
    """Column types inferred from ``background`` with the attribution's groups, then ``overrides``.

    The groups are those the attribution was computed with: a one-hot group is switched as a
    unit exactly when the explanation also treats it as one feature.
    """
    if overrides is not None and not isinstance(overrides, Mapping):
        raise InvalidInputError(
            f"{metric}: column_types must be a mapping {{column or group name: type}}, got {type(overrides).__name__}."
        )
    groups = attribution.groups
    names = groups.feature_names if groups is not None else attribution.feature_names
    return ColumnTypes.infer(background, groups, overrides, feature_names=names)


def flip_probability_of(flip_probability: Any, noise_scale: float) -> float:
    """``flip_probability``, or OpenXAI's ``sqrt(2/π) · noise_scale`` when it is None."""
    if flip_probability is None:
        return openxai_flip_probability(noise_scale)
    if isinstance(flip_probability, bool) or not isinstance(flip_probability, numbers.Real) or not (
        0.0 <= float(flip_probability) <= 1.0
    ):
        raise InvalidInputError(f"flip_probability must be a number in [0, 1] or None, got {flip_probability!r}.")
    return float(flip_probability)


def noise_scale_of(kind: str, background: np.ndarray, noise_scale: float) -> np.ndarray:
    """Per-column noise size: ``noise_scale · std_j`` of the background, or ``noise_scale`` itself for OpenXAI.

    OpenXAI adds ``N(0, σ²)`` with one absolute ``σ`` to every column because its tables are
    min-max scaled to [0, 1]; our other kinds scale by each column's spread, so that the
    noise means the same on columns measured in different units.
    """
    if not (isinstance(noise_scale, numbers.Real) and math.isfinite(noise_scale) and noise_scale > 0):
        raise InvalidInputError(f"The noise size must be a positive finite number, got {noise_scale!r}.")
    d = background.shape[1]
    return np.full(d, float(noise_scale)) if kind == "openxai" else float(noise_scale) * background.std(axis=0)
