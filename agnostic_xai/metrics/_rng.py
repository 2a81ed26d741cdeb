"""Random numbers of the stochastic metrics: one stream per explained row, keyed by what is drawn.

Two rules make a comparison of explainers a paired comparison (common random numbers):

1. **A metric's seed never depends on who is scored.** Inside :func:`~agnostic_xai.compare`
   a metric's ``random_state`` is :func:`metric_seed`: derived from the root seed and the
   metric's :attr:`~agnostic_xai.metrics.Metric.draws` key, never from the explainer. Every
   explainer is therefore scored with the same perturbations, subsets and noise, and the
   difference of two explainers' scores on a row is the difference of their explanations,
   not of their luck. The key names what is drawn, not the metric: PGI and PGU both draw
   Gaussian noise of the same shape, share the key ``"prediction_gap"``, and so perturb
   with the same noise (one perturbs the top-k columns, the other the rest).
2. **Each row draws from its own stream.** :func:`row_random` turns one ``random_state``
   into one generator per row, row ``i`` seeded by ``SeedSequence([root, i])``, where ``i``
   is the row's position in the scored attribution (in ``compare``: the row of the
   comparison, since metrics score the joined attribution of all rows). A row's draws thus
   depend only on the seed and its position, not on how many rows are scored with it nor
   on which chunk explained it.

The randomness of an explainer that a metric re-runs (``max_sensitivity``,
``relative_input_stability``, ``randomization_sanity``) is the explainer's own: it is re-run
with its own ``random_state`` (its seed in the comparison). Only the metric's perturbations
are common.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .._params import derive_seed
from ..exceptions import InvalidInputError

__all__ = ["RowRandom", "metric_seed", "row_random"]


def metric_seed(root_seed: int, metric: Any) -> int:
    """The ``random_state`` of ``metric`` in a comparison with root seed ``root_seed``.

    Derived from the root seed and the metric's :attr:`draws` key (its registry name unless
    the class says otherwise), so that it is the same for every explainer, for every label
    the metric is registered under, and for every configuration of it: two configurations
    of PGI (say ``k=1`` and ``k=3``) are perturbed with the same noise too.
    """
    key = getattr(type(metric), "draws", "") or getattr(metric, "name", "") or type(metric).__name__
    return derive_seed(int(root_seed), "metric draws", str(key))


def _root_entropy(random_state: Any) -> int:
    """One integer root from an int, a Generator (one draw consumed) or None (fresh entropy)."""
    if isinstance(random_state, bool):
        raise InvalidInputError(f"random_state must be an int, a numpy Generator or None, got {random_state!r}.")
    if isinstance(random_state, (int, np.integer)):
        if random_state < 0:
            raise InvalidInputError(f"random_state must be non-negative, got {random_state}.")
        return int(random_state)
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(2**63))
    if random_state is None:
        return int(np.random.SeedSequence().entropy)
    raise InvalidInputError(
        f"random_state must be an int, a numpy Generator or None, got {type(random_state).__name__}."
    )


class RowRandom:
    """One ``numpy.random.Generator`` per row, with the drawing methods of a Generator.

    Each method takes a ``shape`` whose first axis is the rows and fills row ``i`` from row
    ``i``'s generator, so code written for one generator (``rng.standard_normal((n, K, d))``)
    draws per row unchanged. Draws made one after the other consume each row's stream in
    order, as they would a single generator's.

    Parameters
    ----------
    generators : sequence of numpy.random.Generator
        Row ``i``'s generator at position ``i``.
    """

    def __init__(self, generators: Sequence[np.random.Generator]) -> None:
        self.generators = list(generators)

    @property
    def n_rows(self) -> int:
        """Number of rows (generators)."""
        return len(self.generators)

    def __getitem__(self, row: int) -> np.random.Generator:
        return self.generators[row]

    def _shape(self, shape: Any) -> tuple[int, ...]:
        shape = (int(shape),) if np.isscalar(shape) else tuple(int(s) for s in shape)
        if not shape or shape[0] != self.n_rows:
            raise InvalidInputError(
                f"Per-row draws need a shape whose first axis is the {self.n_rows} rows, got {shape}."
            )
        return shape

    def _fill(self, shape: Any, dtype: Any, draw: Any) -> np.ndarray:
        shape = self._shape(shape)
        out = np.empty(shape, dtype=dtype)
        for i, generator in enumerate(self.generators):
            out[i] = draw(generator, shape[1:])
        return out

    def random(self, size: Any) -> np.ndarray:
        """Uniform floats in [0, 1) of shape ``size`` (rows first)."""
        return self._fill(size, np.float64, lambda g, s: g.random(s))

    def standard_normal(self, size: Any) -> np.ndarray:
        """Standard normal floats of shape ``size`` (rows first)."""
        return self._fill(size, np.float64, lambda g, s: g.standard_normal(s))

    def uniform(self, low: float = 0.0, high: float = 1.0, size: Any = None) -> np.ndarray:
        """Uniform floats in [low, high) of shape ``size`` (rows first)."""
        return self._fill(size, np.float64, lambda g, s: g.uniform(low, high, size=s))

    def integers(self, low: int, high: int | None = None, size: Any = None) -> np.ndarray:
        """Integers in [low, high) (or [0, low)) of shape ``size`` (rows first)."""
        return self._fill(size, np.int64, lambda g, s: g.integers(low, high, size=s))


def row_random(random_state: Any, n_rows: int) -> RowRandom:
    """Per-row generators for ``n_rows`` rows from one ``random_state`` (see the module notes).

    Parameters
    ----------
    random_state : int, numpy Generator, RowRandom or None
        An int seeds row ``i`` with ``SeedSequence([random_state, i])``: the same int gives
        the same draws for a row whatever the other rows. A Generator gives one root draw
        (reproducible from the Generator's state), None fresh entropy. A :class:`RowRandom`
        for ``n_rows`` rows is used as it is.
    n_rows : int

    Returns
    -------
    RowRandom
    """
    if isinstance(random_state, RowRandom):
        if random_state.n_rows != n_rows:
            raise InvalidInputError(f"random_state has generators for {random_state.n_rows} rows, not {n_rows}.")
        return random_state
    root = _root_entropy(random_state)
    return RowRandom([np.random.default_rng(np.random.SeedSequence([root, i])) for i in range(int(n_rows))])
