"""``compare``: run explainers × metrics on one model, rows, output and background."""

from __future__ import annotations

import contextlib
import platform
import signal
import sys
import threading
import time
import traceback
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .._version import __version__
from .._params import clone, derive_seed
from ..adapters import Adapter, wrap
from ..attribution import Attribution
from ..exceptions import AgnosticXAIError, InvalidInputError
from ..explainers import Explainer
from ..groups import FeatureGroups
from .result import TABLE_COLUMNS, Comparison, empty_failures

__all__ = ["compare", "CellTimeout", "DEFAULT_EXACT_LIMIT"]

#: Largest number of features (or groups) for which exact Shapley values are computed as the
#: ground truth (2**12 coalitions per row and background row).
DEFAULT_EXACT_LIMIT = 12


class CellTimeout(AgnosticXAIError, TimeoutError):
    """An explainer or metric ran past the comparison's ``time_limit``."""


@contextlib.contextmanager
def _time_limit(seconds: float | None) -> Iterator[None]:
    """Raise :class:`CellTimeout` in the block after ``seconds`` (main thread, POSIX).

    Uses ``SIGALRM``, which interrupts Python code between bytecodes; model calls run in
    bounded chunks, so a cell stops within one chunk of the limit. Elsewhere (another
    thread, Windows) the limit is checked when the cell returns.
    """
    if seconds is None:
        yield
        return
    usable = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    if not usable:
        start = time.perf_counter()
        yield
        if time.perf_counter() - start > seconds:
            raise CellTimeout(f"ran past the time limit of {seconds:g} s")
        return

    def expire(signum: int, frame: Any) -> None:
        raise CellTimeout(f"ran past the time limit of {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@dataclass
class _Cell:
    """What running one explainer (and its metrics) produced."""

    name: str
    seed: int | None
    explainer: Any = None
    attribution: Attribution | None = None
    results: dict[str, Any] = field(default_factory=dict)
    failures: list[dict[str, str]] = field(default_factory=list)


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
                reason = f"exact enumeration of {n_players} players is above the limit of {exact_limit}"
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
    time_limit: float | None,
    reference: Attribution | None,
    progress: Any,
) -> _Cell:
    seed = derive_seed(root_seed, name) if getattr(explainer, "is_stochastic", False) else None
    if seed is not None:
        explainer.set_params(random_state=seed)
    cell = _Cell(name=name, seed=seed, explainer=explainer)
    try:
        with _time_limit(time_limit):
            explainer.fit(adapter, background, groups=groups)
            cell.attribution = explainer.explain(X, target=targets)
    except Exception as exc:  # one failing explainer never sinks a run
        cell.failures.append(_failure(name, "", "explain", exc))
        if progress is not None:
            progress.update(len(metrics))
        return cell
    for metric_name, metric in metrics:
        try:
            metric = clone(metric)
            if "random_state" in metric.get_params():
                metric.set_params(random_state=derive_seed(root_seed, name, metric_name))
            if reference is not None and "reference" in metric.get_params():
                metric.set_params(reference=reference)
            with _time_limit(time_limit):
                cell.results[metric_name] = metric(cell.attribution, adapter, background, explainer=explainer)
        except Exception as exc:
            cell.failures.append(_failure(name, metric_name, "metric", exc))
        if progress is not None:
            progress.update(1)
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
        Root seed; each stochastic explainer and metric gets a child seed derived from it and
        its name, so the same seed gives the same table.
    n_jobs : int
        Explainers run in parallel processes when > 1 (results identical to ``n_jobs=1``).
    progress : bool
        A tqdm progress bar over the cells (only when attached to a terminal).
    time_limit : float, optional
        Seconds allowed per explainer and per metric cell; a cell past it is recorded as failed.
    n_background : int
        Background rows sampled from ``X`` when ``background`` is None.
    exact_limit : int
        Exact Shapley values (the ground truth for ``shapley_*`` metrics) are computed when the
        number of features or groups is at most this.

    Returns
    -------
    Comparison
    """
    start = time.perf_counter()
    if isinstance(model, Adapter):
        adapter = model
    else:
        names = [str(c) for c in X.columns] if isinstance(X, pd.DataFrame) else None
        adapter = wrap(model, feature_names=names)
    X_arr = adapter.validate(X, min_rows=2)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InvalidInputError(f"seed must be a non-negative int, got {seed!r}.")
    if not isinstance(n_jobs, (int, np.integer)) or n_jobs < 1:
        raise InvalidInputError(f"n_jobs must be a positive int, got {n_jobs!r}.")
    if time_limit is not None and not time_limit > 0:
        raise InvalidInputError(f"time_limit must be positive seconds, got {time_limit!r}.")
    if background is None:
        rng = np.random.default_rng(derive_seed(seed, "background"))
        size = min(int(n_background), X_arr.shape[0])
        background_arr = X_arr[np.sort(rng.choice(X_arr.shape[0], size=size, replace=False))]
    else:
        background_arr = adapter.validate(background, name="background")
    if feature_groups is not None:
        if not isinstance(feature_groups, FeatureGroups):
            raise InvalidInputError(f"feature_groups must be a FeatureGroups, got {type(feature_groups).__name__}.")
        if feature_groups.n_features != adapter.n_features:
            raise InvalidInputError(
                f"feature_groups cover {feature_groups.n_features} columns; the model has {adapter.n_features}."
            )
    n_players = feature_groups.n_groups if feature_groups is not None else adapter.n_features
    targets = adapter.resolve_target(target, X_arr)
    chosen, skipped = _resolve_explainers(explainers, adapter, feature_groups, n_players, exact_limit)
    metric_list = _resolve_metrics(metrics, feature_groups)

    # Ground truth, computed once and shared by every shapley_* metric.
    reference: Attribution | None = None
    failures: list[dict[str, str]] = list(skipped)
    if n_players <= exact_limit and any(hasattr(m, "reference") for _, m in metric_list):
        from ..testing import exact_shapley

        try:
            with _time_limit(time_limit):
                reference = exact_shapley(adapter, X_arr, background_arr, targets, groups=feature_groups)
        except Exception as exc:
            failures.append(_failure("exact_shapley", "", "ground truth", exc))

    bar = None
    if progress and sys.stderr.isatty():
        from tqdm.auto import tqdm

        bar = tqdm(total=len(chosen) * max(1, len(metric_list)), desc="compare", unit="cell")
    arguments = (adapter, X_arr, background_arr, targets, feature_groups, seed, time_limit, reference)
    try:
        if n_jobs == 1 or len(chosen) < 2:
            cells = [_run_explainer(name, ex, metric_list, *arguments, bar) for name, ex in chosen]
        else:
            from joblib import Parallel, delayed

            runner = Parallel(n_jobs=n_jobs, backend="loky", return_as="generator")
            cells = []
            for cell in runner(delayed(_run_explainer)(name, ex, metric_list, *arguments, None) for name, ex in chosen):
                cells.append(cell)
                if bar is not None:
                    bar.update(max(1, len(metric_list)))
    finally:
        if bar is not None:
            bar.close()

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
        fit_seconds = float(getattr(cell.explainer, "fit_seconds_", 0.0))
        fit_rows = int(getattr(cell.explainer, "fit_model_rows_", 0))
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
        "exact_limit": int(exact_limit),
        "ground_truth": reference is not None,
        "versions": _versions(),
        "seconds": time.perf_counter() - start,
    }
    if y is not None:
        config["model_score"] = _model_score(adapter, X_arr, y)
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
    )


def _model_score(adapter: Adapter, X: np.ndarray, y: Any) -> dict[str, float]:
    y_arr = np.asarray(y)
    if y_arr.shape[0] != X.shape[0]:
        raise InvalidInputError(f"y has {y_arr.shape[0]} entries for {X.shape[0]} rows.")
    predictions = adapter._predict_validated(X)
    if adapter.task == "classification":
        return {"accuracy": float((predictions.argmax(axis=1) == y_arr).mean())}
    residual = ((predictions[:, 0] - y_arr) ** 2).sum()
    total = ((y_arr - y_arr.mean()) ** 2).sum()
    return {"r2": float(1 - residual / total) if total > 0 else float("nan")}
