"""DeepSHAP through ``shap.DeepExplainer``."""

from __future__ import annotations

import warnings
from typing import ClassVar

import numpy as np
import shap
import torch
from torch import nn

from ._shap_torch import explain_by_target, sum_over_groups
from .base import Explainer, Explanation

__all__ = ["DeepShap"]


class DeepShap(Explainer):
    """DeepSHAP (Lundberg & Lee 2017): DeepLIFT's rescale rule averaged over background rows.

    For each background row ``r``, DeepLIFT (Shrikumar et al. 2017) propagates multipliers
    ``m_i(x, r)`` through the network, replacing each nonlinearity's derivative by the
    ratio ``Δout / Δin`` between ``x`` and ``r``, so that ``Σ_i m_i (x_i - r_i) =
    f_t(x) - f_t(r)``. DeepSHAP averages::

        φ_i = mean_r m_i(x, r) (x_i - r_i),   hence   Σ_i φ_i = f_t(x) - mean_r f_t(r).

    shap computes it (``shap.DeepExplainer``) on a module that returns the adapter's
    explained output for the row's target: a module ending in logits explained as
    probabilities gets an ``nn.Softmax``/``nn.Sigmoid`` *module* appended, so the rescale
    rule applies to it as well (a model that already ends in Softmax is used as it is).
    Rows are explained in one shap call per distinct target.

    Additivity is not asserted by shap (it would raise for small float32 rounding); it is
    measured instead: ``extras["additivity_error"]`` is ``|f_t(x) - base - Σφ|`` per row.
    It is at rounding level for networks of Linear/ReLU/Sigmoid/Tanh/Softmax modules, and
    larger when the graph has operations DeepLIFT has no rule for (functional calls, a
    LogSoftmax head read as probabilities), where shap falls back to plain gradients.

    Feature groups: the values are additive over columns (they sum to ``f(x) - base``), so
    a group's value is the sum of its columns' values (DeepLIFT's summation-to-delta for a
    set of inputs). This is not the Shapley value of the group game that removal-based
    explainers compute; for a linear model the two coincide.

    Notes
    -----
    shap evaluates the module itself; the rows it sends through it are counted as
    ``n_targets * b`` (its expected value, once per distinct target) plus ``2 b`` per
    explained row (the row tiled ``b`` times next to the ``b`` background rows, one
    forward and one backward pass), with ``b`` background rows. ``f(x)`` for the
    additivity check is evaluated through the adapter (``n`` rows).
    """

    name: ClassVar[str] = "deep_shap"
    requires_gradients: ClassVar[bool] = True
    is_additive: ClassVar[bool] = True
    supports_groups: ClassVar[bool] = True

    def __init__(self) -> None:
        pass

    def _explain(self, X: np.ndarray, target: np.ndarray) -> Explanation:
        adapter, background = self.adapter_, self.background_

        def explain_one(module: nn.Module, reference: torch.Tensor, rows: torch.Tensor) -> tuple[np.ndarray, float]:
            explainer = shap.DeepExplainer(module, reference)
            with warnings.catch_warnings():
                # shap has no rule for agnostic_xai's Standardize layer and warns on every row;
                # it is affine, so the plain gradient shap falls back to is exact there.
                warnings.filterwarnings("ignore", message="unrecognized nn.Module: Standardize", category=UserWarning)
                phi = explainer.shap_values(rows, check_additivity=False)
            return np.asarray(phi), float(np.asarray(explainer.expected_value).reshape(-1)[0])

        values, base, n_targets = explain_by_target(adapter, X, background, target, explain_one)
        output = adapter._predict_validated(X)[np.arange(X.shape[0]), target]
        additivity_error = np.abs(output - base - values.sum(axis=1))
        b = background.shape[0]
        return Explanation(
            values=sum_over_groups(values, self.groups_),
            base_values=base,
            extras={"additivity_error": additivity_error},
            extra_model_rows=n_targets * b + 2 * b * X.shape[0],
        )
