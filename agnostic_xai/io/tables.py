"""Read a CSV or Parquet table into the float64 feature matrix a model takes.

:func:`load_table` reads a file, checks it (one clear error per problem, naming the fix)
and encodes it with a :class:`TableEncoder`:

* numeric columns are kept as float64;
* boolean columns become 0/1;
* text and categorical columns are one-hot encoded into columns named
  ``"<column>=<level>"``, and the columns made from one original column form ONE feature
  group named after it, so explanations speak of the original columns;
* missing values are an error unless an imputation strategy is given;
* the target column, when named, is removed from the features and returned as ``y``.

The fitted encoder travels with the :class:`Table`, so a second file (the background, or
new rows) is encoded with exactly the same columns: ``load_table(path, like=table)`` or
:func:`encode_like`. When the two files hold different levels of a categorical column,
fit the encoder on both (``TableEncoder(...).fit(data, background)``) or fix the levels
with ``categories=``.

This module owns the file-to-:class:`Table` entry points (:func:`load_table`,
:func:`encode_like`) and is the public home of the table names. The parts live in
private siblings, each owning one thing: ``_formats`` (which format a path names),
``_frames`` (reading and checking a file), ``_column_kinds`` (column typing) and
``_encoder`` (:class:`TableEncoder` and :class:`Table`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from .._validation import check_path
from ..exceptions import InvalidInputError
from ._encoder import IMPUTE_STRATEGIES, LEVEL_SEPARATOR, Table, TableEncoder
from ._frames import read_frame

__all__ = ["IMPUTE_STRATEGIES", "LEVEL_SEPARATOR", "Table", "TableEncoder", "encode_like", "load_table", "read_frame"]


def _prefixed(path: Path, exc: InvalidInputError) -> InvalidInputError:
    """The same error with the file named, unless the message already names it."""
    message = str(exc)
    return exc if message.startswith(str(path)) else type(exc)(f"{path}: {message}")


def load_table(
    path: str | Path,
    *,
    target: str | None = None,
    columns: Sequence[str] | None = None,
    impute: str | None = None,
    sep: str | None = None,
    max_levels: int = 50,
    like: Table | None = None,
) -> Table:
    """Read and encode a table file.

    Parameters
    ----------
    path : str or Path
        A ``.csv``, ``.csv.gz``, ``.tsv``, ``.tsv.gz``, ``.parquet`` or ``.pq`` file.
    target : str, optional
        Target column: removed from the features, returned as ``y``.
    columns : sequence of str, optional
        Feature columns to use (default: all but the target).
    impute : {"mean", "median", "most_frequent"}, optional
        Fill missing feature values; by default they are an error naming the columns.
    sep : str, optional
        CSV separator.
    max_levels : int, default=50
        Most levels of a one-hot encoded column.
    like : Table, optional
        Encode this file exactly like ``like`` (same columns, levels, imputation values,
        target classes), e.g. a background file like the data. The encoding arguments
        must then be left at their defaults.

    Returns
    -------
    Table

    Raises
    ------
    InvalidInputError
        For every problem with the file or the arguments, naming the file and the fix.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "t.csv"
    >>> _ = path.write_text("age,city,y\\n30,Rome,1\\n40,Oslo,0\\n")
    >>> table = load_table(path, target="y")
    >>> table.feature_names
    ('age', 'city=Oslo', 'city=Rome')
    >>> table.groups.names
    ('age', 'city')
    """
    path = Path(check_path(path, "path"))
    if like is not None:
        if not isinstance(like, Table):
            raise InvalidInputError(f"like must be a Table from load_table, got {type(like).__name__}.")
        changed = [k for k, v in {"target": target, "columns": columns, "impute": impute}.items() if v is not None]
        if changed or max_levels != 50:
            raise InvalidInputError(
                f"like= encodes the file exactly like another table; {changed or ['max_levels']} cannot be changed."
            )
    frame = read_frame(path, sep=sep)
    try:
        if like is not None:
            return like.encoder.table(frame, source=str(path))
        encoder = TableEncoder(target=target, columns=columns, impute=impute, max_levels=max_levels)
        return encoder.fit(frame).table(frame, source=str(path))
    except InvalidInputError as exc:
        raise _prefixed(path, exc) from None


def encode_like(frame: pd.DataFrame, table: Table) -> Table:
    """Encode a DataFrame exactly like ``table`` (same columns, levels and imputation)."""
    if not isinstance(table, Table):
        raise InvalidInputError(f"encode_like needs a Table from load_table, got {type(table).__name__}.")
    return table.encoder.table(frame)
