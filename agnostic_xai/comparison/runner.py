"""``compare``: run explainers × metrics on one model, rows, output and background."""

from __future__ import annotations

import os
import platform
import sys
import time
import traceback
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .._version import __version__
from .._params import clone, derive_seed
from .._shapley import MAX_EXACT_FEATURES
from ..adapters import Adapter, wrap
from ..attribution import Attribution
from ..columns import ColumnTypes
from ..exceptions import AgnosticXAIError, BudgetError, InvalidInputError
from ..explainers import Explainer
from ..groups import FeatureGroups, check_groups
from ._arguments import check_compare_arguments
from .diagnostics import check_degenerate
from .chunks import DEFAULT_ROW_CHUNK, check_row_chunk, explain_chunk, row_chunks, with_rows
from .diagnostics_saturation import SATURATION_SHARE, check_saturation
from .limits import (
    MEMORY_CHECK_INTERVAL,
    CellExit,
    CellMemoryError,
    CellTimeout,
    cell_limits,
    check_time_limit,
    resident_memory,
)
from .references import reference_roles, self_scored
from .result import TABLE_COLUMNS, Comparison, empty_failures
from .store import ResultStore, StoredExplainer, array_digest

if TYPE_CHECKING:
    from .plan import Plan

__all__ = [
    "DEFAULT_EXACT_LIMIT",
    "DEFAULT_ROW_CHUNK",
    "MEMORY_CHECK_INTERVAL",
    "SATURATION_SHARE",
    "CellExit",
    "CellMemoryError",
    "CellTimeout",
    "compare",
    "resident_memory",
]

#: Largest number of features (or groups) for which exact explainers run by default and exact
#: Shapley values are computed as the ground truth: the project's one limit,
#: :data:`agnostic_xai._shapley.MAX_EXACT_FEATURES`.
DEFAULT_EXACT_LIMIT = MAX_EXACT_FEATURES


def _limits(seconds: float | None, memory: int | None = None) -> Any:
    """The limits every cell runs under (see :func:`~agnostic_xai.comparison.limits.cell_limits`)."""
    return cell_limits(seconds, memory)


def _time_limit(seconds: float | None) -> Any:
    """A time limit alone (see :func:`_limits`)."""
    return cell_limits(seconds, None)


@dataclass
class _Cell:
    """What running one explainer (and its metrics) produced."""

    name: str
    seed: int | None
    explainer: Any = None
    attribution: Attribution | None = None
    fit_seconds: float = 0.0
    fit_model_rows: int = 0
    results: dict[str, Any] = field(default_factory=dict)
    failures: list[dict[str, str]] = field(default_factory=list)
    resumed: int = 0


def _failure(explainer: str, metric: str, stage: str, exc: BaseException) -> dict[str, str]:
    message = str(exc) or type(exc).__name__
    if not isinstance(exc, AgnosticXAIError):
        # An unexpected error: keep where it came from, for the report.
        frame = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
        where = f" (at {frame[0].filename.rsplit('/', 1)[-1]}:{frame[0].lineno})" if frame else ""
        message = f"{message}{where}"
    return {"explainer": explainer, "metric": metric, "stage": stage, "error": type(exc).__name__, "message": message}


def _resolve_explainers(
    spec: Any, adapter: Adapter, groups: FeatureGroups | None, n_players: int, exact_limit: int
) -> tuple[list[tuple[str, Any]], list[dict[str, str]]]:
    from .. import explainers as registry

    skipped: list[dict[str, str]] = []
    if isinstance(spec, str) and spec == "default":
        chosen: list[tuple[str, Any]] = []
        for name in registry.available():
            cls = registry.get_class(name)
            reason = None
            if cls.requires_gradients and not adapter.is_differentiable:
                reason = "needs gradients (torch models only)"
            elif groups is not None and not cls.supports_groups:
                reason = "gives one value per column and cannot attribute to feature groups"
            elif name in ("exact_shapley", "exact_shap") and n_players > exact_limit:
                players = "groups" if groups is not None else "features"
                reason = (f"exact enumeration of {n_players} {players} is above the limit of {exact_limit} (exact_limit); "
                          "sampling_shapley estimates the same values")
            if reason:
                skipped.append({"explainer": name, "metric": "", "stage": "skipped", "error": "", "message": reason})
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


