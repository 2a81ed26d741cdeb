"""Column types of a table, and perturbations that respect them.

Gaussian noise on a binary or one-hot column never changes the category: ``0.03`` is not a
category, and a model trained on 0/1 columns answers it with something between the two.
Perturbation-based metrics (PGI, PGU, infidelity, the stability metrics) therefore perturb
each column the way its values can actually change:

``continuous``
    noise of ``scale_j`` (a fraction of the column's background standard deviation);
``integer``
    the same noise, rounded *stochastically* to a neighbouring integer (up with probability
    equal to the fractional part, so the expected change is the noise itself) and kept
    inside the range seen in the background (and the row's own value), so a count stays a
    count. Rounding to the nearest integer instead would erase noise smaller than 0.5: on
    a count with a standard deviation of 2 and noise of 0.1 std the column would almost
    never move, and the metrics would call counts unimportant;
``binary``
    exactly two distinct values in the background: the row switches to the other value with
    probability ``flip_probability``;
``onehot``
    the columns of a feature group in which every background row has exactly one 1 and
    zeros elsewhere (or all zeros, the dropped reference category of a ``drop="first"``
    encoder): with probability ``flip_probability`` the row switches to one of the *other*
    categories, uniformly, so the group stays a valid one-hot vector.

:class:`ColumnTypes` infers the types from the background (the same rows the explainers
use) and takes the user's overrides; :func:`perturb` is the one place where perturbation
metrics draw their random numbers, from a generator they pass in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .exceptions import InvalidInputError, UnknownNameError
from .groups import FeatureGroups

__all__ = ["COLUMN_TYPES", "PERTURBATION_KINDS", "ColumnTypes", "perturb", "openxai_flip_probability"]

COLUMN_TYPES = ("continuous", "integer", "binary", "onehot")

#: ``"tabular"`` respects the column types; ``"continuous"`` treats every column as continuous
#: (the behaviour before column types existed); ``"openxai"`` is OpenXAI's ``NormalPerturbation``.
PERTURBATION_KINDS = ("tabular", "continuous", "openxai")


@dataclass(frozen=True)
class ColumnTypes:
    """The type of each column and the one-hot groups of a table (see the module docstring).

    Build it with :meth:`infer`; the fields are plain tuples so that the record can be
    compared, hashed and written to a report.

    Attributes
    ----------
    feature_names : tuple of str
        The model's column names.
    kinds : tuple of str
        One of :data:`COLUMN_TYPES` per column.
    onehot : tuple of tuple of int
        Column indices of each one-hot group (every ``"onehot"`` column is in exactly one).
    onehot_names : tuple of str
        The groups' names.
    onehot_none : tuple of bool
        Whether the group has an implicit all-zero category.
    low, high : tuple of float
        The background's smallest and largest value of each column (a binary column's two
        values).
    """

    feature_names: tuple[str, ...]
    kinds: tuple[str, ...]
    onehot: tuple[tuple[int, ...], ...] = ()
    onehot_names: tuple[str, ...] = ()
    onehot_none: tuple[bool, ...] = ()
    low: tuple[float, ...] = ()
    high: tuple[float, ...] = ()

    @classmethod
    def infer(
        cls,
        background: Any,
        groups: FeatureGroups | None = None,
        overrides: Mapping[str, str] | None = None,
        *,
        feature_names: Sequence[str] | None = None,
    ) -> ColumnTypes:
        """Infer the column types from the background rows, then apply ``overrides``.

        Parameters
        ----------
        background : array-like of shape (b, d)
            Finite rows; the types are read from the values each column takes.
        groups : FeatureGroups, optional
            Only a group of two or more columns can be one-hot: without groups every column
            is typed on its own (one-hot columns then count as binary, and are flipped one
            by one).
        overrides : mapping of str to str, optional
            ``{column name: "continuous" | "integer" | "binary"}`` replaces an inferred type
            (a column of an inferred one-hot group dissolves that group: its columns are
            then typed one by one); ``{group name: "onehot"}`` declares a group one-hot
            (it must hold one-hot rows), ``{group name: "independent"}`` types its columns
            one by one.
        feature_names : sequence of str, optional
            Column names; default the groups' column names, else ``x0, x1, …``.

        Returns
        -------
        ColumnTypes

        Raises
        ------
        InvalidInputError
            Background not a finite 2-D array, an unknown type, or an override the data
            contradicts (``binary`` on a column with more than two values, ``integer`` on
            non-integral values, ``onehot`` on rows that are not one-hot).
        UnknownNameError
            An override names no column or group.
        """
        B = np.asarray(background, dtype=np.float64)
        if B.ndim != 2 or B.shape[0] == 0 or not np.isfinite(B).all():
            raise InvalidInputError(f"Column types need finite background rows (b, d); got shape {B.shape}.")
        d = B.shape[1]
        if feature_names is None:
            feature_names = groups.feature_names if groups is not None else [f"x{j}" for j in range(d)]
        names = tuple(str(n) for n in feature_names)
        if len(names) != d or (groups is not None and groups.n_features != d):
            raise InvalidInputError(f"{len(names)} column names (or groups over other columns) for {d} columns.")
        overrides = dict(overrides or {})
        group_of = {} if groups is None else {n: cols for n, cols in zip(groups.names, groups.indices) if len(cols) > 1}
        position = {n: j for j, n in enumerate(names)}
        for key, kind in overrides.items():
            allowed = ("onehot", "independent") if key in group_of else ("continuous", "integer", "binary")
            if key not in group_of and key not in position:
                raise UnknownNameError(f"Column-type override {key!r} names no column or multi-column feature group.")
            if kind not in allowed:
                raise InvalidInputError(f"Column-type override {key!r}: {kind!r} is not one of {allowed}.")
        kinds = [_column_kind(B[:, j]) for j in range(d)]
        onehot, onehot_names, onehot_none = [], [], []
        for gname, cols in group_of.items():
            wanted = overrides.get(gname)
            overridden = any(names[c] in overrides for c in cols)
            valid, has_none = _onehot_rows(B[:, list(cols)])
            if wanted == "onehot" and not valid:
                raise InvalidInputError(
                    f"Group {gname!r} is declared one-hot, but its background rows are not one-hot."
                )
            if valid and wanted != "independent" and (wanted == "onehot" or not overridden):
                onehot.append(tuple(cols))
                onehot_names.append(gname)
                onehot_none.append(has_none)
                for c in cols:
                    kinds[c] = "onehot"
        for key, kind in overrides.items():
            if key in position and kinds[position[key]] != "onehot":
                kinds[position[key]] = _checked_override(B[:, position[key]], key, kind)
        return cls(
            feature_names=names,
            kinds=tuple(kinds),
            onehot=tuple(onehot),
            onehot_names=tuple(onehot_names),
            onehot_none=tuple(onehot_none),
            low=tuple(float(v) for v in B.min(axis=0)),
            high=tuple(float(v) for v in B.max(axis=0)),
        )

    @property
    def n_features(self) -> int:
        """Number of columns."""
        return len(self.kinds)

    def mask(self, kind: str) -> np.ndarray:
        """Boolean ``(d,)`` mask of the columns of type ``kind``."""
        return np.array([k == kind for k in self.kinds], dtype=bool)

    def to_dict(self) -> dict[str, Any]:
        """``{"columns": {name: type}, "onehot": {group: [column names]}}`` for configurations and reports."""
        return {
            "columns": dict(zip(self.feature_names, self.kinds)),
            "onehot": {g: [self.feature_names[c] for c in cols] for g, cols in zip(self.onehot_names, self.onehot)},
        }


def _column_kind(column: np.ndarray) -> str:
    values = np.unique(column)
    if values.size == 2:
        return "binary"
    if values.size > 2 and np.all(values == np.round(values)):
        return "integer"
    return "continuous"


def _onehot_rows(block: np.ndarray) -> tuple[bool, bool]:
    """Whether every row is one-hot (or all zero), and whether some row is all zero."""
    binary = np.isin(block, (0.0, 1.0)).all()
    hot = block.sum(axis=1)
    valid = bool(binary and np.all(hot <= 1) and np.any(hot == 1))
    return valid, bool(valid and np.any(hot == 0))


def _checked_override(column: np.ndarray, name: str, kind: str) -> str:
    values = np.unique(column)
    if kind == "binary" and values.size > 2:
        raise InvalidInputError(f"Column {name!r} is declared binary but takes {values.size} values in the background.")
    if kind == "integer" and not np.all(values == np.round(values)):
        raise InvalidInputError(f"Column {name!r} is declared integer but holds non-integral values.")
    return kind


def openxai_flip_probability(noise_scale: float) -> float:
    """OpenXAI's flip probability for a noise level ``σ``: ``sqrt(2/π) σ`` (``E|N(0, σ²)|``), at most 1."""
    return float(min(1.0, np.sqrt(2.0 / np.pi) * noise_scale))


