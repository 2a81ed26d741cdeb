"""The :class:`Explainer` interface every explainer implements."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from .._params import ParamsMixin, check_random_state
from .._threads import blas_single_threaded
from .._validation import check_matrix
from ..adapters import Adapter, wrap
from ..attribution import Attribution
from ..exceptions import IncompatibleModelError, NotFittedError
from ..groups import FeatureGroups, check_groups

__all__ = ["Explainer", "Explanation"]


@dataclass
class Explanation:
    """What :meth:`Explainer._explain` returns; :meth:`Explainer.explain` turns it into an Attribution."""

    values: np.ndarray
    base_values: np.ndarray
    extras: dict[str, Any] = field(default_factory=dict)
    #: Model rows evaluated outside the adapter (e.g. by shap calling the torch module itself).
    extra_model_rows: int = 0


class Explainer(ParamsMixin):
    """Base class: parameters in ``__init__``, ``fit(adapter, background)``, then ``explain(X)``.

    Subclasses set the class attributes and implement :meth:`_explain` (and optionally
    :meth:`_fit`). The base class validates inputs, resolves targets, limits BLAS threads,
    times the call, counts the model rows the adapter evaluated and builds the
    :class:`~agnostic_xai.Attribution`.

    Attributes
    ----------
    name : str
        Registry name.
    requires_gradients : bool
        Needs a differentiable (torch) adapter.
    is_stochastic : bool
        Results depend on ``random_state``; the same seed gives the same values.
    is_additive : bool
        ``base + Σφ = f(x)`` should hold (exactly, or in expectation for estimators).
    supports_groups : bool
        Can give one value per :class:`FeatureGroups` group.
    min_background : int
        Fewest background rows :meth:`fit` accepts.
    is_reference : bool
        A reference point, never a candidate (``random``, the floor): ``compare`` shows it,
        marked, and leaves it out of winners, ranks and highlights
        (:mod:`agnostic_xai.comparison.references`).
    is_exact : bool
        Its values are exact Shapley values by full enumeration (``exact_shapley``,
        ``exact_shap``): ``compare`` skips it by default above ``exact_limit`` players,
        reports leave it out of the verdicts against exact values, and review checks against
        it need the enumeration.
    computes_exact_shapley : bool
        Computes the ground truth itself (exact interventional Shapley values by the
        enumeration ``compare`` uses): a reference in a comparison with ground-truth metrics.

    After :meth:`fit`: ``adapter_``, ``background_``, ``groups_``, and the cost of fitting,
    ``fit_seconds_`` and ``fit_model_rows_``.
    """

    name: ClassVar[str] = ""
    requires_gradients: ClassVar[bool] = False
    is_stochastic: ClassVar[bool] = False
    is_additive: ClassVar[bool] = False
    supports_groups: ClassVar[bool] = True
    min_background: ClassVar[int] = 1
    is_reference: ClassVar[bool] = False
    is_exact: ClassVar[bool] = False
    computes_exact_shapley: ClassVar[bool] = False

    # ------------------------------------------------------------------ fit
    def fit(self, adapter: Any, background: Any, *, groups: FeatureGroups | None = None) -> Explainer:
        """Bind the explainer to a model, a background and (optionally) feature groups.

        Parameters
        ----------
        adapter : Adapter or model
            Anything :func:`agnostic_xai.wrap` accepts.
        background : array-like of shape (b, d)
            Background rows: what "feature absent" is averaged over, and the source of
            baselines (their mean) and noise scales (their per-column std).
        groups : FeatureGroups, optional
            Explain groups of columns instead of single columns.

        Returns
        -------
        self

        Raises
        ------
        InvalidInputError
            A bad background or groups, refused before the model is called (also before
            :func:`~agnostic_xai.wrap` calls a torch module on its probe row).
        """
        if not isinstance(adapter, Adapter):
            check_matrix(background, name="background", min_rows=self.min_background)
        if groups is not None and not isinstance(groups, FeatureGroups):
            check_groups(groups, None, name="groups")
        adapter = wrap(adapter)
        if self.requires_gradients and not adapter.is_differentiable:
            raise IncompatibleModelError(
                f"{self.name} needs gradients, which {type(adapter).__name__} cannot give: gradient methods apply "
                "to torch models. Use kernel_shap, permutation_shap, lime or feature_ablation instead."
            )
        background = adapter.validate(background, name="background", min_rows=self.min_background)
        if groups is not None:
            check_groups(groups, adapter.n_features, name="groups")
            if groups.is_identity:
                groups = None
            elif not self.supports_groups:
                raise IncompatibleModelError(
                    f"{self.name} cannot attribute to feature groups: it gives one value per column. Sum its "
                    "values per group only if that is meaningful for the method, or use exact_shapley, "
                    "permutation_shap, kernel_shap or feature_ablation, which remove groups as a unit."
                )
        self.adapter_ = adapter
        self.background_ = background
        self.groups_ = groups
        start, rows_before = time.perf_counter(), adapter.rows_evaluated
        with blas_single_threaded():
            self._fit()
        # What fitting cost (a surrogate's training rows, say): counted once per fit, not in
        # each Attribution, and added to the explainer's cost by compare().
        self.fit_seconds_ = time.perf_counter() - start
        self.fit_model_rows_ = adapter.rows_evaluated - rows_before
        return self

    def _fit(self) -> None:
        """Subclass hook: precompute what :meth:`_explain` needs (after inputs are validated)."""

    def check_budget(self, n_players: int) -> None:
        """Raise :class:`~agnostic_xai.exceptions.BudgetError` when the parameters cannot work for
        ``n_players`` features (or groups); cheap, called by ``compare`` before any model work.

        The default accepts every budget; sampling explainers override it.
        """

    # ------------------------------------------------------------------ explain
    def explain(self, X: Any, *, target: Any = None) -> Attribution:
        """Explain rows ``X``.

        Parameters
        ----------
        X : array-like, DataFrame or Tensor of shape (n, d)
            Rows to explain.
        target : int, array of shape (n,) or None
            Output explained for each row; None is the predicted class for classifiers and
            output 0 for regression.

        Returns
        -------
        Attribution
        """
        if not hasattr(self, "adapter_"):
            raise NotFittedError(f"{type(self).__name__} is not fitted; call fit(adapter, background) first.")
        adapter = self.adapter_
        start = time.perf_counter()
        rows_before = adapter.rows_evaluated
        X = adapter.validate(X)
        with blas_single_threaded():
            targets = adapter.resolve_target(target, X)
            result = self._explain(X, targets)
        values = np.asarray(result.values, dtype=np.float64)
        expected = (X.shape[0], self.n_attributed_)
        if values.shape != expected:
            raise RuntimeError(f"{self.name} produced values of shape {values.shape}, expected {expected}.")
        groups = self.groups_
        return Attribution(
            values=values,
            base_values=np.broadcast_to(np.asarray(result.base_values, dtype=np.float64), (X.shape[0],)),
            data=X,
            target=targets,
            feature_names=self.attributed_names_,
            method=self.name,
            params=self._record_params(),
            output=adapter.output,
            seconds=time.perf_counter() - start,
            model_rows=adapter.rows_evaluated - rows_before + int(result.extra_model_rows),
            extras=result.extras,
            groups=groups,
        )

    def _explain(self, X: np.ndarray, target: np.ndarray) -> Explanation:
        """Subclass hook: attributions of validated rows ``X`` for outputs ``target``."""
        raise NotImplementedError

    # ------------------------------------------------------------------ helpers for subclasses
    @property
    def n_attributed_(self) -> int:
        """Number of attributed units: groups when fitted with groups, else columns."""
        return self.groups_.n_groups if self.groups_ is not None else self.adapter_.n_features

    @property
    def attributed_names_(self) -> tuple[str, ...]:
        """Names of the attributed units."""
        if self.groups_ is not None:
            return self.groups_.names
        names = self.adapter_.feature_names
        return names if names is not None else tuple(f"x{i}" for i in range(self.adapter_.n_features))

    def _rng(self) -> np.random.Generator:
        """A generator freshly seeded from ``random_state`` (same seed, same values on every call)."""
        return check_random_state(getattr(self, "random_state", None))

    def _record_params(self) -> dict[str, Any]:
        """Parameters as stored in the Attribution (arrays kept, other objects as their repr)."""
        recorded: dict[str, Any] = {}
        for key, value in self.get_params().items():
            if value is None or isinstance(value, (str, int, float, bool, np.ndarray)):
                recorded[key] = value
            elif isinstance(value, np.generic):
                recorded[key] = value.item()
            else:
                recorded[key] = repr(value)
        return recorded