def _resolve_metrics(spec: Any, groups: FeatureGroups | None) -> list[tuple[str, Any]]:
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


def _run_explainer(
    name: str,
    explainer: Any,
    metrics: list[tuple[str, Any]],
    adapter: Adapter,
    X: np.ndarray,
    background: np.ndarray,
    targets: np.ndarray,
    groups: FeatureGroups | None,
    root_seed: int,
    limits: tuple[float | None, int | None] | float | None,
    reference: Attribution | None,
    progress: Any,
    store: ResultStore | None = None,
    stored: StoredExplainer | None = None,
    row_chunk: int | None = None,
) -> _Cell:
    """Fit one explainer, explain the rows chunk by chunk, score the attribution with every metric.

    The rows are explained in chunks of ``row_chunk`` (None: one call), each under the
    comparison's limits (see :mod:`agnostic_xai.comparison.chunks`); the first chunk that
    fails fails the explainer. Every error is caught and recorded in the cell's failures.
    """
    if not isinstance(limits, tuple):  # a time limit alone (the form callers used before memory limits)
        limits = (limits, None)
    seed = derive_seed(root_seed, name) if getattr(explainer, "is_stochastic", False) else None
    if seed is not None:
        explainer.set_params(random_state=seed)
    cell = _Cell(name=name, seed=seed, explainer=explainer)
    done = dict(stored.results or {}) if stored is not None else {}
    pending = [(m, metric) for m, metric in metrics if m not in done]

    def fail(metric_name: str, stage: str, exc: BaseException) -> None:
        failure = _failure(name, metric_name, stage, exc)
        cell.failures.append(failure)
        if store is not None:
            store.put_failure(failure)

    if stored is not None and stored.attribution is not None:
        # Resumed: the attribution is read back; the explainer is re-fitted (fit only, its
        # cost not counted again) when a pending metric re-runs it (stability, sanity).
        cell.attribution = stored.attribution
        cell.fit_seconds, cell.fit_model_rows = stored.fit_seconds, stored.fit_model_rows
        cell.resumed = 1 + len(done)
        if any(getattr(metric, "requires_explainer", False) for _, metric in pending):
            try:
                with _limits(*limits):
                    explainer.fit(adapter, background, groups=groups)
            except Exception as exc:
                for metric_name, metric in pending:
                    if getattr(metric, "requires_explainer", False):
                        fail(metric_name, "metric", exc)
                pending = [(m, metric) for m, metric in pending if not getattr(metric, "requires_explainer", False)]
    else:
        chunks = row_chunks(X.shape[0], row_chunk)
        pieces: list[Attribution] = []
        failure: dict[str, str] | None = None
        for start, stop in chunks:  # one failing explainer never sinks a run
            fitted = start > 0  # the explainer is fitted in the first chunk, under its limits
            try:
                with _limits(*limits):
                    if start == 0:
                        explainer.fit(adapter, background, groups=groups)
                        fitted = True
                    pieces.append(explain_chunk(explainer, X, targets, start, stop, root_seed, name))
            except Exception as exc:
                failure = _failure(name, "", "explain", exc)
                failure = with_rows(failure, start, stop, len(chunks)) if fitted else failure
                break
        if failure is None:
            try:
                cell.attribution = Attribution.concatenate(pieces)
            except Exception as exc:
                failure = _failure(name, "", "explain", exc)
        if failure is not None:
            cell.failures.append(failure)
            if store is not None:
                store.put_failure(failure)
            if progress is not None:
                progress.update(len(metrics))
            return cell
        cell.fit_seconds = float(getattr(explainer, "fit_seconds_", 0.0))
        cell.fit_model_rows = int(getattr(explainer, "fit_model_rows_", 0))
        if store is not None:
            store.put_attribution(
                name, cell.attribution, fit_seconds=cell.fit_seconds, fit_model_rows=cell.fit_model_rows, seed=seed
            )
    cell.results.update(done)
    if progress is not None and done:
        progress.update(len(done))
    for metric_name, metric in pending:
        try:
            result = _run_metric(
                name, metric_name, metric, cell.attribution, adapter, background, explainer, root_seed, limits,
                reference,
            )
        except Exception as exc:
            fail(metric_name, "metric", exc)
        else:
            cell.results[metric_name] = result
            if store is not None:
                store.put_result(name, metric_name, result)
        if progress is not None:
            progress.update(1)
    # Keep the metrics' order as configured, resumed or not.
    order = [m for m, _ in metrics]
    cell.results = {m: cell.results[m] for m in order if m in cell.results}
    return cell


