"""One comparison's inputs, prepared once: the record every task receives, and the step that builds it.

:func:`prepare` does everything ``compare`` and ``plan`` do before any explainer runs, in
this order: check every argument (:mod:`agnostic_xai.comparison._arguments`), wrap the
model, validate the rows, sample or validate the background, check the groups, resolve the
explainers and metrics (:mod:`agnostic_xai.comparison.resolve`), check budgets and the
background size, record constant columns, call the model once on the rows (a model that
fails stops here), resolve the targets, score the model against ``y``, check saturation,
and give each stochastic explainer its child seed.

It returns a :class:`Prepared` comparison; its :class:`CompareInputs` (the adapter, the rows,
the background, the targets, the groups, the seed, the limits, the ground truth, the row
chunk) is the ONE object shipped to where the tasks run, once per run. It also owns a cache
of fitted explainers for the process it is in (never pickled): the tasks of one explainer
in one process fit it once and share it (:meth:`CompareInputs.fitted`).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, fields, replace
from typing import Any

import numpy as np
import pandas as pd

from .._params import derive_seed
from .._shapley import MAX_EXACT_FEATURES
from ..adapters import Adapter, wrap
from ..attribution import Attribution
from ..execution.failures import Failure
from ..groups import FeatureGroups, check_groups
from ._arguments import check_compare_arguments
from .chunks import DEFAULT_ROW_CHUNK, check_row_chunk, row_chunks
from .diagnostics_saturation import check_saturation
from .limits import check_time_limit
from .resolve import check_background_size, check_constant, model_score, resolve_explainers, resolve_metrics
from .store import array_digest

__all__ = ["DEFAULT_EXACT_LIMIT", "CompareInputs", "FittedExplainer", "Prepared", "prepare", "store_document"]

#: Largest number of features (or groups) for which exact explainers run by default and exact
#: Shapley values are computed as the ground truth: the project's one limit,
#: :data:`agnostic_xai._shapley.MAX_EXACT_FEATURES`.
DEFAULT_EXACT_LIMIT = MAX_EXACT_FEATURES


@dataclass(eq=False)
class FittedExplainer:
    """One explainer fitted in this process (or the error its fit raised), shared by its tasks here.

    Hold :attr:`lock` while using the explainer: a task sets its ``random_state`` for a
    chunk, and tasks on threads must not see each other's.
    """

    lock: threading.RLock = field(default_factory=threading.RLock)
    explainer: Any = None
    error: BaseException | None = None
    #: First row of the earliest chunk that failed here: later chunks need not run.
    failed_at: int | None = None

    def get(self, configured: Any, inputs: CompareInputs) -> Any:
        """The fitted explainer, fitting ``configured`` (in place) on first use; its fit's error again after."""
        if self.error is not None:
            raise self.error
        if self.explainer is None:
            try:
                configured.fit(inputs.adapter, inputs.background, groups=inputs.groups)
            except Exception as exc:
                self.error = exc
                raise
            self.explainer = configured
        return self.explainer

    def failed(self, start: int) -> None:
        """Record that the chunk starting at row ``start`` failed."""
        self.failed_at = start if self.failed_at is None else min(self.failed_at, start)


@dataclass(frozen=True, eq=False)
class CompareInputs:
    """What every task of one comparison needs, shared once (see the module notes).

    Attributes
    ----------
    adapter : Adapter
    X, background : ndarray
        The explained rows and the background (read-only float64).
    targets : ndarray of int
        The explained output of each row.
    groups : FeatureGroups or None
    seed : int
        The root seed.
    limits : tuple
        ``(seconds, memory bytes)`` of each cell (:func:`~agnostic_xai.comparison.limits.cell_limits`).
    reference : Attribution or None
        The exact Shapley ground truth, when computed.
    row_chunk : int or None
        Rows per ``explain`` call (:mod:`agnostic_xai.comparison.chunks`).
    """

    adapter: Adapter
    X: np.ndarray
    background: np.ndarray
    targets: np.ndarray
    groups: FeatureGroups | None
    seed: int
    limits: tuple[float | None, int | None]
    reference: Attribution | None = None
    row_chunk: int | None = None
    _fitted: dict[str, FittedExplainer] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def fitted(self, name: str) -> FittedExplainer:
        """This process's :class:`FittedExplainer` of explainer ``name`` (created empty on first use)."""
        with self._lock:
            if name not in self._fitted:
                self._fitted[name] = FittedExplainer()
            return self._fitted[name]

    def with_reference(self, reference: Attribution | None) -> CompareInputs:
        """A copy holding the ground truth ``reference`` (and an empty cache)."""
        return replace(self, reference=reference, _fitted={}, _lock=threading.Lock())

    def __getstate__(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self) if not f.name.startswith("_")}

    def __setstate__(self, state: dict[str, Any]) -> None:
        for name, value in state.items():
            object.__setattr__(self, name, value)
        object.__setattr__(self, "_fitted", {})
        object.__setattr__(self, "_lock", threading.Lock())


@dataclass(frozen=True, eq=False)
class Prepared:
    """A comparison ready to run or plan: its shared inputs, what it runs, and what it found on the way."""

    inputs: CompareInputs
    explainers: tuple[tuple[str, Any], ...]
    metrics: tuple[tuple[str, Any], ...]
    skipped: tuple[Failure, ...]
    predictions: np.ndarray
    model_score: dict[str, float] | None
    saturated: float | None
    constant: tuple[str, ...]
    n_players: int
    exact_limit: int
    wants_reference: bool
    time_limit: float | None
    memory_limit: int | None
    target_given: bool

    def stochastic_seed(self, name: str, explainer: Any) -> int | None:
        """The child seed of explainer ``name`` (None for a deterministic one)."""
        return derive_seed(self.inputs.seed, name) if getattr(explainer, "is_stochastic", False) else None


