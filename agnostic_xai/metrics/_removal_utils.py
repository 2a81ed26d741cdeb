"""Shared machinery of the faithfulness metrics: players, rankings, masks, random subsets.

A *player* is what an attribution gives one value to: a column, or a feature group when the
attribution has ``groups``. Removing a player removes all of its columns, through
:mod:`agnostic_xai.removal`, exactly as the removal-based explainers do.

Everything here is private to :mod:`agnostic_xai.metrics`.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from ..adapters.base import Adapter
from ..attribution import Attribution
from ..exceptions import InvalidInputError
from ..groups import FeatureGroups
from ..removal import coalition_values, reference_set
from ._rng import RowRandom
from .base import Metric

__all__ = [
    "expand_masks",
    "check_fractions",
    "random_subsets",
    "explained_output",
    "masked_values",
    "masked_outputs",
    "gaussian_scale",
    "FaithfulnessMetric",
    "RemovalMetric",
    "Context",
]

# ---------------------------------------------------------------------- players and masks
def expand_masks(player_masks: np.ndarray, groups: FeatureGroups | None) -> np.ndarray:
    """Turn masks over players ``(..., m)`` into masks over columns ``(..., d)``.

    A column is kept exactly when its player is kept (groups are removed as a unit); without
    groups the players are the columns.
    """
    player_masks = np.asarray(player_masks, dtype=bool)
    return player_masks if groups is None else groups.expand(player_masks)


def check_fractions(fractions: Any, name: str) -> tuple[float, ...]:
    """Validate a non-empty sequence of fractions in (0, 1]."""
    if isinstance(fractions, numbers.Real) and not isinstance(fractions, bool):
        fractions = (fractions,)
    try:
        values = tuple(float(f) for f in fractions)
    except (TypeError, ValueError):
        raise InvalidInputError(f"{name} must be a sequence of fractions in (0, 1], got {fractions!r}.") from None
    if not values or not all(0.0 < f <= 1.0 for f in values):
        raise InvalidInputError(f"{name} must be a non-empty sequence of fractions in (0, 1], got {fractions!r}.")
    return values


def random_subsets(rng: np.random.Generator | RowRandom, n_rows: int, n_draws: int, n_players: int, size: int) -> np.ndarray:
    """``n_draws`` uniformly random subsets of exactly ``size`` players for each row.

    Returns a boolean ``(n_rows, n_draws, n_players)`` array; draws are independent (with
    replacement across draws, without replacement within one subset). With a
    :class:`~agnostic_xai.metrics._rng.RowRandom` each row's subsets come from its own stream.
    """
    keys = rng.random((n_rows, n_draws, n_players))
    chosen = np.argpartition(keys, size - 1, axis=-1)[..., :size] if size < n_players else None
    if chosen is None:
        return np.ones((n_rows, n_draws, n_players), dtype=bool)
    mask = np.zeros((n_rows, n_draws, n_players), dtype=bool)
    np.put_along_axis(mask, chosen, True, axis=-1)
    return mask


def gaussian_scale(background: np.ndarray, noise_scale: float) -> np.ndarray:
    """Per-column noise standard deviation ``noise_scale * std_j(background)`` (population std)."""
    return float(noise_scale) * background.std(axis=0)


# ---------------------------------------------------------------------- model evaluation
def explained_output(adapter: Adapter, X: np.ndarray, target: np.ndarray) -> np.ndarray:
    """``f_t(x)`` for each row: the explained output."""
    return adapter.evaluate(X)[np.arange(X.shape[0]), target]


def masked_values(
    adapter: Adapter,
    X: np.ndarray,
    masks: np.ndarray,
    reference: np.ndarray,
    target: np.ndarray,
    *,
    full: np.ndarray | None = None,
    max_rows: int | None = None,
) -> np.ndarray:
    """Coalition values ``v(x, mask)`` for per-row column masks ``(n, s, d)``; returns ``(n, s)``.

    Same values as :func:`agnostic_xai.removal.coalition_values`, which evaluates every
    coalition that is neither full nor empty. The two trivial coalitions are evaluated
    without repeating the reference rows: ``v(x, all kept) = f(x)`` (``full`` when given)
    and ``v(x, none kept) = mean_r f_t(r)``, once per distinct target.
    """
    n, s, d = masks.shape
    out = np.empty((n, s), dtype=np.float64)
    kept = masks.sum(axis=-1)
    is_full, is_empty = kept == d, kept == 0
    if is_full.any():
        values_full = explained_output(adapter, X, target) if full is None else full
        out[is_full] = np.broadcast_to(values_full[:, None], (n, s))[is_full]
    if is_empty.any():
        empty = adapter.evaluate(reference).mean(axis=0)
        out[is_empty] = np.broadcast_to(empty[target][:, None], (n, s))[is_empty]
    rows, cols = np.nonzero(~(is_full | is_empty))
    if rows.size:
        out[rows, cols] = coalition_values(
            adapter, X[rows], masks[rows, cols][:, None, :], reference, target[rows], max_rows=max_rows
        )[:, 0]
    return out


def masked_outputs(
    adapter: Adapter, X: np.ndarray, masks: np.ndarray, reference: np.ndarray, target: np.ndarray
) -> np.ndarray:
    """Outputs for each reference row separately: ``(n, s, r)`` with ``f_t(where(mask, x, r_j))``.

    Used where a metric needs a statistic other than the mean over reference rows (a
    variance); each column of the result is :func:`~agnostic_xai.removal.coalition_values`
    with a single reference row.
    """
    n, s, _ = masks.shape
    out = np.empty((n, s, reference.shape[0]), dtype=np.float64)
    for j in range(reference.shape[0]):
        out[:, :, j] = coalition_values(adapter, X, masks, reference[j : j + 1], target)
    return out


# ---------------------------------------------------------------------- metric base
@dataclass(frozen=True)
class Context:
    """The validated arrays of one attribution."""

    X: np.ndarray  # (n, d) explained rows
    values: np.ndarray  # (n, m) attributions
    target: np.ndarray  # (n,) explained output per row


class FaithfulnessMetric(Metric):
    """Common checks of the faithfulness metrics (private base class)."""

    family: ClassVar[str] = "faithfulness"
    requires_model: ClassVar[bool] = True
    requires_background: ClassVar[bool] = True

    def _context(self, attribution: Attribution, adapter: Adapter) -> Context:
        """Validate that ``attribution`` explains ``adapter``'s output and collect the arrays."""
        if attribution.output != adapter.output:
            raise InvalidInputError(
                f"{self.name}: the attribution explains the {attribution.output!r} output but the adapter returns "
                f"{adapter.output!r}; score it with an adapter wrapped with output={attribution.output!r}."
            )
        X = adapter.validate(attribution.data, name="attribution.data")
        target = attribution.target
        if target.size and (target.min() < 0 or target.max() >= adapter.n_outputs):
            raise InvalidInputError(
                f"{self.name}: the attribution explains output {int(target.max())}, but the model has "
                f"{adapter.n_outputs} outputs."
            )
        return Context(X=X, values=attribution.values, target=target)


