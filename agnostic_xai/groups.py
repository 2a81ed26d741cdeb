"""Feature groups: columns that a person reads as one feature.

A one-hot encoded categorical is one feature to a person, and the 30 columns of the
breast-cancer table are 10 measurements taken three ways. :class:`FeatureGroups`
partitions the model's columns into named groups; explainers then give one value per
group and removal-based methods remove a group's columns together.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._validation import check_callable, check_feature_names, check_mapping, check_str, shown
from .exceptions import InvalidInputError, InvalidTypeError

__all__ = ["FeatureGroups", "check_groups"]


@dataclass(frozen=True)
class FeatureGroups:
    """A partition of the model's columns into named groups.

    Parameters
    ----------
    names : tuple of str
        Group names, in order.
    indices : tuple of tuple of int
        Column indices of each group. Every column belongs to exactly one group.
    feature_names : tuple of str
        Names of the model's columns.

    Examples
    --------
    >>> g = FeatureGroups.from_prefixes(["age", "purpose_car", "purpose_tv", "income"])
    >>> g.names
    ('age', 'purpose', 'income')
    >>> g.indices
    ((0,), (1, 2), (3,))
    """

    names: tuple[str, ...]
    indices: tuple[tuple[int, ...], ...]
    feature_names: tuple[str, ...]
    _matrix: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        names = check_feature_names(_required(self.names, "names"), name="group names")
        feature_names = check_feature_names(_required(self.feature_names, "feature_names"))
        assert names is not None and feature_names is not None
        indices = _check_indices(self.indices)
        if len(indices) != len(names):
            raise InvalidInputError(f"{len(names)} group names but {len(indices)} index lists.")
        d = len(feature_names)
        membership = np.zeros((len(names), d), dtype=bool)
        for g, (name, cols) in enumerate(zip(names, indices)):
            if not cols:
                raise InvalidInputError(f"Feature group {name!r} is empty.")
            for c in cols:
                if not 0 <= c < d:
                    raise InvalidInputError(f"Feature group {name!r} names column {c}, but there are {d} columns.")
                if membership[:, c].any():
                    raise InvalidInputError(f"Column {feature_names[c]!r} is in more than one feature group.")
                membership[g, c] = True
        orphans = [feature_names[c] for c in np.flatnonzero(~membership.any(axis=0))]
        if orphans:
            raise InvalidInputError(f"Columns {orphans} belong to no feature group; every column needs one.")
        membership.flags.writeable = False
        object.__setattr__(self, "names", names)
        object.__setattr__(self, "feature_names", feature_names)
        object.__setattr__(self, "indices", indices)
        object.__setattr__(self, "_matrix", membership)

    # ------------------------------------------------------------------ constructors
    @classmethod
    def identity(cls, feature_names: Sequence[str]) -> FeatureGroups:
        """One group per column."""
        names = _column_names(feature_names)
        return cls(names, tuple((i,) for i in range(len(names))), names)

    @classmethod
    def from_dict(cls, groups: Mapping[str, Sequence[str | int]], feature_names: Sequence[str]) -> FeatureGroups:
        """Build from ``{group name: [column names or indices]}``.

        Columns not named in ``groups`` become groups of their own, so a mapping needs to
        list only the multi-column groups.

        Raises
        ------
        InvalidTypeError
            ``groups`` is not a mapping, or a group is not a list of column names or indices.
        InvalidInputError
            A group that is empty or names a column that does not exist.
        """
        check_mapping(groups, "groups")
        feature_names = _column_names(feature_names)
        position = {n: i for i, n in enumerate(feature_names)}
        names: list[str] = []
        indices: list[tuple[int, ...]] = []
        for name, cols in groups.items():
            if not isinstance(name, (str, int, np.integer)) or isinstance(name, bool):
                raise InvalidTypeError(f"Feature group names must be strings, got {shown(name)}.")
            if (
                isinstance(cols, (str, bytes, Mapping))
                or not isinstance(cols, Iterable)
                or getattr(cols, "ndim", 1) != 1
            ):
                raise InvalidTypeError(
                    f"Feature group {name!r} must be a list of column names or indices, got {shown(cols)}."
                )
            cols = list(cols)
            if len(cols) == 0:
                raise InvalidInputError(f"Feature group {name!r} is empty; list at least one column.")
            resolved = []
            for c in cols:
                if isinstance(c, (int, np.integer)) and not isinstance(c, (bool, np.bool_)):
                    if not 0 <= int(c) < len(feature_names):
                        raise InvalidInputError(
                            f"Feature group {name!r} names column {int(c)}, but there are {len(feature_names)} columns."
                        )
                    resolved.append(int(c))
                elif isinstance(c, str) and c in position:
                    resolved.append(position[c])
                elif isinstance(c, str):
                    raise InvalidInputError(f"Feature group {name!r} names unknown column {shown(c)}.")
                else:
                    raise InvalidTypeError(
                        f"Feature group {name!r} holds {shown(c)}; columns are given by name (str) or index (int)."
                    )
            names.append(str(name))
            indices.append(tuple(resolved))
        used = {i for cols in indices for i in cols}
        for i, n in enumerate(feature_names):
            if i not in used:
                names.append(n)
                indices.append((i,))
        order = np.argsort([min(cols) for cols in indices], kind="stable")
        return cls(tuple(names[i] for i in order), tuple(indices[i] for i in order), feature_names)

    @classmethod
    def from_function(cls, feature_names: Sequence[str], key: Callable[[str], str]) -> FeatureGroups:
        """Group columns by ``key(column name)``; groups are ordered by first appearance."""
        feature_names = _column_names(feature_names)
        check_callable(key, "key")
        members: dict[str, list[int]] = {}
        for i, n in enumerate(feature_names):
            members.setdefault(str(key(n)), []).append(i)
        return cls(tuple(members), tuple(tuple(v) for v in members.values()), feature_names)

    @classmethod
    def from_prefixes(cls, feature_names: Sequence[str], sep: str = "_") -> FeatureGroups:
        """Group one-hot style columns ``prefix<sep>level`` by their prefix.

        A column is grouped under the text before its last ``sep`` only when at least two
        columns share that prefix; any other column stays a group of its own under its
        full name (so ``income_log`` alone is not renamed ``income``).
        """
        feature_names = _column_names(feature_names)
        check_str(sep, "sep")
        prefixes = [n.rsplit(sep, 1)[0] if sep in n else None for n in feature_names]
        counts: dict[str, int] = {}
        for p in prefixes:
            if p is not None:
                counts[p] = counts.get(p, 0) + 1
        keys = {n: (p if p is not None and counts[p] > 1 else n) for n, p in zip(feature_names, prefixes)}
        return cls.from_function(feature_names, keys.__getitem__)

    @classmethod
    def from_column_transformer(cls, transformer: Any) -> FeatureGroups:
        """Groups over the output columns of a fitted scikit-learn ``ColumnTransformer``.

        The columns a ``OneHotEncoder`` (alone or at the end of a ``Pipeline``) makes from one
        input column form one group named after that input column; every other output
        column is a group of its own.
        """
        from sklearn.compose import ColumnTransformer
        from sklearn.pipeline import Pipeline
        from sklearn.preprocessing import OneHotEncoder

        if not isinstance(transformer, ColumnTransformer) or not hasattr(transformer, "transformers_"):
            raise InvalidInputError("from_column_transformer needs a fitted sklearn ColumnTransformer.")
        output_names = tuple(str(n) for n in transformer.get_feature_names_out())
        names: list[str] = []
        indices: list[tuple[int, ...]] = []
        for name, step, columns in transformer.transformers_:
            span = transformer.output_indices_[name]
            if span.stop <= span.start:
                continue
            last = step.steps[-1][1] if isinstance(step, Pipeline) else step
            if isinstance(last, OneHotEncoder):
                inputs = getattr(last, "feature_names_in_", None)
                input_names = [str(c) for c in (inputs if inputs is not None else np.atleast_1d(columns))]
                position = span.start
                for col, width in zip(input_names, _onehot_widths(last)):
                    names.append(col)
                    indices.append(tuple(range(position, position + width)))
                    position += width
                if position != span.stop:
                    raise InvalidInputError(
                        f"Could not map the one-hot columns of transformer {name!r} to its inputs; "
                        "build the groups with FeatureGroups.from_dict instead."
                    )
            else:
                for j in range(span.start, span.stop):
                    names.append(output_names[j])
                    indices.append((j,))
        return cls(tuple(names), tuple(indices), output_names)

    # ------------------------------------------------------------------ properties
    @property
    def n_groups(self) -> int:
        """Number of groups."""
        return len(self.names)

    @property
    def n_features(self) -> int:
        """Number of model columns."""
        return len(self.feature_names)

    @property
    def matrix(self) -> np.ndarray:
        """Read-only boolean membership matrix of shape ``(n_groups, n_features)``."""
        return self._matrix

    @property
    def is_identity(self) -> bool:
        """True when every group is a single column, in column order."""
        return self.n_groups == self.n_features and all(cols == (i,) for i, cols in enumerate(self.indices))

    def expand(self, group_mask: np.ndarray) -> np.ndarray:
        """Turn a boolean mask over groups ``(..., n_groups)`` into one over columns ``(..., n_features)``."""
        try:
            group_mask = np.asarray(group_mask, dtype=bool)
        except (TypeError, ValueError):
            raise InvalidTypeError(f"The mask must be an array of booleans, got {shown(group_mask)}.") from None
        if group_mask.ndim == 0 or group_mask.shape[-1] != self.n_groups:
            raise InvalidInputError(
                f"Mask of shape {group_mask.shape} for {self.n_groups} groups: its last axis needs one entry per group."
            )
        return (group_mask.astype(np.uint8) @ self._matrix.astype(np.uint8)).astype(bool)

    def to_dict(self) -> dict[str, list[str]]:
        """``{group name: [column names]}``, the JSON-friendly form."""
        return {n: [self.feature_names[i] for i in cols] for n, cols in zip(self.names, self.indices)}

    def __len__(self) -> int:
        return self.n_groups


def check_groups(groups: Any, n_features: int | None, *, name: str = "feature_groups") -> None:
    """Refuse ``groups`` unless it is None or a :class:`FeatureGroups` over ``n_features`` columns.

    Raises
    ------
    InvalidInputError
        Naming the argument ``name`` as the caller calls it.
    """
    if groups is None:
        return
    if not isinstance(groups, FeatureGroups):
        raise InvalidTypeError(f"{name} must be a FeatureGroups or None, got {shown(groups)}.")
    if groups.n_features != n_features:
        raise InvalidInputError(f"{name} cover {groups.n_features} columns; the model has {n_features}.")


def _required(value: Any, name: str) -> Any:
    """``value`` unless it is None (a sequence of names that was forgotten)."""
    if value is None:
        raise InvalidTypeError(f"{name} must be a sequence of strings, got None.")
    return value


def _column_names(feature_names: Any) -> tuple[str, ...]:
    """A constructor's ``feature_names``, validated; None is refused."""
    names = check_feature_names(_required(feature_names, "feature_names"))
    assert names is not None  # _required refused None
    return names