def _run_metric(
    name: str,
    metric_name: str,
    metric: Any,
    attribution: Attribution,
    adapter: Adapter,
    background: np.ndarray,
    explainer: Any,
    root_seed: int,
    limits: tuple[float | None, int | None],
    reference: Attribution | None,
) -> Any:
    """One metric cell: a clone of ``metric`` with its derived seed (and the ground truth), under the limits.

    The seed is :func:`~agnostic_xai.metrics._rng.metric_seed`: the root seed and what the
    metric draws, never the explainer ``name``, so every explainer is scored with the same
    random numbers (common random numbers) and adding an explainer changes no other's scores.
    """
    from ..metrics._rng import metric_seed

    metric = clone(metric)
    if "random_state" in metric.get_params():
        metric.set_params(random_state=metric_seed(root_seed, metric))
    if reference is not None and "reference" in metric.get_params():
        metric.set_params(reference=reference)
    with _limits(*limits):
        return metric(attribution, adapter, background, explainer=explainer)


def _portable_explainer(explainer: Any) -> Any:
    """``explainer``, or its unfitted clone when it cannot be pickled (to travel back from a worker).

    A fitted explainer holding a compiled object of another library does not pickle; it
    comes back with its parameters, and its scores are complete.
    """
    import pickle

    try:
        pickle.dumps(explainer)
    except Exception:
        return clone(explainer)
    return explainer


def _run_explainer_in_worker(*args: Any) -> _Cell:
    """:func:`_run_explainer` in a worker process: the cell must travel back by pickle.

    See :func:`_portable_explainer`.
    """
    cell = _run_explainer(*args)
    cell.explainer = _portable_explainer(cell.explainer)
    return cell


def _versions() -> dict[str, str]:
    """Versions of the packages a result depends on, read from their metadata (nothing imported)."""
    from importlib import metadata

    versions = {"agnostic-xai": __version__, "python": platform.python_version(), "platform": platform.platform()}
    for distribution in ("numpy", "scipy", "pandas", "scikit-learn", "torch", "shap", "lime", "captum"):
        try:
            versions[distribution] = metadata.version(distribution)
        except metadata.PackageNotFoundError:
            versions[distribution] = "not installed"
    return versions


