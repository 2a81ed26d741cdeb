"""Which table format a path names: CSV (its separator, gzip or not) or Parquet.

This module owns the file-name conventions of the table readers: the suffixes read as CSV
(with their default field separator) and as Parquet, and :func:`sniff_format`, the one
function that maps a path to its format. Nothing is read from the file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["CSV_SUFFIXES", "PARQUET_SUFFIXES", "TableFormat", "sniff_format", "table_suffix"]

#: CSV suffixes and the field separator each implies.
CSV_SUFFIXES = {".csv": ",", ".csv.gz": ",", ".tsv": "\t", ".tsv.gz": "\t"}
#: Suffixes of Parquet files.
PARQUET_SUFFIXES = (".parquet", ".pq")


@dataclass(frozen=True)
class TableFormat:
    """The format of a table file.

    Attributes
    ----------
    kind : {"csv", "parquet"}
    suffix : str
        The suffix that decided it (lower case, e.g. ``".tsv.gz"``); ``""`` for a directory.
    sep : str or None
        The default field separator of a CSV file (``","``, or ``"\\t"`` for ``.tsv``); None
        for Parquet.
    compressed : bool
        Whether the file is gzip-compressed (``.csv.gz``, ``.tsv.gz``).
    """

    kind: str
    suffix: str
    sep: str | None = None
    compressed: bool = False


def table_suffix(path: str | os.PathLike[str]) -> str:
    """The table suffix ``path`` ends with (lower case), else its last suffix."""
    path = Path(path)
    name = path.name.lower()
    for suffix in (*CSV_SUFFIXES, *PARQUET_SUFFIXES):
        if name.endswith(suffix):
            return suffix
    return path.suffix.lower()


def sniff_format(path: str | os.PathLike[str]) -> TableFormat | None:
    """The table format ``path`` names, from its name alone (None when it names none).

    A directory is a Parquet dataset (a folder of ``.parquet`` files); a file is CSV or
    Parquet by its suffix (:data:`CSV_SUFFIXES`, :data:`PARQUET_SUFFIXES`, case-insensitive).
    The file's content is not read: whether it exists is for the caller to check.

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    TableFormat or None
        None for a suffix that is neither CSV nor Parquet.

    Examples
    --------
    >>> sniff_format("rows.tsv.gz")
    TableFormat(kind='csv', suffix='.tsv.gz', sep='\\t', compressed=True)
    >>> sniff_format("rows.PQ").kind
    'parquet'
    >>> sniff_format("rows.xlsx") is None
    True
    """
    path = Path(path)
    if path.is_dir():
        return TableFormat("parquet", "")
    suffix = table_suffix(path)
    if suffix in CSV_SUFFIXES:
        return TableFormat("csv", suffix, CSV_SUFFIXES[suffix], suffix.endswith(".gz"))
    if suffix in PARQUET_SUFFIXES:
        return TableFormat("parquet", suffix)
    return None
