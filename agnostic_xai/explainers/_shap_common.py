"""Plumbing shared by the explainers that run through the ``shap`` package.

Every shap-based explainer explains the same quantity as the rest of agnostic-xai: output
``target[i]`` of the adapter's :meth:`~agnostic_xai.adapters.Adapter.predict` for row ``i``,
with "feature absent" meaning an average over the background rows. This module holds
the pieces that make shap do exactly that:

* :func:`model_function` — the function shap evaluates: the adapter's predictions, so that
  every model row shap asks for is counted in ``adapter.rows_evaluated``;
* :func:`select_target` — shap's ``(n, m, k)`` arrays (or lists of ``k`` arrays) reduced to
  the ``(n, m)`` values of each row's own target;
* :func:`numpy_global_seed` — shap's samplers draw from numpy's *global* generator; this
  seeds it for one call and restores the caller's state afterwards;
* :class:`GroupMasker` — a shap masker that removes feature groups as a unit, replacing
  a group's columns by those of each background row (the interventional definition of
  :mod:`agnostic_xai.removal` applied to groups).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import shap

from ..adapters import Adapter
from ..groups import FeatureGroups

__all__ = [
    "GroupMasker",
    "background_masker",
    "draw_seed",
    "explanation_for_target",
    "masks_per_call",
    "model_function",
    "numpy_global_seed",
    "select_target",
]


def model_function(adapter: Adapter) -> Callable[[Any], np.ndarray]:
    """The function shap calls: ``Z (m, d) -> adapter predictions (m, k)``, float64.

    It goes through :meth:`Adapter.evaluate`, so the rows shap evaluates are
    counted and the model sees float64 rows in its own column order.
    """

    def predict(Z: Any) -> np.ndarray:
        return adapter.evaluate(np.ascontiguousarray(Z, dtype=np.float64))

    return predict


def select_target(values: Any, target: np.ndarray) -> np.ndarray:
    """Each row's values for its own target output.

    Parameters
    ----------
    values : ndarray of shape (n, m, k) or (n, m), or list of k arrays of shape (n, m)
        What a shap explainer returned for ``n`` rows, ``m`` players and ``k`` outputs
        (2-D when the explained function had a single output).
    target : int ndarray of shape (n,)

    Returns
    -------
    ndarray of shape (n, m), float64
    """
    if isinstance(values, list):
        values = np.stack([np.asarray(v, dtype=np.float64) for v in values], axis=-1)
    values = np.asarray(values, dtype=np.float64)
    if values.ndim == 2:
        return values
    if values.ndim != 3:
        raise RuntimeError(f"shap returned values of shape {values.shape}; expected (n, m) or (n, m, k).")
    return values[np.arange(values.shape[0]), :, target]


def explanation_for_target(explanation: Any, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(values (n, m), base_values (n,))`` of a ``shap.Explanation``, for each row's target."""
    values = select_target(explanation.values, target)
    base = np.asarray(explanation.base_values, dtype=np.float64)
    if base.ndim == 2:
        base = base[np.arange(base.shape[0]), target]
    return values, base


def background_masker(background: np.ndarray, groups: FeatureGroups | None) -> shap.maskers.Masker:
    """The masker of the marginal game over the whole background.

    ``shap.maskers.Independent`` over every background row (``max_samples`` is the
    background size, so shap does not subsample it) for columns, :class:`GroupMasker` for
    feature groups.
    """
    if groups is None:
        return shap.maskers.Independent(np.array(background), max_samples=background.shape[0])
    return GroupMasker(background, groups)


def masks_per_call(adapter: Adapter, background: np.ndarray) -> int:
    """shap's ``batch_size`` (masked samples per model call) that fills one adapter batch."""
    return max(1, adapter.batch_size // background.shape[0])


def draw_seed(rng: np.random.Generator) -> int:
    """A seed for numpy's legacy global generator, drawn from ``rng``."""
    return int(rng.integers(0, 2**32 - 1))


@contextlib.contextmanager
def numpy_global_seed(seed: int) -> Iterator[None]:
    """Seed numpy's global RNG for the block and restore the caller's state afterwards.

    shap's Kernel, Permutation and Gradient explainers draw their samples from
    ``np.random``; seeding it here makes their results depend only on ``random_state``,
    and restoring it leaves the user's own global random stream untouched. The global
    generator is process-wide: explanations running concurrently in threads of one
    process would share it.
    """
    state = np.random.get_state()
    np.random.seed(seed)
    try:
        yield
    finally:
        np.random.set_state(state)


class GroupMasker(shap.maskers.Masker):
    """A shap masker over feature *groups*, with the background's interventional removal.

    ``masker(mask, x)`` for a boolean ``mask`` over the ``g`` groups returns one row per
    background row ``r``: ``x`` on the columns of kept groups, ``r`` on the others. A
    model evaluated on these rows and averaged over them gives the coalition values of
    :func:`agnostic_xai.removal.coalition_values` with group masks, so shap's Permutation
    and Exact explainers estimate group Shapley values of the same game as
    :func:`agnostic_xai.testing.exact_shapley` with ``groups``.

    Parameters
    ----------
    background : ndarray of shape (b, d)
        Background rows.
    groups : FeatureGroups
        Partition of the ``d`` columns into ``g`` groups.
    """

    def __init__(self, background: np.ndarray, groups: FeatureGroups) -> None:
        self.data = np.asarray(background, dtype=np.float64)
        self.groups = groups
        self._membership = groups.matrix
        #: (rows per masked sample, number of players), read by shap's MaskedModel.
        self.shape = (self.data.shape[0], groups.n_groups)

    def __call__(self, mask: Any, x: Any) -> tuple[np.ndarray]:
        columns = self.groups.expand(np.asarray(mask, dtype=bool))
        return (np.where(columns, np.asarray(x, dtype=np.float64), self.data),)

    def mask_shapes(self, x: Any) -> list[tuple[int]]:
        """One mask entry per group (shap splits the values by these shapes)."""
        return [(self.groups.n_groups,)]

    def invariants(self, x: Any) -> np.ndarray:
        """``(b, g)``: True where a background row equals ``x`` on every column of a group.

        shap uses it to skip re-evaluating rows a mask change cannot affect.
        """
        # Exact equality (not shap's isclose): a row is skipped only when masking cannot change it.
        differs = (np.asarray(x, dtype=np.float64) != self.data).astype(np.uint8)
        # A group is invariant for a background row when none of its columns differ.
        differs = differs @ self._membership.T.astype(np.uint8)
        return differs == 0