def perturb(
    rng: np.random.Generator,
    X: np.ndarray,
    n_draws: int,
    column_types: ColumnTypes,
    *,
    scale: np.ndarray,
    flip_probability: float,
    kind: str = "tabular",
    noise: str = "normal",
    columns: np.ndarray | None = None,
) -> np.ndarray:
    """``n_draws`` perturbed copies of each row of ``X``, drawn from ``rng``.

    Every random number of the perturbation metrics is drawn here, in a fixed order: the
    continuous noise ``(n, K, d)`` first (``rng.standard_normal``, or ``rng.uniform(-1, 1)``
    for ``noise="uniform"``), then the flips ``rng.random((n, K, d))``, then the rounding
    draws ``rng.random((n, K, d))``, then one category per one-hot group ``rng.integers``.
    On a table of continuous columns ``"tabular"`` and ``"continuous"`` therefore give the
    same rows for the same generator.

    Parameters
    ----------
    rng : numpy.random.Generator
        The source of the draws (the caller decides how it is seeded).
    X : ndarray of shape (n, d)
    n_draws : int
        ``K``, the perturbed copies per row.
    column_types : ColumnTypes
    scale : ndarray of shape (d,)
        Noise size per column: the standard deviation (``"normal"``) or the half-width of
        the box (``"uniform"``).
    flip_probability : float
        Probability in [0, 1] that a binary column flips, or a one-hot group switches.
    kind : {"tabular", "continuous", "openxai"}
        ``"tabular"``: each column by its type. ``"continuous"``: noise on every column,
        whatever its type. ``"openxai"``: OpenXAI's ``NormalPerturbation`` — noise on
        continuous and integer columns (not rounded), and every binary or one-hot column
        flipped on its own, which can leave a one-hot group with zero or two hot columns.
    noise : {"normal", "uniform"}
    columns : bool ndarray of shape (n, d), optional
        Only these columns of each row are perturbed (PGI/PGU); a one-hot group switches
        only when all its columns are selected.

    Returns
    -------
    ndarray of shape (n, K, d)
    """
    if kind not in PERTURBATION_KINDS:
        raise InvalidInputError(f"Unknown perturbation {kind!r}; choose one of {PERTURBATION_KINDS}.")
    if not 0.0 <= float(flip_probability) <= 1.0:
        raise InvalidInputError(f"flip_probability must be in [0, 1], got {flip_probability!r}.")
    n, d = X.shape
    if column_types.n_features != d:
        raise InvalidInputError(f"Column types describe {column_types.n_features} columns; the rows have {d}.")
    shape = (n, n_draws, d)
    draws = rng.uniform(-1.0, 1.0, size=shape) if noise == "uniform" else rng.standard_normal(shape)
    out = X[:, None, :] + draws * np.asarray(scale, dtype=np.float64)
    if kind != "continuous":
        flips = rng.random(shape) < flip_probability
        binary = column_types.mask("binary")
        if kind == "openxai":
            binary = binary | column_types.mask("onehot")
        else:
            integer = column_types.mask("integer")
            low = np.minimum(np.asarray(column_types.low), X)[:, None, :]
            high = np.maximum(np.asarray(column_types.high), X)[:, None, :]
            below = np.floor(out)
            rounded = below + (rng.random(shape) < out - below)
            out[..., integer] = np.clip(rounded[..., integer], low[..., integer], high[..., integer])
            _switch_categories(rng, X, out, flips, column_types)
        low, high = np.asarray(column_types.low)[binary], np.asarray(column_types.high)[binary]
        x = X[:, binary]
        other = np.where(np.abs(x - low) <= np.abs(x - high), high, low)
        out[..., binary] = np.where(flips[..., binary], other[:, None, :], x[:, None, :])
    if columns is not None:
        columns = np.array(columns, dtype=bool)  # a copy: the caller's mask is not changed
        if kind == "tabular":
            for cols in column_types.onehot:
                whole = columns[:, list(cols)].all(axis=1, keepdims=True)
                columns[:, list(cols)] &= whole
        out = np.where(columns[:, None, :], out, X[:, None, :])
    return out


def _switch_categories(
    rng: np.random.Generator, X: np.ndarray, out: np.ndarray, flips: np.ndarray, column_types: ColumnTypes
) -> None:
    """Each one-hot group of ``out``: its row's category, or another one chosen uniformly when its first flip is set."""
    n, K, _ = out.shape
    for group, has_none in zip(column_types.onehot, column_types.onehot_none):
        cols = list(group)
        width = len(cols) + int(has_none)  # categories; the last is "all zero" when it exists
        block = X[:, cols]
        current = np.where(block.max(axis=1) >= 1.0, block.argmax(axis=1), len(cols))
        current = np.minimum(current, width - 1)
        step = rng.integers(0, width - 1, size=(n, K))
        new = np.where(step >= current[:, None], step + 1, step)
        chosen = np.where(flips[:, :, cols[0]], new, current[:, None])
        hot = np.zeros((n, K, width))
        np.put_along_axis(hot, chosen[..., None], 1.0, axis=2)
        out[..., cols] = np.where(flips[:, :, cols[0], None], hot[..., : len(cols)], block[:, None, :])
