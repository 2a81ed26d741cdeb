"""The :class:`Attribution` record that every explainer returns."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, BinaryIO

import numpy as np
import pandas as pd

from ._attribution_file import FORMAT, read_record
from ._records import frozen_array, row_index
from ._validation import check_feature_names, check_float, check_int, check_mapping, check_path, check_str, shown
from .exceptions import InvalidInputError, InvalidTypeError
from .groups import FeatureGroups

if TYPE_CHECKING:
    from .adapters.base import Adapter

__all__ = ["Attribution"]

_FORMAT = FORMAT


def _freeze_extra(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        frozen = value.copy()
        frozen.flags.writeable = False
        return frozen
    return value


@dataclass(frozen=True, eq=False)
class Attribution:
    """One explanation of ``n`` rows: what every explainer returns.

    Parameters
    ----------
    values : ndarray of shape (n, m)
        Attribution of each row to each of its ``m`` features (or feature groups).
    base_values : ndarray of shape (n,)
        The reference output the attributions are measured from (``E[f(background)]`` for
        Shapley-type methods, ``f(baseline)`` for baseline methods, 0 when not defined).
    data : ndarray of shape (n, d)
        The explained rows, in the model's ``d`` input columns.
    target : ndarray of shape (n,)
        Index of the explained model output for each row.
    feature_names : tuple of str
        Names of the ``m`` attributed features (group names when ``groups`` is set).
    method : str
        Registry name of the method that produced the values.
    params : dict
        The method's parameters, for the record.
    output : str
        The explained quantity (``"probability"``, ``"logit"`` or ``"raw"``).
    seconds : float
        Wall time of the explanation.
    model_rows : int
        Rows the model evaluated to produce it.
    extras : dict
        Method-specific diagnostics: IG's convergence delta, LIME's local R², a
        surrogate's fidelity, standard errors, ... Arrays whose first axis has length ``n``
        are per-row and are sliced with the record.
    groups : FeatureGroups, optional
        The feature groups the values refer to, or None for one value per column.

    Notes
    -----
    All arrays are copied on construction and made read-only, so a record can be shared
    freely; :meth:`save`/:meth:`load` round-trip it bit for bit without pickle.
    """

    values: np.ndarray
    base_values: np.ndarray
    data: np.ndarray
    target: np.ndarray
    feature_names: tuple[str, ...]
    method: str
    params: Mapping[str, Any] = field(default_factory=dict)
    output: str = "raw"
    seconds: float = 0.0
    model_rows: int = 0
    extras: Mapping[str, Any] = field(default_factory=dict)
    groups: FeatureGroups | None = None

    def __post_init__(self) -> None:
        if self.groups is not None and not isinstance(self.groups, FeatureGroups):
            raise InvalidTypeError(f"Attribution.groups must be a FeatureGroups or None, got {shown(self.groups)}.")
        check_str(self.method, "Attribution.method")
        check_str(self.output, "Attribution.output")
        check_mapping(self.params, "Attribution.params")
        check_mapping(self.extras, "Attribution.extras")
        seconds = check_float(self.seconds, "Attribution.seconds", minimum=0.0)
        model_rows = check_int(self.model_rows, "Attribution.model_rows", minimum=0)
        if self.feature_names is None:
            raise InvalidTypeError("Attribution.feature_names must be a sequence of strings, got None.")
        values = frozen_array(self.values, np.float64, "values", 2)
        n, m = values.shape
        base = frozen_array(self.base_values, np.float64, "base_values", 1)
        data = frozen_array(self.data, np.float64, "data", 2)
        target = frozen_array(self.target, np.int64, "target", 1)
        for name, array in (("base_values", base), ("data", data), ("target", target)):
            if array.shape[0] != n:
                raise InvalidInputError(f"Attribution.{name} has {array.shape[0]} rows, values has {n}.")
        names = check_feature_names(self.feature_names, name="Attribution.feature_names")
        assert names is not None
        if len(names) != m:
            raise InvalidInputError(f"Attribution has {m} value columns but {len(names)} feature names.")
        if self.groups is not None:
            if self.groups.n_groups != m or self.groups.names != names:
                raise InvalidInputError("Attribution.groups does not match its feature names.")
            if self.groups.n_features != data.shape[1]:
                raise InvalidInputError("Attribution.groups covers a different number of columns than data.")
        elif data.shape[1] != m:
            raise InvalidInputError(f"Attribution.data has {data.shape[1]} columns for {m} values and no groups.")
        object.__setattr__(self, "values", values)
        object.__setattr__(self, "base_values", base)
        object.__setattr__(self, "data", data)
        object.__setattr__(self, "target", target)
        object.__setattr__(self, "feature_names", names)
        object.__setattr__(self, "params", dict(self.params))
        object.__setattr__(self, "extras", {str(k): _freeze_extra(v) for k, v in self.extras.items()})
        object.__setattr__(self, "seconds", seconds)
        object.__setattr__(self, "model_rows", model_rows)

    # ------------------------------------------------------------------ basics
    @property
    def n_rows(self) -> int:
        """Number of explained rows."""
        return int(self.values.shape[0])

    @property
    def n_features(self) -> int:
        """Number of attributed features (or groups)."""
        return int(self.values.shape[1])

    def __len__(self) -> int:
        return self.n_rows

    def __getitem__(self, rows: Any) -> Attribution:
        """Select rows (an int, a slice, an index array or a boolean mask).

        Raises
        ------
        InvalidTypeError
            For anything else (a float, a string, a 2-D index).
        RowIndexError
            For a row past the end (an ``IndexError``, so ``for row in record`` stops).
        """
        index = row_index(rows, self.n_rows)
        extras = {
            k: (v[index] if isinstance(v, np.ndarray) and v.ndim >= 1 and v.shape[0] == self.n_rows else v)
            for k, v in self.extras.items()
        }
        return replace(
            self,
            values=self.values[index],
            base_values=self.base_values[index],
            data=self.data[index],
            target=self.target[index],
            extras=extras,
        )

    @classmethod
    def concatenate(cls, parts: Sequence[Attribution]) -> Attribution:
        """The records of consecutive row chunks of one explanation, as one record in their order.

        Parameters
        ----------
        parts : sequence of Attribution
            Records of the same method, output, features and groups (explained rows of one
            table, cut into chunks).

        Returns
        -------
        Attribution
            Rows, values, base values, targets and per-row extras (arrays whose first axis
            has one entry per row, such as ``standard_error``) concatenated; ``seconds`` and
            ``model_rows`` summed. Other extras are kept when every part holds the same value
            (a budget, say) and dropped otherwise. ``params`` are those of the first part. A
            single part is returned as it is.

        Raises
        ------
        InvalidInputError
            No parts, something that is not an Attribution, or parts that explain different
            features, outputs or methods.
        """
        if isinstance(parts, (Attribution, str, bytes, Mapping)) or not hasattr(parts, "__iter__"):
            raise InvalidTypeError(f"Attribution.concatenate takes a list of Attributions, got {shown(parts)}.")
        try:
            parts = list(parts)
        except TypeError:  # iterable in name only (a 0-d array)
            raise InvalidTypeError(
                f"Attribution.concatenate takes a list of Attributions, got {shown(parts)}."
            ) from None
        if not parts:
            raise InvalidInputError("Attribution.concatenate needs at least one record.")
        for part in parts:
            if not isinstance(part, Attribution):
                raise InvalidTypeError(f"Attribution.concatenate takes Attributions, got {type(part).__name__}.")
        first = parts[0]
        if len(parts) == 1:
            return first
        for part in parts[1:]:
            if (part.feature_names, part.method, part.output) != (first.feature_names, first.method, first.output):
                raise InvalidInputError(
                    "Attribution.concatenate needs records of the same method, output and features; got "
                    f"{first.method!r}/{first.output!r} and {part.method!r}/{part.output!r}."
                )
            if part.groups != first.groups or part.data.shape[1] != first.data.shape[1]:
                raise InvalidInputError("Attribution.concatenate needs records of the same feature groups and columns.")

        def per_row(value: Any, part: Attribution) -> bool:
            return isinstance(value, np.ndarray) and value.ndim >= 1 and value.shape[0] == part.n_rows

        extras: dict[str, Any] = {}
        for key, value in first.extras.items():
            values = [part.extras.get(key, _MISSING) for part in parts]
            if all(per_row(v, part) for v, part in zip(values, parts)):
                extras[key] = np.concatenate(values)
            elif all(_same(v, value) for v in values[1:]):
                extras[key] = value
        return replace(
            first,
            values=np.concatenate([part.values for part in parts]),
            base_values=np.concatenate([part.base_values for part in parts]),
            data=np.concatenate([part.data for part in parts]),
            target=np.concatenate([part.target for part in parts]),
            seconds=sum(part.seconds for part in parts),
            model_rows=sum(part.model_rows for part in parts),
            extras=extras,
        )

    def __repr__(self) -> str:
        return (
            f"Attribution(method={self.method!r}, rows={self.n_rows}, features={self.n_features}, "
            f"output={self.output!r}, seconds={self.seconds:.3g}, model_rows={self.model_rows})"
        )

    # ------------------------------------------------------------------ checks
    def explained_output(self, adapter: Adapter) -> np.ndarray:
        """``f(x)`` of the explained output for each row, evaluated through ``adapter``."""
        from .adapters import wrap

        adapter = wrap(adapter)
        predictions = adapter.predict(self.data)
        return predictions[np.arange(self.n_rows), self.target]

    def additivity_gap(self, adapter: Adapter) -> np.ndarray:
        """``|base_value + Σ values − f(x)|`` per row: how far the record is from additive."""
        return np.abs(self.base_values + self.values.sum(axis=1) - self.explained_output(adapter))

    # ------------------------------------------------------------------ conversion
    def to_frame(self) -> pd.DataFrame:
        """A tidy frame: one line per (row, feature) with its value, data and base value.

        The ``feature_value`` column holds the column's value for ungrouped attributions and
        NaN for groups of several columns.
        """
        n, m = self.values.shape
        if self.groups is None:
            feature_value = self.data.reshape(-1)
        else:
            single = np.array([cols[0] if len(cols) == 1 else -1 for cols in self.groups.indices])
            taken = self.data[:, np.maximum(single, 0)]
            feature_value = np.where(single >= 0, taken, np.nan).reshape(-1)
        return pd.DataFrame(
            {
                "row": np.repeat(np.arange(n), m),
                "feature": np.tile(np.array(self.feature_names, dtype=object), n),
                "value": self.values.reshape(-1),
                "feature_value": feature_value,
                "base_value": np.repeat(self.base_values, m),
                "target": np.repeat(self.target, m),
                "method": self.method,
            }
        )

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | os.PathLike[str] | BinaryIO) -> None:
        """Write the record to ``path`` (a file name or a binary file object) as ``.npz``.

        Arrays plus a JSON header; nothing is pickled.
        """
        check_path(path, "path", allow_file=True)
        arrays: dict[str, np.ndarray] = {
            "values": self.values,
            "base_values": self.base_values,
            "data": self.data,
            "target": self.target,
        }
        header_extras: dict[str, Any] = {}
        for key, value in self.extras.items():
            if isinstance(value, np.ndarray):
                if value.dtype == object:
                    raise InvalidInputError(f"extras[{key!r}] is an object array and cannot be saved.")
                arrays[f"extras/{key}"] = value
            else:
                header_extras[key] = _jsonable(value, f"extras[{key!r}]")
        header_params: dict[str, Any] = {}
        for key, value in self.params.items():
            if isinstance(value, np.ndarray):
                arrays[f"params/{key}"] = value
            else:
                header_params[key] = _jsonable(value, f"params[{key!r}]")
        header = {
            "format": _FORMAT,
            "feature_names": list(self.feature_names),
            "method": self.method,
            "output": self.output,
            "seconds": self.seconds,
            "model_rows": self.model_rows,
            "params": header_params,
            "extras": header_extras,
            "groups": None
            if self.groups is None
            else {
                "names": list(self.groups.names),
                "indices": [list(c) for c in self.groups.indices],
                "feature_names": list(self.groups.feature_names),
            },
        }
        arrays["header"] = np.frombuffer(json.dumps(header).encode("utf-8"), dtype=np.uint8)
        # numpy's stub types a keyword as its allow_pickle flag; no key here is "allow_pickle".
        if hasattr(path, "write"):  # an open binary file or BytesIO
            np.savez(path, **arrays)  # type: ignore[arg-type]
            return
        with open(path, "wb") as handle:
            np.savez(handle, **arrays)  # type: ignore[arg-type]

    @classmethod
    def load(cls, path: str | os.PathLike[str] | BinaryIO) -> Attribution:
        """Read a record written by :meth:`save` (never unpickles anything).

        Raises
        ------
        InvalidInputError
            The file does not exist or is not an attribution file (see
            :mod:`agnostic_xai._attribution_file`); :class:`InvalidTypeError` when ``path`` is
            neither a path nor a binary file object.
        """
        fields = read_record(path)
        groups = fields.pop("groups")
        if groups is not None:
            groups = FeatureGroups(
                tuple(groups["names"]),
                tuple(tuple(c) if isinstance(c, list) else c for c in groups["indices"]),
                tuple(groups["feature_names"]),
            )
        return cls(**fields, groups=groups)


_MISSING = object()


def _same(a: Any, b: Any) -> bool:
    """Whether two extras hold the same value (arrays by shape and content)."""
    if a is _MISSING or b is _MISSING:
        return False
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        if not (isinstance(a, np.ndarray) and isinstance(b, np.ndarray)):
            return False
        return np.array_equal(a, b, equal_nan=a.dtype.kind == b.dtype.kind == "f")
    try:
        return bool(a == b)
    except Exception:  # values without a plain truth value
        return False


def _jsonable(value: Any, what: str) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, (list, tuple)):
        return [_jsonable(v, what) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v, what) for k, v in value.items()}
    raise InvalidInputError(f"{what} of type {type(value).__name__} cannot be saved; use arrays, numbers or strings.")
