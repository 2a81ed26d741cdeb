"""Input validation shared by every public entry point.

Everything that enters the library as data passes through :func:`check_matrix`, which
returns a read-only float64 view (or copy) of the caller's data: the caller's object is
never written to, and code downstream cannot write to it by accident either.

Arguments that are not data go through one helper per kind (:func:`check_int`,
:func:`check_float`, :func:`check_bool`, :func:`check_choice`, :func:`check_path`, ...),
defined in :mod:`agnostic_xai._checks` and re-exported here, so every entry point refuses a
wrong argument the same way: early, before any model call, with a project error that names
the argument and says what it accepts (:class:`~agnostic_xai.exceptions.InvalidTypeError`
for a wrong type, :class:`~agnostic_xai.exceptions.InvalidInputError` for a wrong value).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ._checks import (
    check_bool,
    check_callable,
    check_choice,
    check_float,
    check_int,
    check_mapping,
    check_params,
    check_path,
    check_str,
    is_tensor,
    shown,
)
from .exceptions import InvalidInputError, InvalidTypeError

__all__ = [
    "check_matrix",
    "check_target",
    "check_feature_names",
    "readonly",
    "is_tensor",
    "tensor_to_array",
    "shown",
    "check_int",
    "check_float",
    "check_bool",
    "check_choice",
    "check_str",
    "check_path",
    "check_mapping",
    "check_callable",
    "check_params",
]


def readonly(array: np.ndarray) -> np.ndarray:
    """Return a read-only view of ``array`` (the array itself is left writeable)."""
    view = array.view()
    view.flags.writeable = False
    return view


def check_feature_names(
    names: Sequence[Any] | None, n_features: int | None = None, *, name: str = "feature_names"
) -> tuple[str, ...] | None:
    """Validate feature names: strings, unique, and ``n_features`` of them when given.

    Numbers are accepted and turned into strings (DataFrame columns are often integers);
    anything that is not a sequence of names is a :class:`InvalidTypeError`.
    """
    if names is None:
        return None
    if isinstance(names, (str, bytes)):
        raise InvalidTypeError(f"{name} must be a sequence of strings, not a single string.")
    if isinstance(names, (Mapping, set, frozenset)) or not isinstance(names, Iterable) or is_tensor(names):
        # A set has no order, and the order of the names is the order of the columns.
        raise InvalidTypeError(f"{name} must be a sequence of strings, got {type(names).__name__}.")
    if isinstance(names, np.ndarray) and names.ndim != 1:
        raise InvalidTypeError(f"{name} must be a 1-D sequence of strings, got an array of shape {names.shape}.")
    names = list(names)
    bad = [n for n in names if not isinstance(n, (str, int, np.integer)) or isinstance(n, (bool, np.bool_))]
    if bad:
        raise InvalidTypeError(f"{name} must hold strings, got {shown(bad[0])}.")
    out = tuple(str(n) for n in names)
    label = "feature names" if name == "feature_names" else name
    if n_features is not None and len(out) != n_features:
        raise InvalidInputError(f"Expected {n_features} {label}, got {len(out)}.")
    seen: set[str] = set()
    duplicates = sorted({n for n in out if n in seen or seen.add(n)})  # type: ignore[func-returns-value]
    if duplicates:
        raise InvalidInputError(f"Duplicate {label}: {duplicates}. Names must be unique.")
    return out


def _frame_to_array(frame: pd.DataFrame, feature_names: tuple[str, ...] | None, name: str) -> np.ndarray:
    columns = [str(c) for c in frame.columns]
    if len(set(columns)) != len(columns):
        dup = sorted({c for c in columns if columns.count(c) > 1})
        raise InvalidInputError(f"{name} has duplicate column names {dup}; column names must be unique.")
    if feature_names is not None:
        missing = [c for c in feature_names if c not in columns]
        extra = [c for c in columns if c not in feature_names]
        if missing or extra:
            parts = []
            if missing:
                parts.append(f"missing columns {missing}")
            if extra:
                parts.append(f"unexpected columns {extra}")
            raise InvalidInputError(
                f"{name} does not match the model's features: {'; '.join(parts)}. "
                "DataFrames are matched to the features by column name."
            )
        if columns != list(feature_names):
            frame = frame.set_axis(columns, axis=1)[list(feature_names)]
    non_numeric = [
        str(c)
        for c, dtype in frame.dtypes.items()
        if not (pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype))
    ]
    if non_numeric:
        raise InvalidInputError(
            f"{name} has non-numeric columns {non_numeric}; encode them first "
            "(for example one-hot, with FeatureGroups.from_prefixes to keep them as one feature)."
        )
    try:
        return frame.to_numpy(dtype=np.float64, na_value=np.nan)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"{name} could not be converted to float64: {exc}") from None


def check_matrix(
    X: Any,
    *,
    name: str = "X",
    feature_names: Sequence[str] | None = None,
    n_features: int | None = None,
    min_rows: int = 1,
    allow_nonfinite: bool = False,
) -> np.ndarray:
    """Validate ``X`` and return it as a read-only, C-contiguous float64 ``(n, d)`` array.

    Parameters
    ----------
    X : array-like, pandas.DataFrame or torch.Tensor
        The data. A DataFrame is matched to ``feature_names`` by column name (a reordered
        frame is reordered back; a missing or extra column is an error).
    name : str
        How the argument is called in error messages.
    feature_names : sequence of str, optional
        Expected column names, used to align DataFrames.
    n_features : int, optional
        Expected number of columns.
    min_rows : int
        Minimum number of rows.
    allow_nonfinite : bool
        Accept NaN and infinite values.

    Returns
    -------
    numpy.ndarray
        Read-only float64 array of shape ``(n, d)``; the caller's object is never modified.

    Raises
    ------
    InvalidInputError
        For wrong types, shapes, column names, non-numeric or non-finite values.
    """
    if X is None:
        raise InvalidInputError(f"{name} is None; expected a 2-D array or DataFrame.")
    if isinstance(X, pd.Series):
        raise InvalidInputError(f"{name} is a pandas Series; pass a DataFrame (use X.to_frame().T for one row).")
    if isinstance(X, pd.DataFrame):
        array = _frame_to_array(X, tuple(feature_names) if feature_names is not None else None, name)
    elif is_tensor(X):
        array = tensor_to_array(X, name)
    else:
        if isinstance(X, (str, bytes, dict)):
            raise InvalidInputError(f"{name} must be a 2-D numeric array, got {type(X).__name__}.")
        try:
            array = np.asarray(X)
        except (TypeError, ValueError) as exc:
            raise InvalidInputError(f"{name} could not be read as an array: {exc}") from None
    if array.dtype == object or not (
        np.issubdtype(array.dtype, np.number) or np.issubdtype(array.dtype, np.bool_)
    ):
        raise InvalidInputError(f"{name} must be numeric, got dtype {array.dtype}.")
    if np.iscomplexobj(array):
        raise InvalidInputError(f"{name} must be real-valued, got dtype {array.dtype}.")
    if array.ndim != 2:
        hint = " Use X.reshape(1, -1) for a single row." if array.ndim == 1 else ""
        raise InvalidInputError(f"{name} must be 2-D (rows x features), got shape {array.shape}.{hint}")
    n, d = array.shape
    if d == 0:
        raise InvalidInputError(f"{name} has no columns.")
    if n < min_rows:
        raise InvalidInputError(f"{name} has {n} rows; at least {min_rows} needed.")
    if n_features is not None and d != n_features:
        raise InvalidInputError(f"{name} has {d} columns but the model takes {n_features} features.")
    array = np.ascontiguousarray(array, dtype=np.float64)
    if not allow_nonfinite and not np.isfinite(array).all():
        bad_cols = np.flatnonzero(~np.isfinite(array).all(axis=0))
        labels = [feature_names[i] for i in bad_cols] if feature_names is not None else bad_cols.tolist()
        raise InvalidInputError(
            f"{name} contains NaN or infinite values in columns {labels[:10]}; impute or drop them first."
        )
    return readonly(array)


def tensor_to_array(X: Any, name: str) -> np.ndarray:
    """A torch tensor's values as numpy, on the CPU.

    Half-precision types numpy does not have (``bfloat16``) are widened to float32 first,
    which is exact; layouts numpy cannot hold (sparse, quantized) are refused.
    """
    import torch

    tensor = X.detach()
    if tensor.layout != torch.strided or tensor.is_quantized:
        raise InvalidTypeError(f"{name} is a {tensor.layout} tensor; pass a dense tensor (X.to_dense()).")
    tensor = tensor.cpu()
    if tensor.dtype == torch.bfloat16:
        tensor = tensor.to(torch.float32)
    try:
        return tensor.numpy()
    except (TypeError, RuntimeError) as exc:
        raise InvalidTypeError(f"{name} is a tensor of dtype {tensor.dtype} that cannot be read: {exc}") from None


def check_target(target: Any, n_rows: int, n_outputs: int | None) -> np.ndarray:
    """Validate an explicit target (an int or one int per row) and return ``(n,)`` int64.

    With ``n_outputs=None`` (the model's outputs are not known yet) everything but the
    upper bound is checked, so that a bad target is refused before the model is called.

    Raises
    ------
    InvalidInputError
        When the target is not integral, has the wrong length or is out of range
        (:class:`InvalidTypeError` when it is not numbers at all).
    """
    if isinstance(target, (str, bytes, Mapping, set)) or target is None:
        raise InvalidTypeError(f"target must be an int or one int per row, got {shown(target)}.")
    if is_tensor(target):
        target = tensor_to_array(target, "target")
    try:
        array = np.asarray(target)
    except (TypeError, ValueError):
        raise InvalidTypeError(f"target must be an int or one int per row, got {shown(target)}.") from None
    if array.dtype == np.bool_ or array.dtype == object or not (
        np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)
    ):
        raise InvalidTypeError(f"target must be an int or an array of ints, got {shown(target)}.")
    if np.issubdtype(array.dtype, np.floating):
        if not np.all(np.isfinite(array)) or not np.all(array == np.round(array)):
            raise InvalidInputError("target must hold whole numbers (output indices).")
    array = array.astype(np.int64)
    if array.ndim == 0:
        array = np.full(n_rows, int(array), dtype=np.int64)
    elif array.ndim != 1 or array.shape[0] != n_rows:
        raise InvalidInputError(f"target must be an int or have one entry per row ({n_rows}), got shape {array.shape}.")
    if array.size and array.min() < 0:
        raise InvalidInputError(f"target must hold output indices >= 0, got {array.min()}.")
    if array.size and n_outputs is not None and array.max() >= n_outputs:
        raise InvalidInputError(
            f"target out of range: the model has {n_outputs} outputs (valid indices 0..{n_outputs - 1}), "
            f"got values in [{array.min()}, {array.max()}]."
        )
    return array
