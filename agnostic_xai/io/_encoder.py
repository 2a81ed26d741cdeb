"""The table encoder: raw columns to float64 features, one feature group per column.

This module owns :class:`TableEncoder` (fit the columns, kinds, levels, imputation values
and target classes; transform a frame with them) and the :class:`Table` it produces. How a
column is typed is :mod:`agnostic_xai.io._column_kinds`'s; reading files is
:mod:`agnostic_xai.io._frames`'s.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..exceptions import InvalidInputError, NotFittedError
from ..groups import FeatureGroups
from ._column_kinds import column_kind, is_boolean, level_strings, most_frequent, numeric_values

__all__ = ["IMPUTE_STRATEGIES", "LEVEL_SEPARATOR", "Table", "TableEncoder"]

#: Values of ``impute``: numeric columns get the mean, the median or the most frequent
#: value; categorical and boolean columns always get their most frequent level.
IMPUTE_STRATEGIES = ("mean", "median", "most_frequent")
#: Separator between a categorical column and its level in one-hot column names.
LEVEL_SEPARATOR = "="


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
        if (
            isinstance(self.max_levels, bool)
            or not isinstance(self.max_levels, (int, np.integer))
            or self.max_levels < 1
        ):
            raise InvalidInputError(f"max_levels must be a positive int, got {self.max_levels!r}.")
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
                raise InvalidInputError(
                    f"The target {target!r} cannot also be a feature column; remove it from columns."
                )
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
        kinds = {c: ("categorical" if c in fixed else column_kind(c, data[c])) for c in features}

        if self.impute is None:
            self._check_missing(data, features)
        categories: dict[str, tuple[str, ...]] = {}
        fill: dict[str, Any] = {}
        for c in features:
            column = data[c]
            if kinds[c] == "categorical":
                levels = level_strings(column)
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
        self.classes_ = (
            self._fit_target(pd.concat([f[target] for f in frames if target in f.columns], ignore_index=True))
            if target is not None
            else None
        )

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
            return most_frequent(level_strings(column))
        if kind == "boolean":
            return bool(most_frequent(present.astype(bool)))
        values = numeric_values(name, present)
        if self.impute == "mean":
            return float(values.mean())
        if self.impute == "median":
            return float(np.median(values))
        return float(most_frequent(pd.Series(values)))

    def _fit_target(self, column: pd.Series) -> tuple[Any, ...] | None:
        name = self.target_
        if column.isna().any():
            raise InvalidInputError(
                f"Target column {name!r} has {int(column.isna().sum())} missing values; drop those rows "
                "(the target is never imputed)."
            )
        if is_boolean(column) or (
            pd.api.types.is_numeric_dtype(column.dtype) and not pd.api.types.is_complex_dtype(column.dtype)
        ):
            return None
        return tuple(sorted(set(level_strings(column))))

    # ------------------------------------------------------------------ transform
    def _check_fitted(self) -> None:
        if not hasattr(self, "feature_names_out_"):
            raise NotFittedError("This TableEncoder is not fitted yet; call fit(frame) first.")

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
                blocks.append(numeric_values(c, column)[:, None])
            elif kind == "boolean":
                if not is_boolean(column):
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
            if is_boolean(column):
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