def compare(
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
    n_jobs: int = 1,
    progress: bool = True,
    time_limit: float | None = None,
    n_background: int = 50,
    exact_limit: int = DEFAULT_EXACT_LIMIT,
    memory_limit: int | None = None,
    store: Any = None,
    resume: bool = False,
    plan_only: bool = False,
    backend: str = "local",
    client: Any = None,
    max_model_rows: int | None = None,
    force: bool = False,
    row_chunk: int | None = DEFAULT_ROW_CHUNK,
) -> Comparison | Plan:
    """Run explainers × metrics on one model, the same rows, output, target and background.

    Parameters
    ----------
    model : Adapter or model
        Anything :func:`agnostic_xai.wrap` accepts; a DataFrame ``X`` names the features.
    X : array-like or DataFrame of shape (n, d)
        Rows to explain and score.
    background : array-like of shape (b, d), optional
        Background rows; by default ``n_background`` rows sampled from ``X`` with ``seed``.
    y : array-like of shape (n,), optional
        True labels of ``X``: the model's accuracy (or R²) goes into the report.
    explainers : "default", names, or a mapping of names to parameters or to Explainers
        Explainers are given by registry name (``["kernel_shap", "lime"]``), by name with
        parameters (``{"kernel_shap": {"nsamples": 2048}}``), by label with a configured
        Explainer (``{"ig_64": IntegratedGradients(n_steps=64)}``) or as Explainer objects.
        ``"default"``: every registered explainer that applies (gradient methods only for
        torch models; with ``feature_groups``, only those that attribute to groups; exact
        methods only up to ``exact_limit`` players). Skipped ones are listed in ``failures``.
    metrics : "default", list of names or name -> params mapping
        ``"default"``: every registered metric except agreement metrics (see
        :meth:`Comparison.agreement`). With ``feature_groups``, ``infidelity`` uses its
        subset-removal perturbation unless another is given.
    target : int, array of shape (n,) or None
        Explained output, resolved once and used by every explainer (None: predicted class).
    feature_groups : FeatureGroups, optional
        Explain and score groups of columns.
    seed : int
        Root seed; each stochastic explainer gets a child seed derived from it and its name,
        each stochastic metric one derived from it and what the metric draws (never the
        explainer: every explainer is scored with the same random numbers, see
        :mod:`agnostic_xai.metrics._rng`), so the same seed gives the same table.
    n_jobs : int
        Explainers run in parallel processes when > 1 (results identical to ``n_jobs=1``).
    backend : {"local", "dask"}
        ``"dask"`` makes every row chunk of every explainer and every explainer × metric
        cell a task on a Dask cluster: an explainer's chunks run in parallel, are joined in
        row order on the cluster, and each metric task scores the joined attribution
        (metrics that re-run the explainer re-fit it in their task with the same seed). The
        adapter, rows, background and ground truth go to every worker once; results come
        back to this process (and to ``store``) as they complete. The scores and
        attributions are identical, bit for bit, to the local backend's with the same
        ``seed`` and ``row_chunk``. On workers the limits are checked when a task returns
        (SIGALRM needs the main thread).
    client : distributed.Client, optional
        The cluster for ``backend="dask"``; by default a LocalCluster is started and closed.
    row_chunk : int or None
        Rows explained per ``explain`` call (default :data:`DEFAULT_ROW_CHUNK`, 128), on
        every backend; on Dask, each chunk is one task. A stochastic explainer's chunk
        starting at row ``s > 0`` is seeded with ``derive_seed(seed, name, str(s))`` and the
        first with the explainer's own seed, so the values depend on ``row_chunk`` (when
        there are more rows than it) but never on the backend or the number of workers
        (see :mod:`agnostic_xai.comparison.chunks`). None explains all rows in one call.
    progress : bool
        A tqdm progress bar over the cells (only when attached to a terminal).
    time_limit : float, optional
        Seconds allowed per row chunk of an explainer (the first, or on Dask each, chunk
        including the explainer's fit) and per metric cell; an explainer with a chunk past
        it, or a metric cell past it, is recorded as failed (:class:`CellTimeout`), even when
        the model caught the interruption (see :mod:`agnostic_xai.comparison.limits`). Any
        finite positive number.
    n_background : int
        Background rows sampled from ``X`` when ``background`` is None.
    exact_limit : int
        Exact Shapley values (the ground truth for ``shapley_*`` metrics) are computed, and
        ``"default"`` includes the exact explainers, when the number of features or groups is
        at most this; default: the project's one limit, 16 (``MAX_EXACT_FEATURES``).
    memory_limit : int, optional
        Bytes by which one row chunk or metric cell may grow the process's resident memory;
        a cell past it is recorded as failed (:class:`CellMemoryError`). Checked every
        :data:`MEMORY_CHECK_INTERVAL` seconds while the cell runs (see :func:`_limits`), so a
        single huge allocation can overshoot before it is caught; the peak growth is checked
        again when the cell returns (Linux: the kernel's peak-RSS mark, reset per cell).
    store : str or PathLike, optional
        A SQLite file (:mod:`agnostic_xai.comparison.store`) to which every finished
        attribution and metric cell is committed as it completes.
    resume : bool
        With ``store``: load the cells it already holds and compute only the missing (or
        failed) ones. A store written by a different configuration is refused. Explainers
        whose attribution is stored are not re-run; they are re-fitted (fit only) when a
        pending metric re-runs them (stability, sanity).
    plan_only : bool
        Return the :class:`Plan` (model rows and seconds per cell, from a calibration on one
        row) instead of running.
    max_model_rows : int, optional
        Refuse, with a :class:`~agnostic_xai.exceptions.BudgetError` naming the biggest
        cells, to run a plan that evaluates more model rows than this (computing the plan
        first), unless ``force``.
    force : bool
        Run even when the plan exceeds ``max_model_rows``.

    Returns
    -------
    Comparison, or Plan with ``plan_only``

    Raises
    ------
    InvalidInputError
        Bad data, background, targets, groups or parameters, refused before the model is
        wrapped or called (:mod:`agnostic_xai.comparison._arguments`);
        :class:`~agnostic_xai.exceptions.InvalidTypeError`, also a ``TypeError``, for an
        argument of the wrong type or an unknown explainer/metric parameter.
    ModelOutputError
        The model raised or returned NaN/inf or a wrong shape on the explained rows.
    BudgetError
        A plan above ``max_model_rows`` without ``force``.
    KeyboardInterrupt
        Ctrl-C, or a model that raised it: the run stops; the cells committed to ``store``
        are kept for ``resume=True``. Anything else a cell raises, ``SystemExit`` included,
        fails that cell only (:class:`CellExit`).

    Warns
    -----
    SaturationWarning
        When at least :data:`SATURATION_SHARE` of the explained probabilities are 0 or 1 to
        float32 precision: explanations of saturated probabilities vanish. The message names
        the likely cause (inputs far outside the background's range, a module that returns
        probabilities itself, else: explain ``output="logit"``).
    """
    start = time.perf_counter()
    check_compare_arguments(  # every argument, before the model is wrapped or called
        X, background=background, y=y, explainers=explainers, metrics=metrics, target=target,
        feature_groups=feature_groups, seed=seed, n_jobs=n_jobs, progress=progress, time_limit=time_limit,
        n_background=n_background, exact_limit=exact_limit, memory_limit=memory_limit, store=store, resume=resume,
        plan_only=plan_only, backend=backend, client=client, max_model_rows=max_model_rows, force=force,
        row_chunk=row_chunk,
    )
    if isinstance(model, Adapter):
        adapter = model
    else:
        names = [str(c) for c in X.columns] if isinstance(X, pd.DataFrame) else None
        adapter = wrap(model, feature_names=names)
    X_arr = adapter.validate(X, min_rows=2)
    time_limit = check_time_limit(time_limit)  # validated above; as float seconds
    row_chunk = check_row_chunk(row_chunk)
    if background is None:
        rng = np.random.default_rng(derive_seed(seed, "background"))
        size = min(int(n_background), X_arr.shape[0])
        background_arr = X_arr[np.sort(rng.choice(X_arr.shape[0], size=size, replace=False))]
    else:
        background_arr = adapter.validate(background, name="background")
    check_groups(feature_groups, adapter.n_features)
    n_players = feature_groups.n_groups if feature_groups is not None else adapter.n_features
    chosen, skipped = _resolve_explainers(explainers, adapter, feature_groups, n_players, exact_limit)
    for _, explainer in chosen:  # a budget too small for the method is refused before any work
        explainer.check_budget(n_players)
    metric_list = _resolve_metrics(metrics, feature_groups)
    _check_background_size(chosen, background_arr.shape[0])
    constant = _check_constant(adapter, X_arr, background_arr)
    # One model call on the explained rows before any cell: a model that raises or returns
    # NaN or a wrong shape stops here with a ModelOutputError, not in every cell.
    predictions = adapter.evaluate(X_arr)
    targets = adapter.resolve_target(target, X_arr, predictions)
    model_score = _model_score(adapter, predictions, y) if y is not None else None
    saturated = check_saturation(adapter, predictions, targets, X_arr, background_arr)
    for name, explainer in chosen:
        # Child seeds are set here, in this process, so that the recorded parameters (and the
        # store's fingerprint) are the same whether cells run here or in worker processes.
        if getattr(explainer, "is_stochastic", False):
            explainer.set_params(random_state=derive_seed(seed, name))
    limits = (time_limit, None if memory_limit is None else int(memory_limit))
    wants_reference = n_players <= exact_limit and any(hasattr(m, "reference") for _, m in metric_list)

    if plan_only or max_model_rows is not None:
        from .plan import make_plan

        plan = make_plan(
            chosen, metric_list, adapter, X_arr, background_arr, targets, feature_groups, seed, limits,
            wants_reference, max_model_rows, row_chunk=row_chunk,
        )
        if plan_only:
            return plan
        if plan.refusal is not None and not force:
            raise BudgetError(plan.refusal)

    result_store: ResultStore | None = None
    if store is not None:
        result_store = ResultStore(
            store,
            _store_document(adapter, X_arr, background_arr, targets, predictions, feature_groups, chosen,
                            metric_list, seed, exact_limit, row_chunk),
            resume=resume,
        )

    # Ground truth, computed once and shared by every shapley_* metric.
    reference: Attribution | None = None
    failures: list[dict[str, str]] = list(skipped)
    if wants_reference:
        from ..testing import exact_shapley

        reference = result_store.reference() if result_store is not None and resume else None
        if reference is None:
            try:
                with _limits(*limits):
                    reference = exact_shapley(adapter, X_arr, background_arr, targets, groups=feature_groups,
                                              max_features=int(exact_limit))
            except Exception as exc:
                failures.append(_failure("exact_shapley", "", "ground truth", exc))
            else:
                if result_store is not None:
                    result_store.put_attribution("exact_shapley", reference, role="reference")

    stored = {name: result_store.explainer(name) if result_store is not None and resume else None for name, _ in chosen}
    if result_store is not None and resume:
        result_store.warn_dropped()  # stored rows not trusted (damaged, other configuration) are recomputed
    roles = reference_roles(dict(chosen), (getattr(m, "family", "") for _, m in metric_list))
    skip, skipped_cells = self_scored(roles, metric_list, reference is not None)
    failures.extend(skipped_cells)
    own_metrics = {name: [(m, x) for m, x in metric_list if m not in skip.get(name, ())] for name, _ in chosen}
    bar = None
    if progress and sys.stderr.isatty():
        from tqdm.auto import tqdm

        bar = tqdm(total=len(chosen) * max(1, len(metric_list)), desc="compare", unit="cell")
    arguments = (adapter, X_arr, background_arr, targets, feature_groups, seed, limits, reference)
    try:
        if backend == "dask":
            from ..distributed import dask_client
            from .on_dask import run_compare_dask

            with dask_client(client) as dask:
                cells = run_compare_dask(
                    dask, chosen, metric_list, arguments, row_chunk, stored, result_store,
                    progress=bar.update if bar is not None else None, skip=skip,
                )
        elif n_jobs == 1 or len(chosen) < 2:
            cells = [
                _run_explainer(name, ex, own_metrics[name], *arguments, bar, result_store, stored[name], row_chunk)
                for name, ex in chosen
            ]
        else:
            from joblib import Parallel, delayed

            runner = Parallel(n_jobs=n_jobs, backend="loky", return_as="generator")
            cells = []
            jobs = (
                delayed(_run_explainer_in_worker)(
                    name, ex, own_metrics[name], *arguments, None, result_store, stored[name], row_chunk
                )
                for name, ex in chosen
            )
            for cell in runner(jobs):
                cells.append(cell)
                if bar is not None:
                    bar.update(max(1, len(metric_list)))
    finally:
        if bar is not None:
            bar.close()
        if result_store is not None:
            result_store.close()

    lines: list[pd.DataFrame] = []
    cost_lines = []
    attributions: dict[str, Attribution] = {}
    fitted: dict[str, Any] = {}
    results: dict[tuple[str, str], Any] = {}
    n_rows = X_arr.shape[0]
    for cell in cells:
        failures.extend(cell.failures)
        status = "ok" if cell.attribution is not None else "failed"
        a = cell.attribution
        fit_seconds, fit_rows = cell.fit_seconds, cell.fit_model_rows
        seconds = a.seconds + fit_seconds if a is not None else np.nan
        rows = a.model_rows + fit_rows if a is not None else np.nan
        cost_lines.append(
            {
                "explainer": cell.name,
                "status": status,
                "seconds": seconds,
                "model_rows": rows,
                "seconds_per_row": seconds / n_rows,
                "model_rows_per_row": rows / n_rows,
                "fit_seconds": fit_seconds if a is not None else np.nan,
                "fit_model_rows": fit_rows if a is not None else np.nan,
                "seed": cell.seed,
            }
        )
        if a is None:
            continue
        attributions[cell.name] = a
        fitted[cell.name] = cell.explainer
        for metric_name, result in cell.results.items():
            results[(cell.name, metric_name)] = result
            lines.append(
                pd.DataFrame(
                    {
                        "explainer": cell.name,
                        "metric": metric_name,
                        "family": result.family,
                        "row": np.arange(n_rows),
                        "score": result.scores,
                        "higher_is_better": result.higher_is_better,
                        "seconds": seconds,
                        "model_rows": rows,
                        "seed": cell.seed,
                        "metric_seconds": result.seconds,
                        "metric_model_rows": result.model_rows,
                    }
                )
            )
    table = pd.concat(lines, ignore_index=True) if lines else pd.DataFrame(columns=list(TABLE_COLUMNS))
    table["seed"] = table["seed"].astype("Int64")
    config = {
        "seed": int(seed),
        "n_rows": int(n_rows),
        "n_background": int(background_arr.shape[0]),
        "n_features": int(adapter.n_features),
        "feature_names": list(adapter.feature_names or [f"x{i}" for i in range(adapter.n_features)]),
        "groups": feature_groups.to_dict() if feature_groups is not None else None,
        "task": adapter.task,
        "output": adapter.output,
        "output_names": list(adapter.output_names),
        "target": "predicted class" if target is None else "given",
        "targets": np.bincount(targets, minlength=adapter.n_outputs).tolist(),
        "explainers": {name: ex.get_params() for name, ex in chosen},
        "metrics": {name: m.get_params() for name, m in metric_list},
        "time_limit": time_limit,
        "n_jobs": int(n_jobs),
        "backend": backend,
        "row_chunk": row_chunk,
        "exact_limit": int(exact_limit),
        "ground_truth": reference is not None,
        "references": roles,
        "memory_limit": None if memory_limit is None else int(memory_limit),
        "saturated_share": saturated,
        "constant_features": constant,
        "column_types": ColumnTypes.infer(background_arr, feature_groups, feature_names=adapter.feature_names).to_dict(),
        "store": None if store is None else os.fspath(store),
        "resumed_cells": int(sum(cell.resumed for cell in cells)),
        "versions": _versions(),
        "seconds": time.perf_counter() - start,
    }
    if model_score is not None:
        config["model_score"] = model_score
    return Comparison(
        table=table,
        attributions=attributions,
        costs=pd.DataFrame(cost_lines),
        failures=pd.DataFrame(failures) if failures else empty_failures(),
        config=config,
        metric_results=results,
        explainers=fitted,
        adapter=adapter,
        background=background_arr,
        diagnostics=check_degenerate(table, results, attributions=attributions),
    )


