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
"""

from __future__ import annotations

import csv
import gzip
import io
import numbers
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._checks import check_int
from .._validation import check_path
from ..exceptions import InvalidInputError
from ..groups import FeatureGroups

__all__ = ["IMPUTE_STRATEGIES", "Table", "TableEncoder", "encode_like", "load_table", "read_frame"]

#: Values of ``impute``: numeric columns get the mean, the median or the most frequent
#: value; categorical and boolean columns always get their most frequent level.
IMPUTE_STRATEGIES = ("mean", "median", "most_frequent")
#: Separator between a categorical column and its level in one-hot column names.
LEVEL_SEPARATOR = "="

_CSV_SUFFIXES = {".csv": ",", ".csv.gz": ",", ".tsv": "\t", ".tsv.gz": "\t"}
_PARQUET_SUFFIXES = (".parquet", ".pq")


# --------------------------------------------------------------------------- reading files
def _suffix(path: Path) -> str:
    name = path.name.lower()
    for suffix in (*_CSV_SUFFIXES, *_PARQUET_SUFFIXES):
        if name.endswith(suffix):
            return suffix
    return path.suffix.lower()


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
    suffix = _suffix(path)
    if suffix in _CSV_SUFFIXES:
        separator = _CSV_SUFFIXES[suffix] if sep is None else sep
        if not isinstance(separator, str) or len(separator) != 1 or separator in "\"\r\n":
            raise InvalidInputError(f"sep must be a single character other than a quote or newline, got {sep!r}.")
        text = _read_text(path, compressed=suffix.endswith(".gz"))
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
    elif suffix in _PARQUET_SUFFIXES:
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
            f"{path} has an unknown extension {suffix!r}; tables are read from .csv, .csv.gz, .tsv, .tsv.gz, "
            ".parquet or .pq files."
        )
    if frame.shape[1] == 0:
        raise InvalidInputError(f"{path} has no columns.")
    if frame.shape[0] == 0:
        raise InvalidInputError(f"{path} has a header but no rows; it needs at least one data row.")
    return frame.reset_index(drop=True)


# --------------------------------------------------------------------------- encoding
def _is_boolean(column: pd.Series) -> bool:
    if pd.api.types.is_bool_dtype(column.dtype):
        return True
    if column.dtype != object:
        return False
    present = column.dropna()
    return not present.empty and all(isinstance(v, (bool, np.bool_)) for v in present)


def _kind(name: str, column: pd.Series) -> str:
    if _is_boolean(column):
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


def _levels(column: pd.Series) -> pd.Series:
    """A column's non-missing values as level strings."""
    return column.dropna().astype(object).map(str)


def _most_frequent(values: pd.Series) -> Any:
    counts = values.value_counts(sort=False)
    top = counts.max()
    return min(counts.index[counts == top], key=str)


@dataclass(frozen=True, eq=False)
class Table:
    """An encoded table: features, target, feature groups and how they were made.

    Attributes
    ----------
    X : pandas.DataFrame
        Feature matrix, all columns float64; one-hot columns are named ``"<column>=<level>"``.
    y : ndarray or None
        The target column (removed from ``X``): as stored when numeric, integer class codes
        when it holds text (the labels are in :attr:`classes`). None without a target.
    groups : FeatureGroups
        One group per original column (a one-hot encoded column is one group).
    source_columns : tuple of str
        The original feature columns, in order (the group names).
    encoding : dict
        ``{categorical column: [levels]}``, in one-hot column order.
    classes : tuple or None
        Labels of the integer codes in ``y`` when the target holds text.
    target : str or None
        Name of the target column.
    encoder : TableEncoder
        The fitted encoder, to encode other files the same way (:func:`encode_like`).
    source : str or None
        Where the table was read from.
    """

    X: pd.DataFrame
    y: np.ndarray | None
    groups: FeatureGroups
    source_columns: tuple[str, ...]
    encoding: dict[str, list[str]]
    classes: tuple[Any, ...] | None
    target: str | None
    encoder: TableEncoder
    source: str | None = None

    @property
    def feature_names(self) -> tuple[str, ...]:
        """Names of the columns of :attr:`X`."""
        return tuple(self.X.columns)

    def __repr__(self) -> str:
        return (
            f"Table(source={self.source!r}, rows={self.X.shape[0]}, columns={self.X.shape[1]}, "
            f"groups={self.groups.n_groups}, target={self.target!r})"
        )


