"""The arguments of :func:`~agnostic_xai.compare`, checked before anything touches the model.

``compare`` first calls :func:`check_compare_arguments`: every argument that can be checked
without the model (types and ranges of the settings; ``X``, ``background`` and ``target``
as data; the explainer and metric specifications, their names and parameter names; the
feature groups against ``X``'s columns) is refused here, with a project error naming the
argument. Only then is the model wrapped (a torch module is called on one probe row) and
called, so a NaN in ``X`` or a typo in a parameter costs no model evaluation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .._validation import (
    check_bool,
    check_choice,
    check_int,
    check_matrix,
    check_params,
    check_path,
    check_target,
    shown,
)
from ..exceptions import InvalidInputError, InvalidTypeError
from ..execution.executors import Executor, available_executors
from ..groups import check_groups
from .chunks import check_row_chunk
from .limits import check_time_limit

__all__ = ["check_backend", "check_compare_arguments", "check_names", "check_specification"]


def check_backend(backend: Any) -> None:
    """Refuse a ``backend`` that is neither a registered executor name nor an Executor."""
    if not isinstance(backend, Executor):
        check_choice(backend, "backend", available_executors())


def check_compare_arguments(
    X: Any,
    *,
    background: Any,
    y: Any,
    explainers: Any,
    metrics: Any,
    target: Any,
    feature_groups: Any,
    seed: Any,
    time_limit: Any,
    n_background: Any,
    exact_limit: Any,
    memory_limit: Any,
    row_chunk: Any,
    max_model_rows: Any = None,
    n_jobs: Any = 1,
    progress: Any = True,
    store: Any = None,
    resume: Any = False,
    backend: Any = "local",
    client: Any = None,
    force: Any = False,
) -> None:
    """Refuse any argument of ``compare`` that is wrong on its face (see the module notes).

    Raises
    ------
    InvalidTypeError
        An argument of the wrong type, an explainer or metric parameter that does not exist.
    InvalidInputError
        A value out of range, data with NaN/inf or of the wrong shape, groups that do not
        cover ``X``'s columns.
    UnknownNameError
        An explainer or metric name that is not registered.
    """
    check_int(seed, "seed", minimum=0)
    check_backend(backend)
    if client is not None and backend != "dask":
        raise InvalidInputError("client is used by backend='dask' only.")
    check_int(n_jobs, "n_jobs", minimum=1)
    check_time_limit(time_limit)  # any finite positive number (comparison.limits)
    check_int(memory_limit, "memory_limit", minimum=1, allow_none=True)
    check_int(max_model_rows, "max_model_rows", minimum=1, allow_none=True)
    check_int(n_background, "n_background", minimum=1)
    check_int(exact_limit, "exact_limit", minimum=0)
    for label, flag in (("progress", progress), ("resume", resume), ("force", force)):
        check_bool(flag, label)
    check_path(store, "store", allow_none=True)
    if resume and store is None:
        raise InvalidInputError("resume=True needs store=<path of the results file> to resume from.")
    check_row_chunk(row_chunk)
    check_specification(explainers, "explainers")
    check_specification(metrics, "metrics")
    # The data as data (the model's feature names and width are checked once it is wrapped).
    X_arr = check_matrix(X, min_rows=2)
    n_rows, n_columns = X_arr.shape
    if background is not None:
        check_matrix(background, name="background", n_features=n_columns)
    if target is not None:
        check_target(target, n_rows, None)
    check_groups(feature_groups, n_columns)
    if y is not None:
        _check_labels(y, n_rows)


def check_specification(spec: Any, name: str) -> None:
    """Check an ``explainers`` or ``metrics`` argument's shape, names and parameter names.

    Accepted: ``"default"``, one name, a sequence of names (or of Explainer/Metric objects),
    or a mapping of names to parameter mappings (or None), or of labels to objects.
    """
    from .. import explainers as explainer_registry
    from .. import metrics as metric_registry
    from ..explainers import Explainer

    registry = explainer_registry if name == "explainers" else metric_registry
    what = "explainer" if name == "explainers" else "metric"
    forms = f"'default', a {what} name, a list of names, or a mapping of names to parameters"
    if isinstance(spec, str):
        if spec != "default":
            registry.get_class(spec)
        return
    if isinstance(spec, Mapping):
        items = list(spec.items())
    elif isinstance(spec, (Sequence, np.ndarray)) and not isinstance(spec, (bytes, bytearray)):
        items = [(entry, None) for entry in spec]
    else:
        raise InvalidTypeError(f"{name} must be {forms}, got {shown(spec)}.")
    if not items:
        raise InvalidInputError(f"{name} is empty; name at least one {what} (or pass 'default').")
    for key, params in items:
        if isinstance(key, str):
            if isinstance(params, (Explainer, _metric_classes())):
                continue  # a label for a configured object
            cls = registry.get_class(key)
            if params is not None and not isinstance(params, Mapping):
                raise InvalidTypeError(f"The parameters of {what} {key!r} must be a mapping (dict), got {shown(params)}.")
            bad = [k for k in (params or {}) if not isinstance(k, str)]
            if bad:
                raise InvalidTypeError(f"Parameter names of {what} {key!r} must be strings, got {shown(bad[0])}.")
            check_params(cls, params or {}, f"{what.capitalize()} {key!r}")
        elif not isinstance(key, (Explainer, _metric_classes())) or params is not None:
            raise InvalidTypeError(f"{name} must be {forms}, or {what} objects; got an entry {shown(key)}.")
        elif name == "explainers" and not isinstance(key, Explainer):
            raise InvalidTypeError(f"explainers holds {shown(key)}, which is not an Explainer.")


def _metric_classes() -> tuple[type, ...]:
    from ..metrics import AgreementMetric, Metric

    return (Metric, AgreementMetric)


def _check_labels(y: Any, n_rows: int) -> None:
    try:
        y_arr = np.asarray(y)
    except (TypeError, ValueError):
        raise InvalidTypeError(f"y must be an array of labels, got {shown(y)}.") from None
    if isinstance(y, (str, bytes, Mapping)):
        raise InvalidTypeError(f"y must be an array of labels, got {shown(y)}.")
    if y_arr.ndim != 1 or y_arr.shape[0] != n_rows:
        raise InvalidInputError(f"y must have one label per row ({n_rows}), got shape {y_arr.shape}.")


def check_names(value: Any, name: str) -> tuple[str, ...]:
    """A sequence of names (``exclude=("random",)``) as a tuple of str.

    A single string is refused rather than read as its characters.
    """
    if isinstance(value, str):
        raise InvalidTypeError(f"{name} must be a sequence of names, not a single string: use ({value!r},).")
    if isinstance(value, (bytes, Mapping)) or not isinstance(value, (Sequence, set, frozenset, np.ndarray)):
        raise InvalidTypeError(f"{name} must be a sequence of names, got {shown(value)}.")
    bad = [v for v in value if not isinstance(v, str)]
    if bad:
        raise InvalidTypeError(f"{name} must hold names (str), got {shown(bad[0])}.")
    return tuple(value)
