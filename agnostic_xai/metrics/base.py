"""The :class:`Metric` interface and the :class:`MetricResult` record."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from .._params import ParamsMixin
from .._threads import blas_single_threaded
from .._validation import check_matrix
from ..adapters import Adapter, wrap
from ..attribution import Attribution
from ..exceptions import InvalidInputError

__all__ = ["Metric", "AgreementMetric", "MetricResult", "FAMILIES"]

FAMILIES = ("faithfulness", "ground_truth", "stability", "agreement", "complexity", "sanity")


@dataclass(frozen=True, eq=False)
class MetricResult:
    """Scores of one metric on one explanation.

    Attributes
    ----------
    name : str
        Registry name of the metric.
    scores : ndarray of shape (n,)
        One score per explained row (NaN where undefined for that row).
    value : float
        The aggregate (mean of the finite scores).
    family : str
    higher_is_better : bool
    params : dict
        The metric's configuration.
    seconds : float
    model_rows : int
        Rows the model evaluated for this metric.
    extras : dict
        Metric-specific detail (e.g. the deletion curves).
    """

    name: str
    scores: np.ndarray
    value: float
    family: str
    higher_is_better: bool
    params: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    model_rows: int = 0
    extras: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        arrow = "↑" if self.higher_is_better else "↓"
        return f"MetricResult({self.name}{arrow} = {self.value:.4g} over {self.scores.shape[0]} rows)"


def _aggregate(scores: np.ndarray) -> float:
    finite = scores[np.isfinite(scores)]
    return float(finite.mean()) if finite.size else float("nan")


class Metric(ParamsMixin):
    """Base class of metrics that score one explanation against the model.

    Called as ``metric(attribution, adapter, background=None)``. A subclass declares the pure
    function that does its maths, as :attr:`function`, and the names of the parameters it
    passes on, as :attr:`config`; :meth:`__call__` validates, then calls
    ``function(*inputs, **config)`` with the inputs :meth:`_inputs` derives from the
    attribution, adapter and background (by default the attribution's values), and records
    the time and the model rows. A metric that re-runs the explainer overrides :meth:`_score`
    instead.

    Attributes
    ----------
    name : str
    family : str
        One of :data:`FAMILIES`.
    higher_is_better : bool
    requires_model : bool
        Needs the adapter (and usually the background).
    requires_explainer : bool
        Re-runs the explainer (stability metrics); pass ``explainer=`` when calling.
    draws : str
        For a stochastic metric, the key of its random numbers in a comparison (empty: its
        ``name``): :func:`~agnostic_xai.compare` seeds the metric from the root seed and
        this key, never from the explainer, so every explainer is scored with the same
        draws (:mod:`agnostic_xai.metrics._rng`). Metrics that draw the same thing share
        a key (PGI and PGU: ``"prediction_gap"``).
    is_stochastic : bool
        Draws random numbers from its ``random_state`` parameter: :func:`~agnostic_xai.compare`
        sets that parameter to the seed derived from the root seed and :attr:`draws`.
    needs_reference : bool
        Scores against exact Shapley values given as its ``reference`` parameter (the
        ground-truth metrics): :func:`~agnostic_xai.compare` computes them once, passes them
        to every cell, and does not score the ground-truth explainer against itself.
    """

    name: ClassVar[str] = ""
    family: ClassVar[str] = ""
    higher_is_better: ClassVar[bool] = True
    requires_model: ClassVar[bool] = True
    requires_background: ClassVar[bool] = True
    requires_explainer: ClassVar[bool] = False
    draws: ClassVar[str] = ""
    #: The pure function of the metric's module that computes the scores: it returns the
    #: per-row scores, or a ``(scores, extras)`` pair.
    function: ClassVar[Callable[..., Any] | None] = None
    #: Parameters passed to :attr:`function` as keywords under their own names.
    config: ClassVar[tuple[str, ...]] = ()
    is_stochastic: ClassVar[bool] = False
    needs_reference: ClassVar[bool] = False

    def __call__(
        self,
        attribution: Attribution,
        adapter: Any = None,
        background: Any = None,
        *,
        explainer: Any = None,
    ) -> MetricResult:
        """Score ``attribution``.

        Parameters
        ----------
        attribution : Attribution
        adapter : Adapter or model, optional
            Required when :attr:`requires_model`.
        background : array-like of shape (b, d), optional
            Required when :attr:`requires_background`; must be the explainer's background
            for the comparison to be meaningful.
        explainer : Explainer, optional
            The fitted explainer, for metrics that re-run it.

        Returns
        -------
        MetricResult
        """
        if not isinstance(attribution, Attribution):
            raise InvalidInputError(f"{self.name} needs an Attribution, got {type(attribution).__name__}.")
        if not np.isfinite(attribution.values).all():
            raise InvalidInputError(f"{self.name}: the attribution holds NaN or infinite values.")
        if self.requires_model and adapter is None:
            raise InvalidInputError(f"{self.name} evaluates the model: pass the adapter.")
        if self.requires_background and background is not None and not isinstance(adapter, Adapter):
            # Before wrap(), which calls a torch module on a probe row.
            check_matrix(background, name="background")
        adapter = wrap(adapter) if adapter is not None else None
        if adapter is not None and attribution.data.shape[1] != adapter.n_features:
            raise InvalidInputError(
                f"The attribution's rows have {attribution.data.shape[1]} columns; the model takes {adapter.n_features}."
            )
        if self.requires_background:
            if background is None:
                raise InvalidInputError(f"{self.name} needs the background the explainer used.")
            background = (adapter.validate(background, name="background") if adapter is not None else background)
        if self.requires_explainer and explainer is None:
            raise InvalidInputError(f"{self.name} re-runs the explainer: pass explainer=<the fitted explainer>.")
        start = time.perf_counter()
        rows_before = adapter.rows_evaluated if adapter is not None else 0
        with blas_single_threaded():
            scores, extras = self._score(attribution, adapter, background, explainer)
        scores = np.asarray(scores, dtype=np.float64).reshape(-1)
        if scores.shape[0] != attribution.n_rows:
            raise RuntimeError(f"{self.name} returned {scores.shape[0]} scores for {attribution.n_rows} rows.")
        return MetricResult(
            name=self.name,
            scores=scores,
            value=_aggregate(scores),
            family=self.family,
            higher_is_better=self.higher_is_better,
            params=self.get_params(),
            seconds=time.perf_counter() - start,
            model_rows=(adapter.rows_evaluated - rows_before) if adapter is not None else 0,
            extras=extras,
        )

    def _inputs(
        self, attribution: Attribution, adapter: Adapter | None, background: np.ndarray | None
    ) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """Positional and keyword inputs of :attr:`function` other than :attr:`config` (default: the values)."""
        return (attribution.values,), {}

    def _extras(self, extras: dict[str, Any], inputs: dict[str, Any]) -> dict[str, Any]:
        """The extras recorded with the scores, from the function's extras and keyword inputs."""
        return extras

    def _score(
        self, attribution: Attribution, adapter: Adapter | None, background: np.ndarray | None, explainer: Any
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Per-row scores and extras: :attr:`function` applied to :meth:`_inputs` and :attr:`config`."""
        function = type(self).function
        if function is None:
            raise NotImplementedError(f"{type(self).__name__} declares no function and does not override _score.")
        args, inputs = self._inputs(attribution, adapter, background)
        result = function(*args, **inputs, **{name: getattr(self, name) for name in self.config})
        scores, extras = result if isinstance(result, tuple) else (result, {})
        return scores, self._extras(extras, inputs)


class AgreementMetric(ParamsMixin):
    """Base class of metrics comparing two explanations of the same rows: ``metric(a, b)``.

    Agreement metrics are symmetric, bounded, and give 1 for identical explanations.
    """

    name: ClassVar[str] = ""
    family: ClassVar[str] = "agreement"
    higher_is_better: ClassVar[bool] = True
    is_stochastic: ClassVar[bool] = False
    needs_reference: ClassVar[bool] = False

    def __call__(self, attribution_a: Attribution, attribution_b: Attribution) -> MetricResult:
        """Agreement of two explanations, row by row."""
        for label, a in (("attribution_a", attribution_a), ("attribution_b", attribution_b)):
            if not isinstance(a, Attribution):
                raise InvalidInputError(f"{label} must be an Attribution, got {type(a).__name__}.")
            if not np.isfinite(a.values).all():
                raise InvalidInputError(f"{label} holds NaN or infinite values.")
        if attribution_a.values.shape != attribution_b.values.shape:
            raise InvalidInputError(
                f"Cannot compare explanations of shapes {attribution_a.values.shape} and {attribution_b.values.shape}."
            )
        if attribution_a.feature_names != attribution_b.feature_names:
            raise InvalidInputError("The two explanations attribute to different features (or groups).")
        start = time.perf_counter()
        scores = np.asarray(self._agree(attribution_a.values, attribution_b.values), dtype=np.float64)
        return MetricResult(
            name=self.name,
            scores=scores,
            value=_aggregate(scores),
            family=self.family,
            higher_is_better=True,
            params=self.get_params(),
            seconds=time.perf_counter() - start,
        )

    def _agree(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Subclass hook: per-row agreement of value matrices ``a`` and ``b`` (same shape)."""
        raise NotImplementedError