def _model_score(adapter: Adapter, predictions: np.ndarray, y: Any) -> dict[str, float]:
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


def _check_constant(adapter: Adapter, X: np.ndarray, background: np.ndarray) -> list[str]:
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


def _check_background_size(chosen: list[tuple[str, Any]], n_background: int) -> None:
    short = [(name, int(getattr(ex, "min_background", 1))) for name, ex in chosen
             if int(getattr(ex, "min_background", 1)) > n_background]
    if short:
        needed = max(n for _, n in short)
        raise InvalidInputError(
            f"The background has {n_background} row(s); {', '.join(n for n, _ in short)} need at least {needed}: "
            "pass more background rows (background=, n_background= or --background)."
        )


def _store_document(
    adapter: Adapter,
    X: np.ndarray,
    background: np.ndarray,
    targets: np.ndarray,
    predictions: np.ndarray,
    groups: FeatureGroups | None,
    chosen: list[tuple[str, Any]],
    metrics: list[tuple[str, Any]],
    seed: int,
    exact_limit: int,
    row_chunk: int | None = None,
) -> dict[str, Any]:
    """What identifies a comparison's results (see :mod:`agnostic_xai.comparison.store`).

    ``row_chunk`` is part of it when it splits the rows (the values then depend on it); a
    comparison explained in one call per explainer keeps the document, and so the stores,
    it always had.
    """

    def described(obj: Any) -> dict[str, Any]:
        return {"class": f"{type(obj).__module__}.{type(obj).__qualname__}", "params": obj.get_params()}

    with np.errstate(over="ignore"):  # outputs beyond float32's range hash as inf
        outputs = array_digest(predictions.astype(np.float32))
    document = {
        "format": "agnostic-xai comparison store",
        "X": array_digest(X),
        "background": array_digest(background),
        "targets": array_digest(targets),
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
        "groups": groups.to_dict() if groups is not None else None,
        "explainers": {name: described(ex) for name, ex in chosen},
        "metrics": {name: described(m) for name, m in metrics},
        "seed": int(seed),
        "exact_limit": int(exact_limit),
    }
    if len(row_chunks(X.shape[0], row_chunk)) > 1:
        document["row_chunk"] = row_chunk
    return document
