"""Torch plumbing for the shap explainers that differentiate the module (Deep, Gradient).

shap's ``DeepExplainer`` and ``GradientExplainer`` call an ``nn.Module`` themselves, so the
adapter's explained output has to be a module too: :class:`TargetOutput` is the adapter's
:meth:`~agnostic_xai.adapters.TorchAdapter.torch_output` (softmax or sigmoid applied when
the adapter explains probabilities), restricted to one output column. The activations are
``nn.Softmax``/``nn.Sigmoid`` *modules*, not functional calls, because DeepSHAP's
rescale rule is attached to modules: a functional softmax would be differentiated
plainly and the attributions would no longer sum to the output difference.

:func:`preserved_module` keeps shap from changing the caller's module: shap puts it in
eval mode, clears its parameter gradients and leaves interim tensors on layers nested in
custom (non-``Sequential``) modules.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from ..groups import FeatureGroups

if TYPE_CHECKING:
    from ..adapters.torch_adapter import TorchAdapter

__all__ = ["TargetOutput", "explain_by_target", "preserved_module", "sum_over_groups"]


class TargetOutput(nn.Module):
    """Column ``column`` of the adapter's explained output, as an ``nn.Module``.

    Parameters
    ----------
    adapter : TorchAdapter
        The adapter whose output is explained.
    column : int
        The output (class) index.

    Notes
    -----
    Inputs are cast to the module's dtype first: shap's GradientExplainer builds its
    interpolated inputs in torch's default dtype (float32) whatever the model's.
    """

    def __init__(self, adapter: TorchAdapter, column: int) -> None:
        super().__init__()
        self.model = adapter.module
        self.column = int(column)
        self.dtype = adapter.dtype
        self.task = adapter.task
        self.output = adapter.output
        self.head = adapter.head
        self.softmax = nn.Softmax(dim=1)
        self.sigmoid = nn.Sigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # The model gets its own copy of the rows and its output is copied, as in the adapters:
        # a module that writes into its input or reuses an output buffer cannot change shap's tensors.
        out = self.model(x.to(self.dtype).clone()).clone()
        if out.ndim == 1:
            out = out[:, None]
        binary_single = out.shape[1] == 1
        if self.task == "regression" or self.output == "raw":
            pass
        elif self.head == "probability":
            out = torch.cat([1 - out, out], dim=1) if binary_single else out
        elif self.head == "log_probability":
            p = out.exp()
            out = torch.cat([1 - p, p], dim=1) if binary_single else p
        elif self.output == "probability":
            if binary_single:
                p = self.sigmoid(out)
                out = torch.cat([1 - p, p], dim=1)
            else:
                out = self.softmax(out)
        elif binary_single:  # logits of a single-output binary model: [-z, z]
            out = torch.cat([-out, out], dim=1)
        return out[:, self.column : self.column + 1]


@contextlib.contextmanager
def preserved_module(adapter: TorchAdapter) -> Iterator[None]:
    """Run shap on ``adapter.module`` and leave the module as it was.

    Inside the block the module is in eval mode with autograd on
    (:meth:`TorchAdapter.gradient_mode`). Afterwards its training flags, its parameters'
    ``.grad`` and its attributes are restored: attributes ``x``/``y`` that shap's DeepLIFT
    hooks leave on layers are removed.
    """
    module = adapter.module
    grads = [(p, p.grad) for p in module.parameters()]
    before = {id(m): (hasattr(m, "x"), hasattr(m, "y")) for m in module.modules()}
    try:
        with adapter.gradient_mode():
            yield
    finally:
        for m in module.modules():
            had_x, had_y = before.get(id(m), (False, False))
            for name, had in (("x", had_x), ("y", had_y)):
                if not had and hasattr(m, name):
                    delattr(m, name)
        for p, g in grads:
            p.grad = g


#: ``explain_one(module, background_tensor, rows_tensor) -> (values (m, d), base value)``.
ExplainOne = Callable[[nn.Module, torch.Tensor, torch.Tensor], tuple[np.ndarray, float]]


def explain_by_target(
    adapter: TorchAdapter, X: np.ndarray, background: np.ndarray, target: np.ndarray, explain_one: ExplainOne
) -> tuple[np.ndarray, np.ndarray, int]:
    """Run a shap torch explainer once per distinct target, on that target's rows only.

    shap's torch explainers attribute every output of the module they are given; giving
    them :class:`TargetOutput` for one class at a time costs one pass per row instead of
    one per row and class.

    Returns
    -------
    values : ndarray of shape (n, d)
    base_values : ndarray of shape (n,)
    n_targets : int
        Number of distinct targets (shap evaluated the background once for each).
    """
    values = np.empty(X.shape, dtype=np.float64)
    base = np.empty(X.shape[0], dtype=np.float64)
    background_tensor = adapter.to_tensor(background)
    classes = np.unique(target)
    for c in classes:
        rows = np.flatnonzero(target == c)
        with preserved_module(adapter):
            phi, expected = explain_one(TargetOutput(adapter, int(c)), background_tensor, adapter.to_tensor(X[rows]))
        values[rows] = np.asarray(phi, dtype=np.float64).reshape(rows.size, X.shape[1])
        base[rows] = expected
    return values, base, classes.size


def sum_over_groups(values: np.ndarray, groups: FeatureGroups | None) -> np.ndarray:
    """Column attributions ``(n, d)`` summed within each group ``(n, g)`` (unchanged without groups)."""
    if groups is None:
        return values
    return values @ groups.matrix.T.astype(np.float64)
