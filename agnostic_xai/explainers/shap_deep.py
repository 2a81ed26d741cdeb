"""DeepSHAP through ``shap.DeepExplainer``."""

from __future__ import annotations

import warnings
from typing import ClassVar

import numpy as np
import shap
import torch
from torch import nn

from ..exceptions import ImpossibleValuesWarning, IncompatibleModelError
from ._shap_torch import explain_by_target, sum_over_groups
from .base import Explainer, Explanation

#: Largest |φ_j| a probability's Shapley value can have, with room for float32 rounding.
_PROBABILITY_BOUND = 1.0 + 1e-5

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

    Softmax heads. shap's rule for ``nn.Softmax`` is the elementwise rescale
    ``m_{z_t} = Δp_t / Δz_t``: it charges the whole change of the target probability to the
    target's own logit, so when that logit barely moves while the others do, the multiplier
    and the values explode while their sum stays ``Δp_t``. The additivity error cannot see
    it. A probability's Shapley values lie in ``[-1, 1]`` (weighted averages of differences of
    a ``[0, 1]`` output), so rows with some ``|φ_j| > 1`` are certainly wrong: they are flagged
    in ``extras["impossible_values"]`` and an
    :class:`~agnostic_xai.exceptions.ImpossibleValuesWarning` says how many. The values are
    left as shap computes them (they equal ``shap.DeepExplainer``'s), and rows within the
    bound can still be far from the Shapley values; for probabilities through a softmax,
    prefer ``exact_shapley``/``sampling_shapley`` as the reference, or explain
    ``output="logit"``.

    TorchScript. shap attaches forward hooks to every submodule, which scripted modules do
    not support; :meth:`fit` refuses them with an
    :class:`~agnostic_xai.exceptions.IncompatibleModelError` naming the explainers that do
    work (``deep_lift`` follows scripted ``nn.Sequential`` models layer by layer).

    Feature groups: the values are additive over columns (they sum to ``f(x) - base``), so
    a group's value is the sum of its columns' values (DeepLIFT's summation-to-delta for a
    set of inputs). This is not the Shapley value of the group game that removal-based
    explainers compute; for a linear model the two coincide.

    Notes
    -----
    ``extras``: ``"additivity_error"`` and ``"impossible_values"`` (bool per row; always False
    unless probabilities are explained).

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

    def _fit(self) -> None:
        scripted = [m for m in self.adapter_.module.modules() if isinstance(m, torch.jit.ScriptModule)]
        if scripted:
            raise IncompatibleModelError(
                "deep_shap runs shap.DeepExplainer, which registers forward hooks on every layer, and TorchScript "
                "modules do not support hooks (this model is, or contains, a scripted module). Use deep_lift (it "
                "follows scripted nn.Sequential models layer by layer), integrated_gradients or expected_gradients "
                "(any differentiable model), or exact_shapley / sampling_shapley (any model)."
            )

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
        output = adapter.evaluate(X)[np.arange(X.shape[0]), target]
        additivity_error = np.abs(output - base - values.sum(axis=1))
        impossible = np.zeros(X.shape[0], dtype=bool)
        if adapter.output == "probability":
            impossible = np.abs(values).max(axis=1, initial=0.0) > _PROBABILITY_BOUND
        if impossible.any():
            warnings.warn(
                f"deep_shap: {int(impossible.sum())} of {X.shape[0]} rows have a value |φ_j| > 1 for a probability, "
                "which no Shapley value can take (the rescale rule through the softmax divided by a tiny change of "
                "the target's logit); they are flagged in extras['impossible_values']. Explain output='logit', or "
                "use exact_shapley or sampling_shapley for these rows.",
                ImpossibleValuesWarning,
                stacklevel=3,
            )
        b = background.shape[0]
        return Explanation(
            values=sum_over_groups(values, self.groups_),
            base_values=base,
            extras={"additivity_error": additivity_error, "impossible_values": impossible},
            extra_model_rows=n_targets * b + 2 * b * X.shape[0],
        )
