"""Relative output stability (ROS; Agarwal et al. 2022): the metric class.

Relative input stability asks whether an explanation changes more than the *input* did;
relative output stability asks whether it changes more than the *model's outputs* did. An
explanation that swings while the model's outputs hardly move is unstable whatever the
input change, which RIS cannot see on a model that is flat in the perturbed directions.
The maths is :func:`agnostic_xai.metrics.relative_stability.relative_output_stability`.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from ..adapters import Adapter
from ..attribution import Attribution
from .relative_stability import norm_order, relative_output_stability
from .stability import RelativeInputStability

__all__ = ["RelativeOutputStability"]


class RelativeOutputStability(RelativeInputStability):
    """Relative output stability of Agarwal et al. (2022) (lower is better).

    Perturbs as :class:`~agnostic_xai.metrics.stability.MaxSensitivity`, re-runs the
    explainer, evaluates the model on the original and perturbed rows (every output, in the
    adapter's output space: wrap with ``output="logit"`` for the paper's logits) and scores
    ``max_p change(φ, φ'_p) / max(||f(x) − f(x'_p)||, ε)``. Cost: the explainer's cost times
    ``n_perturbations``, plus ``n · (n_perturbations + 1)`` model rows.

    Parameters
    ----------
    n_perturbations : int, default=10
    radius : float, default=0.02
        Box half-width, as a fraction of each column's background standard deviation.
    norm : {"l2", "l1", "linf"}, default="l2"
    eps : float, default=1e-6
        Floor of the output change (and the zero guard of ``form="elementwise"``).
    form : {"norm_ratio", "elementwise"}, default="norm_ratio"
        How the explanation change is measured (``||Δφ||/||φ||``, or the paper's
        entry-by-entry percent change).
    perturbation : {"tabular", "uniform"}, default="tabular"
    flip_probability : float or None, default=None
    column_types : mapping of str to str, optional
        As :class:`~agnostic_xai.metrics.stability.MaxSensitivity`.
    random_state : int, default=0

    Notes
    -----
    The parameters are those of
    :class:`~agnostic_xai.metrics.stability.RelativeInputStability`, whose configuration it
    inherits; only the denominator differs. ``extras``: ``eps_share``/``eps_dominated`` per row (1/True where the output change was
    floored at ``ε``), ``column_types``, ``explainer_model_rows``.

    References
    ----------
    Agarwal, C., Johnson, N., Pawelczyk, M., Krishna, S., Saxena, E., Zitnik, M., & Lakkaraju,
    H. (2022). *Rethinking stability for attribution-based explanations.* ICLR PAIR2Struct.
    """

    name: ClassVar[str] = "relative_output_stability"

    def _score(
        self, attribution: Attribution, adapter: Adapter | None, background: np.ndarray | None, explainer: Any
    ) -> tuple[np.ndarray, dict[str, Any]]:
        norm_order(self.norm)
        X_perturbed, perturbed_values, extras = self._rerun_perturbed(attribution, background, explainer)
        P, n, d = X_perturbed.shape
        outputs = adapter.evaluate(attribution.data)
        perturbed_outputs = adapter.evaluate(X_perturbed.reshape(P * n, d)).reshape(P, n, -1)
        scores, guard = relative_output_stability(
            outputs, attribution.values, perturbed_outputs, perturbed_values, X=attribution.data,
            X_perturbed=X_perturbed, norm=self.norm, eps=self.eps, form=self.form, return_extras=True,
        )
        return scores, {**extras, **guard}