class TableEncoder:
    """Encode a raw table into float64 features, one feature group per original column.

    Parameters
    ----------
    target : str, optional
        Target column; it is removed from the features and encoded separately.
    columns : sequence of str, optional
        Feature columns to use, in this order; by default every column but the target.
    impute : {"mean", "median", "most_frequent"}, optional
        Fill missing feature values (numeric: that statistic; categorical and boolean: the
        most frequent level) with statistics learned in :meth:`fit`. By default missing
        values are an error naming the columns.
    max_levels : int, default=50
        Most levels a categorical column may have; more usually means an identifier.
    categories : mapping of str to sequence, optional
        Fixed levels for some categorical columns (e.g. those the model was trained on);
        other levels in the data are then an error.

    Attributes
    ----------
    source_columns_ : tuple of str
    kinds_ : dict
        ``{column: "numeric" | "boolean" | "categorical"}``.
    categories_ : dict
        ``{categorical column: tuple of levels}``.
    fill_values_ : dict
        Imputation value of every feature column (empty without ``impute``).
    classes_ : tuple or None
        Target labels when the target holds text.
    feature_names_out_ : tuple of str
    groups_ : FeatureGroups
    """

    def __init__(
        self,
        *,
        target: str | None = None,
        columns: Sequence[str] | None = None,
        impute: str | None = None,
        max_levels: int = 50,
        categories: Mapping[str, Sequence[Any]] | None = None,
    ) -> None:
        self.target = target
        self.columns = columns
        self.impute = impute
        self.max_levels = max_levels
        self.categories = categories

    # ------------------------------------------------------------------ fit
    def _check_params(self) -> None:
        if self.impute is not None and self.impute not in IMPUTE_STRATEGIES:
            raise InvalidInputError(f"impute must be one of {IMPUTE_STRATEGIES} or None, got {self.impute!r}.")
        check_int(self.max_levels, "max_levels", minimum=1)
        if self.columns is not None and isinstance(self.columns, str):
            raise InvalidInputError("columns must be a list of column names, not a single string.")

    def fit(self, frame: pd.DataFrame, *more: pd.DataFrame) -> TableEncoder:
        """Learn columns, kinds, levels, imputation values and target classes.

        Levels and statistics come from all the given frames together, so that a data file
        and its background share one encoding.
        """
        self._check_params()
        frames = [frame, *more]
        for f in frames:
            if not isinstance(f, pd.DataFrame):
                raise InvalidInputError(f"TableEncoder.fit takes pandas DataFrames, got {type(f).__name__}.")
        available = [str(c) for c in frame.columns]
        target = None if self.target is None else str(self.target)
        if target is not None and target not in available:
            raise InvalidInputError(f"Target column {target!r} is not in the table; its columns are {available}.")
        if self.columns is None:
            features = [c for c in available if c != target]
        else:
            features = [str(c) for c in self.columns]
            unknown = [c for c in features if c not in available]
            if unknown:
                raise InvalidInputError(f"columns {unknown} are not in the table; its columns are {available}.")
            if target is not None and target in features:
                raise InvalidInputError(f"The target {target!r} cannot also be a feature column; remove it from columns.")
            if len(set(features)) != len(features):
                raise InvalidInputError("columns names a column more than once.")
        if not features:
            raise InvalidInputError("The table has no feature columns besides the target.")
        for f in more:
            missing = [c for c in features if c not in f.columns]
            if missing:
                raise InvalidInputError(f"A table to fit on lacks the feature columns {missing}.")
        data = pd.concat([f[features] for f in frames], ignore_index=True) if more else frame[features]

        fixed = {str(k): tuple(str(v) for v in levels) for k, levels in (self.categories or {}).items()}
        unknown = [c for c in fixed if c not in features]
        if unknown:
            raise InvalidInputError(f"categories names columns {unknown} that are not feature columns.")
        kinds = {c: ("categorical" if c in fixed else _kind(c, data[c])) for c in features}

        if self.impute is None:
            self._check_missing(data, features)
        categories: dict[str, tuple[str, ...]] = {}
        fill: dict[str, Any] = {}
        for c in features:
            column = data[c]
            if kinds[c] == "categorical":
                levels = _levels(column)
                if c in fixed:
                    extra = sorted(set(levels) - set(fixed[c]))
                    if extra:
                        raise InvalidInputError(
                            f"Column {c!r} has levels {extra[:5]} that are not in its fixed categories."
                        )
                    categories[c] = fixed[c]
                else:
                    categories[c] = tuple(sorted(set(levels)))
                if len(categories[c]) > self.max_levels:
                    raise InvalidInputError(
                        f"Column {c!r} has {len(categories[c])} distinct values, more than max_levels="
                        f"{self.max_levels} for one-hot encoding; it looks like an identifier. Leave it out "
                        "(columns=...), encode it as numbers, or raise max_levels."
                    )
            if self.impute is not None:
                fill[c] = self._fill_value(c, column, kinds[c])
        self.source_columns_ = tuple(features)
        self.kinds_ = kinds
        self.categories_ = categories
        self.fill_values_ = fill
        self.target_ = target
        self.classes_ = self._fit_target(pd.concat([f[target] for f in frames if target in f.columns],
                                                   ignore_index=True)) if target is not None else None

        names: list[str] = []
        indices: list[tuple[int, ...]] = []
        for c in features:
            start = len(names)
            names.extend([f"{c}{LEVEL_SEPARATOR}{level}" for level in categories[c]] if c in categories else [c])
            indices.append(tuple(range(start, len(names))))
        clashes = sorted({n for n in names if names.count(n) > 1})
        if clashes:
            raise InvalidInputError(
                f"One-hot column names {clashes} clash with other columns (a column named '<column>"
                f"{LEVEL_SEPARATOR}<level>' already exists); rename those columns."
            )
        empty = [c for c, cols in zip(features, indices) if not cols]
        if empty:
            raise InvalidInputError(f"Categorical columns {empty} have no values; leave them out.")
        self.feature_names_out_ = tuple(names)
        self.groups_ = FeatureGroups(tuple(features), tuple(indices), tuple(names))
        return self

    def _check_missing(self, data: pd.DataFrame, features: Sequence[str]) -> None:
        counts = data[list(features)].isna().sum()
        missing = {str(c): int(n) for c, n in counts.items() if n > 0}
        if missing:
            raise InvalidInputError(
                f"Missing values in columns {missing} (column: count); drop those rows or columns, or pass "
                f"impute='mean', 'median' or 'most_frequent' (--impute)."
            )

    def _fill_value(self, name: str, column: pd.Series, kind: str) -> Any:
        present = column.dropna()
        if present.empty:
            raise InvalidInputError(f"Column {name!r} has no values to impute from; leave it out.")
        if kind == "categorical":
            return _most_frequent(_levels(column))
        if kind == "boolean":
            return bool(_most_frequent(present.astype(bool)))
        values = self._numeric(name, present)
        if self.impute == "mean":
            return float(values.mean())
        if self.impute == "median":
            return float(np.median(values))
        return float(_most_frequent(pd.Series(values)))

    def _fit_target(self, column: pd.Series) -> tuple[Any, ...] | None:
        name = self.target_
        if column.isna().any():
            raise InvalidInputError(
                f"Target column {name!r} has {int(column.isna().sum())} missing values; drop those rows "
                "(the target is never imputed)."
            )
        if _is_boolean(column) or (
            pd.api.types.is_numeric_dtype(column.dtype) and not pd.api.types.is_complex_dtype(column.dtype)
        ):
            return None
        return tuple(sorted(set(_levels(column))))

    # ------------------------------------------------------------------ transform
    def _check_fitted(self) -> None:
        if not hasattr(self, "feature_names_out_"):
            from ..exceptions import NotFittedError

            raise NotFittedError("This TableEncoder is not fitted yet; call fit(frame) first.")

    @staticmethod
    def _numeric(name: str, column: pd.Series) -> np.ndarray:
        try:
            values = column.to_numpy(dtype=np.float64, na_value=np.nan)
        except (TypeError, ValueError):
            example = next((v for v in column if not isinstance(v, numbers.Real)), None)
            raise InvalidInputError(f"Column {name!r} should be numeric but holds {example!r}.") from None
        bad = ~np.isfinite(values) & ~np.isnan(values)
        if bad.any():
            rows = np.flatnonzero(bad)[:5].tolist()
            raise InvalidInputError(
                f"Column {name!r} has infinite values or numbers too large for float64 (rows {rows}); rescale or "
                "drop them."
            )
        return values

    def transform(self, frame: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray | None]:
        """Encode a frame with the fitted columns and levels.

        Returns
        -------
        (X, y)
            ``X`` a float64 DataFrame with :attr:`feature_names_out_`; ``y`` the encoded
            target, or None when the frame has no target column.
        """
        self._check_fitted()
        if not isinstance(frame, pd.DataFrame):
            raise InvalidInputError(f"TableEncoder.transform takes a pandas DataFrame, got {type(frame).__name__}.")
        frame = frame.rename(columns=str)
        missing = [c for c in self.source_columns_ if c not in frame.columns]
        if missing:
            raise InvalidInputError(
                f"The table lacks the feature columns {missing}; it must have the columns the encoder was fitted "
                f"on: {list(self.source_columns_)}."
            )
        data = frame[list(self.source_columns_)]
        if self.fill_values_:
            data = data.copy()
            for c in self.source_columns_:
                if data[c].isna().any():
                    data[c] = data[c].astype(object).where(data[c].notna(), self.fill_values_[c])
        else:
            self._check_missing(data, self.source_columns_)

        n = len(data)
        blocks: list[np.ndarray] = []
        for c in self.source_columns_:
            column = data[c]
            kind = self.kinds_[c]
            if kind == "numeric":
                blocks.append(self._numeric(c, column)[:, None])
            elif kind == "boolean":
                if not _is_boolean(column):
                    example = next((v for v in column if not isinstance(v, (bool, np.bool_))), None)
                    raise InvalidInputError(f"Column {c!r} should hold True/False but holds {example!r}.")
                blocks.append(column.to_numpy(dtype=np.float64, na_value=np.nan)[:, None])
            else:
                levels = self.categories_[c]
                values = column.astype(object).map(str)
                codes = pd.Index(levels, dtype=object).get_indexer(values)
                unseen = sorted(set(values[codes < 0]))
                if unseen:
                    raise InvalidInputError(
                        f"Column {c!r} has levels {unseen[:5]} that the encoder was not fitted on; fit it on every "
                        "table together (TableEncoder(...).fit(data, background)) or fix the levels with categories=."
                    )
                onehot = np.zeros((n, len(levels)), dtype=np.float64)
                onehot[np.arange(n), codes] = 1.0
                blocks.append(onehot)
        X = pd.DataFrame(np.hstack(blocks), columns=list(self.feature_names_out_))
        return X, self._transform_target(frame)

    def _transform_target(self, frame: pd.DataFrame) -> np.ndarray | None:
        if self.target_ is None or self.target_ not in frame.columns:
            return None
        column = frame[self.target_]
        if column.isna().any():
            raise InvalidInputError(
                f"Target column {self.target_!r} has {int(column.isna().sum())} missing values; drop those rows."
            )
        if self.classes_ is None:
            if _is_boolean(column):
                return column.to_numpy(dtype=np.int64)
            try:
                y = column.to_numpy()
                np.asarray(y, dtype=np.float64)
            except (TypeError, ValueError):
                raise InvalidInputError(f"Target column {self.target_!r} should be numeric.") from None
            if not np.all(np.isfinite(np.asarray(y, dtype=np.float64))):
                raise InvalidInputError(f"Target column {self.target_!r} has infinite values.")
            return y
        values = column.astype(object).map(str)
        codes = pd.Index(self.classes_, dtype=object).get_indexer(values)
        unseen = sorted(set(values[codes < 0]))
        if unseen:
            raise InvalidInputError(f"Target column {self.target_!r} has labels {unseen[:5]} not seen when fitting.")
        return codes.astype(np.int64)

    def fit_transform(self, frame: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray | None]:
        """:meth:`fit` then :meth:`transform` on the same frame."""
        return self.fit(frame).transform(frame)

    @property
    def encoding(self) -> dict[str, list[str]]:
        """``{categorical column: [levels]}``."""
        self._check_fitted()
        return {c: list(levels) for c, levels in self.categories_.items()}

    def table(self, frame: pd.DataFrame, *, source: str | None = None) -> Table:
        """Encode ``frame`` into a :class:`Table`."""
        X, y = self.transform(frame)
        return Table(
            X=X,
            y=y,
            groups=self.groups_,
            source_columns=self.source_columns_,
            encoding=self.encoding,
            classes=self.classes_,
            target=self.target_,
            encoder=self,
            source=source,
        )


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