class RemovalMetric(FaithfulnessMetric):
    """A faithfulness metric that removes players under a removal strategy (private base class).

    Parameters
    ----------
    removal : {"marginal", "mean", "baseline"}
        What "removed" means (:mod:`agnostic_xai.removal`); use the explainers' choice.
    baseline : array-like of shape (d,), optional
        The reference row for ``removal="baseline"``.
    """

    def __init__(self, *, removal: str = "marginal", baseline: Any = None) -> None:
        self.removal = removal
        self.baseline = baseline

    def _removal_inputs(
        self, attribution: Attribution, adapter: Adapter, background: np.ndarray
    ) -> tuple[Context, np.ndarray]:
        """The context and the reference rows of :attr:`removal`."""
        ctx = self._context(attribution, adapter)
        return ctx, reference_set(self.removal, background, self.baseline, n_features=ctx.X.shape[1])

    def _inputs(
        self, attribution: Attribution, adapter: Adapter | None, background: np.ndarray | None
    ) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """``(adapter, X, values, target, reference)`` and ``groups``: the inputs of a removal function."""
        assert adapter is not None and background is not None  # requires_model and requires_background
        ctx, reference = self._removal_inputs(attribution, adapter, background)
        return (adapter, ctx.X, ctx.values, ctx.target, reference), {"groups": attribution.groups}
