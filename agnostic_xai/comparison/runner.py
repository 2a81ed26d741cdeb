"""``compare``: run explainers × metrics on one model, rows, output and background.

The steps, each owned by its module: :func:`~agnostic_xai.comparison.inputs.prepare` checks
and resolves everything (:mod:`~agnostic_xai.comparison.inputs`); the plan is checked
against ``max_model_rows`` (:mod:`~agnostic_xai.comparison.plan`); the result store opens
(:mod:`~agnostic_xai.comparison.store`); the exact ground truth is computed once; the task
graph is built (:mod:`~agnostic_xai.comparison.tasks`) and run by the chosen executor
(:mod:`agnostic_xai.execution`), its results collected as they arrive
(:mod:`~agnostic_xai.comparison.collect`); the table is built
(:mod:`~agnostic_xai.comparison.table`).
"""

from __future__ import annotations

import sys
import time
from typing import Any

from ..attribution import Attribution
from ..exceptions import BudgetError
from ..execution.executors import Executor, get_executor
from ..execution.failures import Failure
from ..groups import FeatureGroups
from .chunks import DEFAULT_ROW_CHUNK
from .collect import Collector
from .diagnostics_saturation import SATURATION_SHARE
from .inputs import DEFAULT_EXACT_LIMIT, Prepared, prepare, store_document
from .limits import MEMORY_CHECK_INTERVAL, CellExit, CellMemoryError, CellTimeout, cell_limits, resident_memory
from .plan import make_plan
from .references import reference_roles, self_scored
from .result import Comparison
from .store import ResultStore
from .table import build_comparison
from .tasks import build_graph

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
    backend: str | Executor = "local",
    client: Any = None,
    max_model_rows: int | None = None,
    force: bool = False,
    row_chunk: int | None = DEFAULT_ROW_CHUNK,
) -> Comparison:
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
        With ``backend="local"``: explainers run in parallel worker processes when > 1 (the
        ``"processes"`` executor; results identical to ``n_jobs=1``). With
        ``backend="processes"``: the number of worker processes.
    backend : str or Executor
        What runs the comparison's task graph (:mod:`agnostic_xai.comparison.tasks`: each
        explainer's row chunks, their join, and its metric cells), by registered name
        (:func:`~agnostic_xai.execution.register_executor`) or as an
        :class:`~agnostic_xai.execution.Executor`. ``"local"``: in this process (or worker
        processes with ``n_jobs > 1``); ``"processes"``: one worker job per explainer;
        ``"dask"``: every row chunk and every explainer × metric cell is a task on a Dask
        cluster, an explainer's chunks run in parallel and are joined in row order on the
        cluster. The inputs (adapter, rows, background, ground truth) go to the workers
        once; results come back to this process (and to ``store``) as they complete. The
        scores and attributions are identical, bit for bit, on every backend with the same
        ``seed`` and ``row_chunk``. On Dask workers the limits are checked when a task
        returns (SIGALRM needs the main thread).
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
        :data:`MEMORY_CHECK_INTERVAL` seconds while the cell runs
        (:func:`~agnostic_xai.comparison.limits.cell_limits`), so a
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
    max_model_rows : int, optional
        Refuse, with a :class:`~agnostic_xai.exceptions.BudgetError` naming the biggest
        cells, to run a plan that evaluates more model rows than this (computing the plan
        first, :func:`~agnostic_xai.plan`), unless ``force``.
    force : bool
        Run even when the plan exceeds ``max_model_rows``.

    Returns
    -------
    Comparison

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
    prepared = prepare(
        model, X, background=background, y=y, explainers=explainers, metrics=metrics, target=target,
        feature_groups=feature_groups, seed=seed, time_limit=time_limit, n_background=n_background,
        exact_limit=exact_limit, memory_limit=memory_limit, row_chunk=row_chunk, n_jobs=n_jobs, progress=progress,
        store=store, resume=resume, backend=backend, client=client, max_model_rows=max_model_rows, force=force,
    )
    if max_model_rows is not None:
        plan = make_plan(prepared, max_model_rows)
        if plan.refusal is not None and not force:
            raise BudgetError(plan.refusal)
    executor = _executor(backend, n_jobs, client, len(prepared.explainers))
    result_store = ResultStore(store, store_document(prepared), resume=resume) if store is not None else None
    try:
        reference, failures = _ground_truth(prepared, result_store if resume else None, result_store)
        prepared_inputs = prepared.inputs.with_reference(reference)
        stored = {name: result_store.explainer(name) if result_store is not None and resume else None
                  for name, _ in prepared.explainers}
        if result_store is not None and resume:
            result_store.warn_dropped()  # stored rows not trusted (damaged, other configuration) are recomputed
        roles = reference_roles(dict(prepared.explainers), (getattr(m, "family", "") for _, m in prepared.metrics))
        skip, skipped_cells = self_scored(roles, prepared.metrics, reference is not None)
        failures.extend(Failure(**record) for record in skipped_cells)  # type: ignore[arg-type]
        tasks, lanes = build_graph(prepared, stored, skip, in_process=executor.in_process)
        bar = None
        if progress and sys.stderr.isatty():
            from tqdm.auto import tqdm

            bar = tqdm(total=len(prepared.explainers) * max(1, len(prepared.metrics)), desc="compare", unit="cell")
        collector = Collector(lanes, [m for m, _ in prepared.metrics], result_store,
                              bar.update if bar is not None else None)
        try:
            executor.run(tasks, (prepared_inputs,), on_result=collector)
        finally:
            if bar is not None:
                bar.close()
    finally:
        if result_store is not None:
            result_store.close()
    run = {"n_jobs": n_jobs, "backend": executor.name if isinstance(backend, Executor) else backend,
           "store": store, "seconds": time.perf_counter() - start}
    return build_comparison(prepared, collector.cells(), [*prepared.skipped, *failures], reference=reference,
                            roles=roles, run=run)


def _executor(backend: str | Executor, n_jobs: int, client: Any, n_explainers: int) -> Executor:
    """The executor ``backend`` names; ``"local"`` with ``n_jobs > 1`` (and explainers to share) is ``"processes"``."""
    if backend == "local" and n_jobs > 1 and n_explainers > 1:
        return get_executor("processes", n_jobs=n_jobs)
    if backend == "processes":
        return get_executor("processes", n_jobs=n_jobs)
    if backend == "dask":
        return get_executor("dask", client=client)
    return get_executor(backend)


def _ground_truth(
    prepared: Prepared, stored: ResultStore | None, store: ResultStore | None
) -> tuple[Attribution | None, list[Failure]]:
    """The exact Shapley values, computed once (or read back on resume) and shared by every ``shapley_*`` metric."""
    if not prepared.wants_reference:
        return None, []
    from .._shapley import exact_shapley

    inputs = prepared.inputs
    reference = stored.reference() if stored is not None else None
    if reference is not None:
        return reference, []
    try:
        with cell_limits(*inputs.limits):
            reference = exact_shapley(inputs.adapter, inputs.X, inputs.background, inputs.targets,
                                      groups=inputs.groups, max_features=int(prepared.exact_limit))
    except Exception as exc:
        return None, [Failure.from_exception(exc, explainer="exact_shapley", stage="ground truth")]
    if store is not None:
        store.put_attribution("exact_shapley", reference, role="reference")
    return reference, []
