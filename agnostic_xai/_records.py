"""Checks of the fields of an :class:`~agnostic_xai.Attribution` and of row selections.

The record is built by explainers and by users (from their own arrays, or read back from a
file), so every field is checked for its kind before numpy converts it: numpy's own
conversion errors, and its silent ones (a complex array losing its imaginary part), would
otherwise reach the caller.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ._validation import is_tensor, shown
from .exceptions import InvalidInputError, InvalidTypeError, RowIndexError

__all__ = ["frozen_array", "row_index"]


def frozen_array(value: Any, dtype: Any, name: str, ndim: int) -> np.ndarray:
    """A read-only copy of ``value`` as ``dtype``; text, objects and complex numbers are refused.

    ``np.array(value, dtype)`` alone would raise numpy's own errors, or silently drop the
    imaginary part of a complex array.
    """
    if value is None or isinstance(value, (str, bytes, Mapping)):
        raise InvalidTypeError(f"Attribution.{name} must be a {ndim}-D numeric array, got {shown(value)}.")
    if is_tensor(value):  # its values, on the CPU (bfloat16, which numpy lacks, widened exactly)
        tensor = value.detach().cpu()
        value = (tensor.float() if str(tensor.dtype) == "torch.bfloat16" else tensor).numpy()
    try:
        source = np.asarray(value)
    except (TypeError, ValueError):
        raise InvalidTypeError(f"Attribution.{name} must be a {ndim}-D numeric array, got {shown(value)}.") from None
    if source.dtype == object or not (np.issubdtype(source.dtype, np.number) or source.dtype == np.bool_):
        raise InvalidTypeError(f"Attribution.{name} must be numeric, got dtype {source.dtype}.")
    if np.iscomplexobj(source):
        raise InvalidTypeError(f"Attribution.{name} must be real-valued, got dtype {source.dtype}.")
    if np.dtype(dtype).kind == "i" and source.dtype.kind == "f" and not (
        np.isfinite(source).all() and (source == np.round(source)).all()
    ):
        raise InvalidInputError(f"Attribution.{name} must hold whole numbers (output indices).")
    array = np.array(source, dtype=dtype, copy=True)
    if array.ndim != ndim:
        raise InvalidInputError(f"Attribution.{name} must be {ndim}-D, got shape {array.shape}.")
    array.flags.writeable = False
    return array


def _is_int_tensor(obj: Any) -> bool:
    return is_tensor(obj) and not obj.is_floating_point() and not obj.is_complex() and obj.ndim == 1


def row_index(rows: Any, n_rows: int) -> np.ndarray:
    """Positions selected by ``rows`` (an int, a slice, an index array or a boolean mask).

    Raises
    ------
    InvalidTypeError
        For anything else (a float, a string, a 2-D index).
    RowIndexError
        For a row past the end (an ``IndexError``, so ``for row in record`` stops).
    """
    if isinstance(rows, (bool, np.bool_)) or not (
        isinstance(rows, (int, np.integer, slice)) or isinstance(rows, (list, np.ndarray)) or _is_int_tensor(rows)
    ):
        raise InvalidTypeError(f"Rows are selected by an int, a slice, an index array or a mask, got {shown(rows)}.")
    if isinstance(rows, list):
        ints = all(isinstance(r, (int, np.integer)) and not isinstance(r, (bool, np.bool_)) for r in rows)
        if not (ints or all(isinstance(r, (bool, np.bool_)) for r in rows)):
            raise InvalidTypeError(f"A list of rows must hold ints or booleans, got {shown(rows)}.")
        if ints and any(not -n_rows <= int(r) < n_rows for r in rows):
            raise RowIndexError(f"Row index {shown(rows)} is out of range for {n_rows} rows.")
        rows = np.asarray(rows, dtype=np.int64 if ints else bool)
    elif _is_int_tensor(rows):
        rows = rows.cpu().numpy()
    elif isinstance(rows, (int, np.integer)) and not -n_rows <= int(rows) < n_rows:
        raise RowIndexError(f"Row index {rows} is out of range for {n_rows} rows.")
    if isinstance(rows, np.ndarray) and (rows.ndim != 1 or not (rows.dtype == np.bool_ or rows.dtype.kind in "iu")):
        if not (rows.size == 0 and rows.ndim == 1):
            raise InvalidTypeError(f"Rows are selected by a 1-D int or boolean array, got {rows.dtype} {rows.shape}.")
        rows = rows.astype(np.int64)
    if isinstance(rows, np.ndarray) and rows.dtype == np.bool_ and rows.shape[0] != n_rows:
        raise InvalidInputError(f"A boolean row mask needs {n_rows} entries, got {rows.shape[0]}.")
    try:
        index = np.arange(n_rows)[rows]
    except IndexError:
        raise RowIndexError(f"Row index {shown(rows)} is out of range for {n_rows} rows.") from None
    return np.atleast_1d(index)
