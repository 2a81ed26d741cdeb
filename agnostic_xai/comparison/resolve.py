"""What a comparison runs: its explainers and metrics resolved from their specifications, and the checks of its data.

:func:`resolve_explainers` turns ``compare``'s ``explainers`` argument into configured
explainers (``"default"``: every registered one that applies, the others recorded as skipped),
:func:`resolve_metrics` its ``metrics`` argument into configured metrics;
:func:`check_constant`, :func:`check_background_size` and :func:`model_score` check and
describe the data once the model is wrapped.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from .._params import clone
from ..adapters import Adapter
from ..exceptions import InvalidInputError
from ..execution.failures import Failure
from ..explainers import Explainer
from ..groups import FeatureGroups

__all__ = ["check_background_size", "check_constant", "model_score", "resolve_explainers", "resolve_metrics"]


def resolve_explainers(
    spec: Any, adapter: Adapter, groups: FeatureGroups | None, n_players: int, exact_limit: int
) -> tuple[list[tuple[str, Any]], list[Failure]]:
    """The ``(name, explainer)`` pairs ``spec`` names (clones of given objects), and the skipped defaults.

    ``"default"`` takes every registered explainer that applies to the model, the groups and
    ``exact_limit``; each one left out is a :class:`Failure` of stage ``"skipped"``.
    """
    from .. import explainers as registry

    skipped: list[Failure] = []
    if isinstance(spec, str) and spec == "default":
        chosen: list[tuple[str, Any]] = []
        for name in registry.available():
            cls = registry.get_class(name)
            reason = None
            if cls.requires_gradients and not adapter.is_differentiable:
                reason = "needs gradients (torch models only)"
            elif groups is not None and not cls.supports_groups:
                reason = "gives one value per column and cannot attribute to feature groups"
            elif cls.is_exact and n_players > exact_limit:
                players = "groups" if groups is not None else "features"
                reason = (f"exact enumeration of {n_players} {players} is above the limit of {exact_limit} (exact_limit); "
                          "sampling_shapley estimates the same values")
            if reason:
                skipped.append(Failure(explainer=name, stage="skipped", message=reason))
            else:
                chosen.append((name, cls()))
        return chosen, skipped
    if isinstance(spec, str):
        spec = [spec]
    items = spec.items() if isinstance(spec, Mapping) else [(s, None) for s in spec]
    chosen = []
    for key, params in items:
        if isinstance(key, str) and isinstance(params, Explainer):
            chosen.append((key, clone(params)))  # a label for a configured explainer
        elif isinstance(key, str):
            chosen.append((key, registry.get(key, **(params or {}))))
        elif isinstance(key, Explainer):
            chosen.append((getattr(key, "name", type(key).__name__), clone(key)))
        else:
            raise InvalidInputError(
                f"explainers must be names, a mapping of names to parameters or to Explainers, or Explainers; got {key!r}."
            )
    names = [n for n, _ in chosen]
    if len(set(names)) != len(names):
        raise InvalidInputError(f"Explainer names must be unique in one comparison, got {names}.")
    return chosen, skipped


def resolve_metrics(spec: Any, groups: FeatureGroups | None) -> list[tuple[str, Any]]:
    """The ``(name, metric)`` pairs ``spec`` names (``"default"``: every metric but the agreement ones)."""
    from .. import metrics as registry

    def make(name: str, params: Mapping[str, Any] | None) -> Any:
        params = dict(params or {})
        if name == "infidelity" and groups is not None:
            # Gaussian noise perturbs single columns, which grouped attributions do not
            # describe; subset removal is infidelity's variant defined on groups.
            params.setdefault("perturbation", "removal")
        return registry.get(name, **params)

    if isinstance(spec, str) and spec == "default":
        return [(n, make(n, None)) for n in registry.available() if registry.get_class(n).family != "agreement"]
    if isinstance(spec, str):
        spec = [spec]
    items = spec.items() if isinstance(spec, Mapping) else [(s, None) for s in spec]
    chosen = []
    for key, params in items:
        if isinstance(key, str):
            metric = make(key, params)
        else:
            metric, key = key, getattr(key, "name", type(key).__name__)
        if getattr(metric, "family", None) == "agreement":
            raise InvalidInputError(f"{key} compares two explanations; use Comparison.agreement() for it.")
        chosen.append((key, metric))
    return chosen


def model_score(adapter: Adapter, predictions: np.ndarray, y: Any) -> dict[str, float]:
    """The model's accuracy (classification) or R² (regression) on the explained rows' labels ``y``."""
    y_arr = np.asarray(y)
    if y_arr.ndim != 1 or y_arr.shape[0] != predictions.shape[0]:
        raise InvalidInputError(f"y must have one label per row ({predictions.shape[0]}), got shape {y_arr.shape}.")
    if adapter.task == "classification":
        return {"accuracy": float((predictions.argmax(axis=1) == y_arr).mean())}
    if not np.issubdtype(y_arr.dtype, np.number) or not np.isfinite(y_arr).all():
        raise InvalidInputError("y of a regression model must be finite numbers.")
    residual = ((predictions[:, 0] - y_arr) ** 2).sum()
    total = ((y_arr - y_arr.mean()) ** 2).sum()
    return {"r2": float(1 - residual / total) if total > 0 else float("nan")}


def check_constant(adapter: Adapter, X: np.ndarray, background: np.ndarray) -> list[str]:
    """Columns constant over the explained rows and the background (allowed, recorded; all constant is an error).

    A constant column is legitimate (a one-hot level absent from a sample, a fixed setting):
    every removal-based attribution gives it 0 and noise scaled by its standard deviation
    leaves it alone. It is recorded in the configuration. When every column is constant
    there is nothing to explain.
    """
    both = np.concatenate([X, background], axis=0)
    constant = np.flatnonzero((both == both[:1]).all(axis=0))
    names = adapter.feature_names or tuple(f"x{i}" for i in range(adapter.n_features))
    if constant.size == both.shape[1]:
        raise InvalidInputError(
            "Every column is constant over the explained rows and the background, so no feature can change the "
            "output and every attribution would be 0: pass rows (or a background) that vary."
        )
    return [names[i] for i in constant]


def check_background_size(chosen: list[tuple[str, Any]], n_background: int) -> None:
    """Refuse a background smaller than an explainer's ``min_background``."""
    short = [(name, int(getattr(ex, "min_background", 1))) for name, ex in chosen
             if int(getattr(ex, "min_background", 1)) > n_background]
    if short:
        needed = max(n for _, n in short)
        raise InvalidInputError(
            f"The background has {n_background} row(s); {', '.join(n for n, _ in short)} need at least {needed}: "
            "pass more background rows (background=, n_background= or --background)."
        )
