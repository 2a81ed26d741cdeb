"""Read a CSV or Parquet file into a checked, unencoded DataFrame.

This module owns reading a table file and the checks made on the way (one clear error per
problem, naming the fix): the file exists and is UTF-8 (CSV), its column names are unique
and non-empty, its rows are as wide as the header, and it has at least one row. Integers
too large for int64 become float64. Encoding the frame is :mod:`agnostic_xai.io._encoder`'s.
"""

from __future__ import annotations

import csv
import gzip
import io
import numbers
import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from .._validation import check_path
from ..exceptions import InvalidInputError
from ._formats import sniff_format, table_suffix

__all__ = ["read_frame"]


def _read_text(path: Path, compressed: bool) -> str:
    try:
        raw = gzip.decompress(path.read_bytes()) if compressed else path.read_bytes()
    except (OSError, EOFError, zlib.error) as exc:
        raise InvalidInputError(f"{path} is not a valid gzip file ({exc}); re-compress it or save it as .csv.") from exc
    if not raw.strip():
        raise InvalidInputError(f"{path} is empty; it needs a header row and at least one data row.")
    try:
        return raw.decode("utf-8-sig")  # a leading byte-order mark is allowed and dropped
    except UnicodeDecodeError as exc:
        raise InvalidInputError(
            f"{path} is not UTF-8 text (byte 0x{raw[exc.start]:02x} at position {exc.start}); the expected "
            "encoding is UTF-8: re-save the file as UTF-8 (for example `iconv -f latin1 -t utf-8`)."
        ) from None


def _check_csv_shape(path: Path, text: str, sep: str) -> list[str]:
    """The header, after checking names and that every row has as many fields as the header."""
    header: list[str] | None = None
    try:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep)
        for row in reader:
            if not row or (len(row) == 1 and not row[0].strip()):
                continue  # blank lines are skipped, as pandas does
            if header is None:
                header = row
                continue
            if len(row) != len(header):
                raise InvalidInputError(
                    f"{path} has ragged rows: line {reader.line_num} has {len(row)} field(s) but the header has "
                    f"{len(header)}; fix that line (a missing or extra separator, or an unquoted {sep!r})."
                )
    except csv.Error as exc:
        raise InvalidInputError(f"{path} could not be parsed as CSV ({exc}).") from exc
    if header is None:
        raise InvalidInputError(f"{path} is empty; it needs a header row and at least one data row.")
    _check_names(path, header)
    return header


def _check_names(path: Path, names: Sequence[str]) -> None:
    """Refuse unnamed and duplicate column names, naming ``path`` in the error."""
    unnamed = [i + 1 for i, n in enumerate(names) if not str(n).strip()]
    if unnamed:
        raise InvalidInputError(
            f"{path}: column(s) {unnamed} have no name (often an index written by DataFrame.to_csv); name them "
            "or re-save the file with index=False."
        )
    seen: set[str] = set()
    duplicates = sorted({n for n in names if n in seen or seen.add(n)})  # type: ignore[func-returns-value]
    if duplicates:
        raise InvalidInputError(f"{path} has duplicate column names {duplicates}; rename them so each is unique.")


def _numeric_objects(frame: pd.DataFrame, path: Path) -> pd.DataFrame:
    """Turn object columns that hold only numbers (integers too large for int64) into float64."""
    for name in frame.columns:
        column = frame[name]
        if column.dtype != object:
            continue
        present = column.dropna()
        if present.empty or not all(
            isinstance(v, numbers.Real) and not isinstance(v, (bool, np.bool_)) for v in present
        ):
            continue
        try:
            frame[name] = column.astype(np.float64)
        except OverflowError:
            raise InvalidInputError(
                f"{path}: column {name!r} holds numbers too large for float64; rescale it or drop it."
            ) from None
    return frame


def read_frame(path: str | Path, *, sep: str | None = None) -> pd.DataFrame:
    """Read a CSV (``.csv``, ``.csv.gz``, ``.tsv``, ``.tsv.gz``) or Parquet (``.parquet``, ``.pq``) file.

    The file is checked on the way: it must exist, be UTF-8 (CSV), have unique, non-empty
    column names, rows as wide as the header, and at least one row. Nothing is encoded.

    Parameters
    ----------
    path : str or Path
        The file.
    sep : str, optional
        CSV field separator; ``","`` (``"\\t"`` for ``.tsv``) by default.

    Returns
    -------
    pandas.DataFrame
        With string column names and a fresh ``RangeIndex``.

    Raises
    ------
    InvalidInputError
        One clear sentence per problem, naming the fix.
    """
    path = Path(check_path(path, "path"))
    if not path.exists():
        raise InvalidInputError(f"Table file {str(path)!r} does not exist; check the path.")
    if not path.is_file():
        raise InvalidInputError(f"Table path {str(path)!r} is not a file.")
    found = sniff_format(path)
    if found is not None and found.kind == "csv":
        separator = found.sep if sep is None else sep
        if not isinstance(separator, str) or len(separator) != 1 or separator in '"\r\n':
            raise InvalidInputError(f"sep must be a single character other than a quote or newline, got {sep!r}.")
        text = _read_text(path, compressed=found.compressed)
        header = _check_csv_shape(path, text, separator)
        try:
            frame = pd.read_csv(
                io.StringIO(text, newline=""), sep=separator, index_col=False, low_memory=False, engine="c"
            )
        except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError, OverflowError, csv.Error) as exc:
            raise InvalidInputError(f"{path} could not be parsed as CSV ({exc}).") from exc
        if [str(c) for c in frame.columns] != header:
            raise InvalidInputError(f"{path} could not be parsed as CSV (its header was read inconsistently).")
        frame = _numeric_objects(frame, path)
    elif found is not None and found.kind == "parquet":
        if sep is not None:
            raise InvalidInputError("sep applies to CSV files only.")
        if path.stat().st_size == 0:
            raise InvalidInputError(f"{path} is empty.")
        try:
            frame = pd.read_parquet(path)
        except ImportError as exc:
            raise InvalidInputError(f"Reading {path} needs pyarrow: pip install pyarrow.") from exc
        except Exception as exc:
            raise InvalidInputError(f"{path} could not be read as Parquet ({type(exc).__name__}: {exc}).") from exc
        frame.columns = [str(c) for c in frame.columns]
        _check_names(path, list(frame.columns))
    else:
        raise InvalidInputError(
            f"{path} has an unknown extension {table_suffix(path)!r}; tables are read from .csv, .csv.gz, .tsv, "
            ".tsv.gz, .parquet or .pq files."
        )
    if frame.shape[1] == 0:
        raise InvalidInputError(f"{path} has no columns.")
    if frame.shape[0] == 0:
        raise InvalidInputError(f"{path} has a header but no rows; it needs at least one data row.")
    return frame.reset_index(drop=True)
