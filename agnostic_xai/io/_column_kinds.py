"""What kind of column a table column is, and its values as the encoder reads them.

This module owns column typing: a column is boolean, numeric or categorical (dates and
other types are refused with the fix), and the helpers that read its values: categorical
levels as text, the most frequent value, and numeric values as checked float64.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
import pandas as pd

from ..exceptions import InvalidInputError

__all__ = ["column_kind", "is_boolean", "level_strings", "most_frequent", "numeric_values"]


def is_boolean(column: pd.Series) -> bool:
    """Whether ``column`` holds only True/False (a bool dtype, or objects that are all bools)."""
    if pd.api.types.is_bool_dtype(column.dtype):
        return True
    if column.dtype != object:
        return False
    present = column.dropna()
    return not present.empty and all(isinstance(v, (bool, np.bool_)) for v in present)


def column_kind(name: str, column: pd.Series) -> str:
    """``"boolean"``, ``"numeric"`` or ``"categorical"``; dates and other types are refused."""
    if is_boolean(column):
        return "boolean"
    if pd.api.types.is_numeric_dtype(column.dtype) and not pd.api.types.is_complex_dtype(column.dtype):
        return "numeric"
    if pd.api.types.is_datetime64_any_dtype(column.dtype) or pd.api.types.is_timedelta64_dtype(column.dtype):
        raise InvalidInputError(
            f"Column {name!r} holds dates or durations; convert it to numbers (e.g. days since a date) or leave it "
            "out with columns=."
        )
    if (
        pd.api.types.is_string_dtype(column.dtype)
        or isinstance(column.dtype, pd.CategoricalDtype)
        or column.dtype == object
    ):
        return "categorical"
    raise InvalidInputError(f"Column {name!r} has unsupported type {column.dtype}; convert it or leave it out.")


def level_strings(column: pd.Series) -> pd.Series:
    """A column's non-missing values as level strings."""
    return column.dropna().astype(object).map(str)


def most_frequent(values: pd.Series) -> Any:
    """The most frequent value; ties go to the smallest as text."""
    counts = values.value_counts(sort=False)
    top = counts.max()
    return min(counts.index[counts == top], key=str)


def numeric_values(name: str, column: pd.Series) -> np.ndarray:
    """``column`` as float64 (missing values NaN); text and infinite values are refused."""
    try:
        values = column.to_numpy(dtype=np.float64, na_value=np.nan)
    except (TypeError, ValueError):
        example = next((v for v in column if not isinstance(v, numbers.Real)), None)
        raise InvalidInputError(f"Column {name!r} should be numeric but holds {example!r}.") from None
    bad = ~np.isfinite(values) & ~np.isnan(values)
    if bad.any():
        rows = np.flatnonzero(bad)[:5].tolist()
        raise InvalidInputError(
            f"Column {name!r} has infinite values or numbers too large for float64 (rows {rows}); rescale or drop them."
        )
    return values
