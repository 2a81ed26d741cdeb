"""The :class:`~agnostic_xai.Comparison` a run returns: its tidy table, costs, failures and configuration.

:func:`build_comparison` turns the explainers' :class:`~agnostic_xai.comparison.collect.Cell`
objects into one long table (explainer, metric, row, score, ...), one cost line per explainer
(fit plus explain), the failures (skipped explainers and cells, the ground truth's, then each
explainer's) and the configuration that reproduces the run, with the versions of the
packages it depends on.
"""

from __future__ import annotations

import os
import platform
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from .._version import __version__
from ..attribution import Attribution
from ..columns import ColumnTypes
from ..execution.failures import Failure
from .collect import Cell
from .diagnostics import check_degenerate
from .inputs import Prepared
from .result import TABLE_COLUMNS, Comparison, empty_failures

__all__ = ["build_comparison", "versions"]


def versions() -> dict[str, str]:
    """Versions of the packages a result depends on, read from their metadata (nothing imported)."""
    from importlib import metadata

    found = {"agnostic-xai": __version__, "python": platform.python_version(), "platform": platform.platform()}
    for distribution in ("numpy", "scipy", "pandas", "scikit-learn", "torch", "shap", "lime", "captum"):
        try:
            found[distribution] = metadata.version(distribution)
        except metadata.PackageNotFoundError:
            found[distribution] = "not installed"
    return found


def _lines(cell: Cell, n_rows: int, seconds: float, rows: float) -> Iterable[pd.DataFrame]:
    for metric_name, result in cell.results.items():
        yield pd.DataFrame(
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


def build_comparison(
    prepared: Prepared,
    cells: list[Cell],
    failures: list[Failure],
    *,
    reference: Attribution | None,
    roles: Mapping[str, str],
    run: Mapping[str, Any],
) -> Comparison:
    """The comparison of ``cells`` (see the module notes).

    ``failures`` are those found before the cells ran; ``run`` holds the run's settings
    recorded in the configuration (``n_jobs``, ``backend``, ``store``, ``seconds``).
    """
    inputs = prepared.inputs
    adapter, n_rows = inputs.adapter, inputs.X.shape[0]
    lines: list[pd.DataFrame] = []
    cost_lines = []
    attributions: dict[str, Attribution] = {}
    fitted: dict[str, Any] = {}
    results: dict[tuple[str, str], Any] = {}
    failures = list(failures)
    for cell in cells:
        failures.extend(cell.failures)
        a = cell.attribution
        fit_seconds, fit_rows = cell.fit_seconds, cell.fit_model_rows
        seconds = a.seconds + fit_seconds if a is not None else np.nan
        rows = a.model_rows + fit_rows if a is not None else np.nan
        cost_lines.append(
            {
                "explainer": cell.name,
                "status": "ok" if a is not None else "failed",
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
        results.update({(cell.name, metric_name): result for metric_name, result in cell.results.items()})
        lines.extend(_lines(cell, n_rows, seconds, rows))
    table = pd.concat(lines, ignore_index=True) if lines else pd.DataFrame(columns=list(TABLE_COLUMNS))
    table["seed"] = table["seed"].astype("Int64")
    store = run.get("store")
    config = {
        "seed": int(inputs.seed),
        "n_rows": int(n_rows),
        "n_background": int(inputs.background.shape[0]),
        "n_features": int(adapter.n_features),
        "feature_names": list(adapter.feature_names or [f"x{i}" for i in range(adapter.n_features)]),
        "groups": inputs.groups.to_dict() if inputs.groups is not None else None,
        "task": adapter.task,
        "output": adapter.output,
        "output_names": list(adapter.output_names),
        "target": "given" if prepared.target_given else "predicted class",
        "targets": np.bincount(inputs.targets, minlength=adapter.n_outputs).tolist(),
        "explainers": {name: ex.get_params() for name, ex in prepared.explainers},
        "metrics": {name: m.get_params() for name, m in prepared.metrics},
        "time_limit": prepared.time_limit,
        "n_jobs": int(run["n_jobs"]),
        "backend": run["backend"],
        "row_chunk": inputs.row_chunk,
        "exact_limit": int(prepared.exact_limit),
        "ground_truth": reference is not None,
        "references": dict(roles),
        "memory_limit": prepared.memory_limit,
        "saturated_share": prepared.saturated,
        "constant_features": list(prepared.constant),
        "column_types": ColumnTypes.infer(
            inputs.background, inputs.groups, feature_names=adapter.feature_names
        ).to_dict(),
        "store": None if store is None else os.fspath(store),
        "resumed_cells": int(sum(cell.resumed for cell in cells)),
        "versions": versions(),
        "seconds": run["seconds"],
    }
    if prepared.model_score is not None:
        config["model_score"] = prepared.model_score
    return Comparison(
        table=table,
        attributions=attributions,
        costs=pd.DataFrame(cost_lines),
        failures=pd.DataFrame([f.as_record() for f in failures]) if failures else empty_failures(),
        config=config,
        metric_results=results,
        explainers=fitted,
        adapter=adapter,
        background=inputs.background,
        diagnostics=check_degenerate(table, results, attributions=attributions),
    )