def _check_indices(indices: Any) -> tuple[tuple[int, ...], ...]:
    """Each group's column indices as a tuple of ints; anything else is an :class:`InvalidTypeError`."""
    what = "indices must be a sequence of sequences of column indices (ints)"
    if isinstance(indices, (str, bytes, Mapping)) or not isinstance(indices, (Sequence, np.ndarray)):
        raise InvalidTypeError(f"{what}, got {shown(indices)}.")
    out = []
    for group in indices:
        if isinstance(group, (str, bytes, Mapping)) or not isinstance(group, (Sequence, np.ndarray)):
            raise InvalidTypeError(f"{what}, got a group {shown(group)}.")
        if any(isinstance(i, (bool, np.bool_)) or not isinstance(i, (int, np.integer)) for i in group):
            raise InvalidTypeError(f"{what}, got a group {shown(group)}.")
        out.append(tuple(int(i) for i in group))
    return tuple(out)


def _onehot_widths(encoder: Any) -> list[int]:
    widths = getattr(encoder, "_n_features_outs", None)
    if widths is not None:
        return [int(w) for w in widths]
    drop = getattr(encoder, "drop_idx_", None)
    return [len(c) - (1 if drop is not None and drop[j] is not None else 0) for j, c in enumerate(encoder.categories_)]