def prepare(
    model: Any,
    X: Any,
    *,
    background: Any = None,
    y: Any = None,
    explainers: Any = "default",
    metrics: Any = "default",
    target: Any = None,
    feature_groups: FeatureGroups | None = None,
    seed: int = 0,
    time_limit: float | None = None,
    n_background: int = 50,
    exact_limit: int = DEFAULT_EXACT_LIMIT,
    memory_limit: int | None = None,
    row_chunk: int | None = DEFAULT_ROW_CHUNK,
    **run: Any,
) -> Prepared:
    """Check, resolve and describe one comparison (see the module notes).

    ``run`` holds the arguments of ``compare`` that only running uses (``n_jobs``,
    ``store``, ``backend``, ...): they are checked here with the others, in the same step.
    """
    check_compare_arguments(  # every argument, before the model is wrapped or called
        X, background=background, y=y, explainers=explainers, metrics=metrics, target=target,
        feature_groups=feature_groups, seed=seed, time_limit=time_limit, n_background=n_background,
        exact_limit=exact_limit, memory_limit=memory_limit, row_chunk=row_chunk, **run,
    )
    if isinstance(model, Adapter):
        adapter = model
    else:
        names = [str(c) for c in X.columns] if isinstance(X, pd.DataFrame) else None
        adapter = wrap(model, feature_names=names)
    X_arr = adapter.validate(X, min_rows=2)
    seconds = check_time_limit(time_limit)  # validated above; as float seconds
    chunk = check_row_chunk(row_chunk)
    if background is None:
        rng = np.random.default_rng(derive_seed(seed, "background"))
        size = min(int(n_background), X_arr.shape[0])
        background_arr = X_arr[np.sort(rng.choice(X_arr.shape[0], size=size, replace=False))]
    else:
        background_arr = adapter.validate(background, name="background")
    check_groups(feature_groups, adapter.n_features)
    n_players = feature_groups.n_groups if feature_groups is not None else adapter.n_features
    chosen, skipped = resolve_explainers(explainers, adapter, feature_groups, n_players, exact_limit)
    for _, explainer in chosen:  # a budget too small for the method is refused before any work
        explainer.check_budget(n_players)
    metric_list = resolve_metrics(metrics, feature_groups)
    check_background_size(chosen, background_arr.shape[0])
    constant = check_constant(adapter, X_arr, background_arr)
    # One model call on the explained rows before any cell: a model that raises or returns
    # NaN or a wrong shape stops here with a ModelOutputError, not in every cell.
    predictions = adapter.evaluate(X_arr)
    targets = adapter.resolve_target(target, X_arr, predictions)
    score = model_score(adapter, predictions, y) if y is not None else None
    saturated = check_saturation(adapter, predictions, targets, X_arr, background_arr)
    for name, explainer in chosen:
        # Child seeds are set here, in this process, so that the recorded parameters (and the
        # store's fingerprint) are the same wherever the tasks run.
        if getattr(explainer, "is_stochastic", False):
            explainer.set_params(random_state=derive_seed(seed, name))
    limits = (seconds, None if memory_limit is None else int(memory_limit))
    wants_reference = n_players <= exact_limit and any(getattr(m, "needs_reference", False) for _, m in metric_list)
    inputs = CompareInputs(adapter, X_arr, background_arr, targets, feature_groups, int(seed), limits, None, chunk)
    return Prepared(
        inputs=inputs, explainers=tuple(chosen), metrics=tuple(metric_list), skipped=tuple(skipped),
        predictions=predictions, model_score=score, saturated=saturated, constant=tuple(constant),
        n_players=n_players, exact_limit=int(exact_limit), wants_reference=wants_reference, time_limit=seconds,
        memory_limit=None if memory_limit is None else int(memory_limit), target_given=target is not None,
    )


def store_document(prepared: Prepared) -> dict[str, Any]:
    """What identifies a comparison's results (see :mod:`agnostic_xai.comparison.store`).

    ``row_chunk`` is part of it when it splits the rows (the values then depend on it); a
    comparison explained in one call per explainer keeps the document, and so the stores,
    it always had.
    """
    inputs = prepared.inputs
    adapter = inputs.adapter

    def described(obj: Any) -> dict[str, Any]:
        return {"class": f"{type(obj).__module__}.{type(obj).__qualname__}", "params": obj.get_params()}

    with np.errstate(over="ignore"):  # outputs beyond float32's range hash as inf
        outputs = array_digest(prepared.predictions.astype(np.float32))
    document = {
        "format": "agnostic-xai comparison store",
        "X": array_digest(inputs.X),
        "background": array_digest(inputs.background),
        "targets": array_digest(inputs.targets),
        "model": {
            "adapter": type(adapter).__name__,
            "task": adapter.task,
            "output": adapter.output,
            "n_features": adapter.n_features,
            "feature_names": list(adapter.feature_names or ()),
            "output_names": list(adapter.output_names),
            # The model's identity, whatever its kind: its outputs on the explained rows
            # (rounded to float32 so that the last bits of a float64 sum do not count).
            "outputs": outputs,
        },
        "groups": inputs.groups.to_dict() if inputs.groups is not None else None,
        "explainers": {name: described(ex) for name, ex in prepared.explainers},
        "metrics": {name: described(m) for name, m in prepared.metrics},
        "seed": int(inputs.seed),
        "exact_limit": int(prepared.exact_limit),
    }
    if len(row_chunks(inputs.X.shape[0], inputs.row_chunk)) > 1:
        document["row_chunk"] = inputs.row_chunk
    return document

