"""A random explainer: the floor every faithfulness metric must beat."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from .base import Explainer, Explanation

__all__ = ["RandomExplainer"]


class RandomExplainer(Explainer):
    """Seeded random attributions, the reference point below which an explainer is useless.

    For a row ``x`` with explained output ``f_t`` and ``p`` attributed units::

        φ = z · |f_t(x) − E_b f_t(b)| / sqrt(p),    z ~ N(0, I_p)

    so a random explanation has the size of a real one (``E‖φ‖² = (f_t(x) − E f_t)²``, the
    squared total an additive explanation distributes) and differs only in direction. Scale
    matters to metrics that compare magnitudes; rank-based ones ignore it.
    ``base_values`` is ``E_b f_t(b)`` over the background. Values are independent of the
    model beyond that scale; the same ``random_state`` gives the same values.

    Cost: ``n + b`` model rows (``f(x)`` and the background mean), plus the target
    resolution every explainer does.

    Parameters
    ----------
    random_state : int, numpy Generator or None
        Seed of the draws.
    """

    name: ClassVar[str] = "random"
    is_stochastic: ClassVar[bool] = True
    is_reference: ClassVar[bool] = True  # the floor: shown, never ranked
    is_additive: ClassVar[bool] = False
    supports_groups: ClassVar[bool] = True

    def __init__(self, *, random_state: int | np.random.Generator | None = 0) -> None:
        self.random_state = random_state

    def _explain(self, X: np.ndarray, target: np.ndarray) -> Explanation:
        p = self.n_attributed_
        rng = self._rng()
        draws = rng.standard_normal((X.shape[0], p))
        f_x = self.adapter_.evaluate(X)[np.arange(X.shape[0]), target]
        base = self.adapter_.evaluate(self.background_).mean(axis=0)[target]
        scale = np.abs(f_x - base) / np.sqrt(p)
        return Explanation(values=draws * scale[:, None], base_values=base)
