"""scikit-learn-style parameter handling: ``get_params``/``set_params``/``clone``.

``__init__`` only stores its keyword arguments under the same names; everything learned is
set in ``fit`` under names ending in ``_``.
"""

from __future__ import annotations

import copy
import inspect
from typing import Any, TypeVar

import numpy as np

from .exceptions import InvalidInputError

__all__ = ["ParamsMixin", "clone", "check_random_state", "child_seeds", "derive_seed"]

T = TypeVar("T", bound="ParamsMixin")


class ParamsMixin:
    """``get_params``/``set_params`` read from the signature of ``__init__``."""

    @classmethod
    def _param_names(cls) -> list[str]:
        signature = inspect.signature(cls.__init__)
        return [
            p.name
            for p in signature.parameters.values()
            if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        ]

    def get_params(self, deep: bool = False) -> dict[str, Any]:
        """The constructor parameters and their current values."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self: T, **params: Any) -> T:
        """Set constructor parameters; unknown names are an error."""
        valid = set(self._param_names())
        unknown = sorted(set(params) - valid)
        if unknown:
            raise InvalidInputError(f"{type(self).__name__} has no parameters {unknown}; valid: {sorted(valid)}.")
        for name, value in params.items():
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        defaults = {
            p.name: p.default for p in inspect.signature(type(self).__init__).parameters.values() if p.name != "self"
        }
        shown = []
        for name, value in self.get_params().items():
            default = defaults.get(name, inspect.Parameter.empty)
            try:
                same = value is default or bool(value == default)
            except Exception:  # arrays and other values without a plain truth value
                same = False
            if not same:
                shown.append(f"{name}={value!r}")
        return f"{type(self).__name__}({', '.join(shown)})"


def clone(estimator: T) -> T:
    """A new, unfitted explainer or metric with the same parameters.

    The scikit-learn convention: the copy is built by calling the class with the values of
    :meth:`~ParamsMixin.get_params`, each deep-copied, so nothing learned in ``fit`` (names
    ending in ``_``) and no state shared with the original comes along. This is how
    :func:`agnostic_xai.compare` runs each explainer and metric without changing the objects
    it was given.

    Parameters
    ----------
    estimator : Explainer or Metric
        Any object with ``get_params`` whose ``__init__`` takes those parameters by name.

    Returns
    -------
    Explainer or Metric
        A new object of the same class; ``clone(e).get_params() == e.get_params()`` for
        parameters that compare by value.

    Examples
    --------
    >>> from agnostic_xai import clone, explainers
    >>> explainer = explainers.get("kernel_shap", n_samples=64, random_state=0)
    >>> other = clone(explainer).set_params(random_state=1)
    >>> other.n_samples, other.random_state, explainer.random_state
    (64, 1, 0)
    """
    params = {k: copy.deepcopy(v) for k, v in estimator.get_params().items()}
    return type(estimator)(**params)


def check_random_state(seed: Any) -> np.random.Generator:
    """A fresh ``numpy.random.Generator`` from an int, a SeedSequence, a Generator or None."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None or isinstance(seed, (int, np.integer, np.random.SeedSequence)):
        if isinstance(seed, (int, np.integer)) and seed < 0:
            raise InvalidInputError(f"random_state must be non-negative, got {seed}.")
        return np.random.default_rng(seed)
    raise InvalidInputError(f"random_state must be an int, a numpy Generator or None, got {type(seed).__name__}.")


def child_seeds(seed: int, n: int) -> list[int]:
    """``n`` independent child seeds derived from one root seed (``numpy.random.SeedSequence``)."""
    return [int(s.generate_state(1)[0]) for s in np.random.SeedSequence(seed).spawn(n)]


def derive_seed(root: int, *keys: str) -> int:
    """A child seed for ``keys`` (e.g. an explainer and a metric name) from one root seed.

    Keyed rather than positional: adding an explainer to a run does not change the seeds,
    and so the numbers, of the others.
    """
    import zlib

    entropy = [int(root)] + [zlib.crc32(k.encode("utf-8")) for k in keys]
    return int(np.random.SeedSequence(entropy).generate_state(1)[0])
