"""Expected gradients through ``shap.GradientExplainer``."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import shap
import torch
from torch import nn

from .._checks import check_int
from ._shap_common import draw_seed, numpy_global_seed
from ._shap_torch import explain_by_target, sum_over_groups
from .base import Explainer, Explanation

__all__ = ["GradientShap"]


class GradientShap(Explainer):
    """Expected gradients (Erion et al. 2021), computed by ``shap.GradientExplainer``.

    Integrated gradients averaged over background rows ``r`` as baselines, estimated by
    Monte Carlo over pairs of a background row ``r`` and a point ``α ~ U(0, 1)`` on the
    segment from ``r`` to ``x``::

        φ_i = E_{r, α} [ (x_i - r_i) ∂f_t/∂x_i (r + α (x - r)) ],

    so that ``Σ_i φ_i = f_t(x) - mean_r f_t(r)`` in expectation. shap draws ``n_samples``
    pairs per row; ``local_smoothing`` is 0 (no input noise), so the estimate targets the
    same quantity as :class:`~agnostic_xai.explainers.gradients.ExpectedGradients`. The
    differentiated module returns the adapter's explained output for the row's target
    (softmax/sigmoid applied for probabilities); rows are explained in one shap call per
    distinct target.

    Feature groups: the values are additive over columns in expectation, so a group's
    value is the sum of its columns' values.

    Parameters
    ----------
    n_samples : int
        Gradient evaluations per row (shap's ``nsamples``).
    random_state : int, numpy Generator or None
        Seed of the sampled baselines and positions. shap draws them from numpy's global
        generator, which is seeded for each call and restored afterwards.

    Notes
    -----
    ``extras["additivity_error"]`` is ``|f_t(x) - base - Σφ|`` per row: Monte Carlo error,
    shrinking like ``1 / sqrt(n_samples)``. shap evaluates the module itself; the rows it
    sends through it are counted as ``n_targets * b`` (a forward pass over the background
    per distinct target when shap is set up) plus ``n_samples`` per row (one forward and
    backward pass each). The base value ``mean_r f_t(r)`` is evaluated through the adapter
    at fit time, ``f(x)`` at explain time.
    """

    name: ClassVar[str] = "gradient_shap"
    requires_gradients: ClassVar[bool] = True
    is_stochastic: ClassVar[bool] = True
    is_additive: ClassVar[bool] = True
    supports_groups: ClassVar[bool] = True

    def __init__(self, *, n_samples: int = 200, random_state: Any = 0) -> None:
        self.n_samples = n_samples
        self.random_state = random_state

    def _fit(self) -> None:
        self.background_output_ = self.adapter_.evaluate(self.background_).mean(axis=0)

    def _explain(self, X: np.ndarray, target: np.ndarray) -> Explanation:
        n_samples = self.n_samples
        check_int(n_samples, "n_samples", minimum=1)
        adapter = self.adapter_
        seed = draw_seed(self._rng())
        batch = int(min(n_samples, adapter.batch_size))

        def explain_one(module: nn.Module, reference: torch.Tensor, rows: torch.Tensor) -> tuple[np.ndarray, float]:
            explainer = shap.GradientExplainer(module, reference, batch_size=batch, local_smoothing=0)
            # shap seeds numpy's global generator with rseed itself; the caller's state is restored.
            with numpy_global_seed(seed):
                phi = explainer.shap_values(rows, nsamples=int(n_samples), rseed=seed)
            return np.asarray(phi), 0.0

        values, _, n_targets = explain_by_target(adapter, X, self.background_, target, explain_one)
        base = self.background_output_[target]
        output = adapter.evaluate(X)[np.arange(X.shape[0]), target]
        return Explanation(
            values=sum_over_groups(values, self.groups_),
            base_values=base,
            extras={"additivity_error": np.abs(output - base - values.sum(axis=1))},
            extra_model_rows=n_targets * self.background_.shape[0] + int(n_samples) * X.shape[0],
        )
