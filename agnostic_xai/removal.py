"""What "feature i is removed" means, shared by explainers and metrics.

A coalition is a boolean mask over the model's columns: True keeps the row's value, False
removes it. The value of a coalition for row ``x`` is the expected explained output when
the removed columns are taken from a *reference set* ``R``::

    v(x, mask) = mean over r in R of f_target(where(mask, x, r))

The strategies differ only in ``R``:

``"marginal"`` (default)
    ``R`` is the background: the interventional (marginal-expectation) definition that
    SHAP's Independent masker and KernelExplainer use (Janzing et al. 2020).
``"mean"``
    ``R`` is the single per-column background mean (Quantus/captum-style baselines apply it
    per row; here it is per column, which is meaningful for mixed tabular columns).
``"baseline"``
    ``R`` is one given row.

Feature groups are removed as a unit by expanding group masks with
:meth:`FeatureGroups.expand` before evaluation. Evaluation is batched: all (row, coalition,
reference row) combinations are built block by block, so the peak memory is bounded by
``max_rows`` whatever the number of coalitions.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ._checks import check_int
from ._masked import MaskedModel
from ._validation import check_matrix, is_tensor, shown, tensor_to_array
from .adapters.base import Adapter
from .exceptions import InvalidInputError, InvalidTypeError, UnknownNameError

__all__ = ["STRATEGIES", "reference_set", "coalition_values", "block_rows", "DEFAULT_MAX_ROWS", "DEFAULT_CUDA_MAX_ROWS"]

STRATEGIES = ("marginal", "mean", "baseline")
#: Model rows built per block of masked evaluations (about 16 MB for 30 float64 columns).
DEFAULT_MAX_ROWS = 65536
#: The same on a CUDA device, where memory is plentiful next to the rows and every block
#: costs launches and a synchronisation: 2**20 rows is 120 MB for 30 float32 columns
#: (``benchmarks/cuda_native.py``: 2.7 ms/row at 65,536, 0.099 at 2**20 for exact_shapley).
DEFAULT_CUDA_MAX_ROWS = 1 << 20


def block_rows(max_rows: int | None, adapter: Adapter) -> int:
    """``max_rows``, or the default for the adapter's device when it is None.

    Raises
    ------
    InvalidInputError
        When ``max_rows`` is neither None nor a positive int.
    """
    if max_rows is None:
        device = getattr(adapter, "device", None)
        return DEFAULT_CUDA_MAX_ROWS if getattr(device, "type", "cpu") == "cuda" else DEFAULT_MAX_ROWS
    return check_int(max_rows, "max_rows", minimum=1, kind="a positive int or None")


def reference_set(strategy: str, background: Any, baseline: Any = None, *, n_features: int | None = None) -> np.ndarray:
    """The reference rows ``R`` that removed columns are drawn from.

    Parameters
    ----------
    strategy : {"marginal", "mean", "baseline"}
        See the module docstring.
    background : array-like of shape (b, d)
        Background rows (unused by ``"baseline"``; may then be None).
    baseline : array-like of shape (d,) or (1, d), optional
        The row used by ``"baseline"``.
    n_features : int, optional
        Expected number of columns.

    Returns
    -------
    ndarray of shape (r, d)
    """
    if not isinstance(strategy, str):
        raise InvalidTypeError(f"The removal strategy must be one of {STRATEGIES}, got {shown(strategy)}.")
    if strategy not in STRATEGIES:
        raise UnknownNameError(f"Unknown removal strategy {strategy!r}; choose one of {STRATEGIES}.")
    if strategy == "baseline":
        if baseline is None:
            raise InvalidInputError("The 'baseline' removal strategy needs a baseline row.")
        if is_tensor(baseline):
            baseline = tensor_to_array(baseline, "baseline")
        try:
            row = np.atleast_2d(np.asarray(baseline, dtype=float))
        except (TypeError, ValueError):
            raise InvalidTypeError(f"baseline must be one row of numbers, got {shown(baseline)}.") from None
        row = check_matrix(row, name="baseline", n_features=n_features)
        if row.shape[0] != 1:
            raise InvalidInputError(f"baseline must be one row, got {row.shape[0]}.")
        return row
    reference = check_matrix(background, name="background", n_features=n_features)
    if strategy == "mean":
        return reference.mean(axis=0, keepdims=True)
    return reference


def coalition_values(
    adapter: Adapter,
    X: np.ndarray,
    masks: np.ndarray,
    reference: np.ndarray,
    target: np.ndarray,
    *,
    max_rows: int | None = None,
) -> np.ndarray:
    """Expected explained output of each row under each coalition.

    Parameters
    ----------
    adapter : Adapter
        The model.
    X : ndarray of shape (n, d)
        Validated rows.
    masks : bool ndarray of shape (m, d) or (n, m, d)
        Coalitions over columns (True = kept), shared by all rows or one set per row.
    reference : ndarray of shape (r, d)
        Reference rows, from :func:`reference_set`.
    target : int ndarray of shape (n,)
        Output explained for each row.
    max_rows : int, optional
        Model rows built per block; bounds peak memory. None: :data:`DEFAULT_MAX_ROWS`, or
        :data:`DEFAULT_CUDA_MAX_ROWS` for a torch model on a CUDA device.

    Returns
    -------
    ndarray of shape (n, m)
        ``v[i, j] = mean_r f_target[i](where(masks[(i,) j], X[i], r))``.
    """
    n, d = X.shape
    masks = np.asarray(masks, dtype=bool)
    shared = masks.ndim == 2
    if masks.shape[-1] != d or masks.ndim not in (2, 3) or (not shared and masks.shape[0] != n):
        raise InvalidInputError(f"masks of shape {masks.shape} do not fit {n} rows of {d} columns.")
    m = masks.shape[-2]
    r = reference.shape[0]
    model = MaskedModel(adapter, X, reference, target)
    flat_masks = model.tensor(masks if shared else masks.reshape(n * m, d))
    values = torch.empty(n * m, dtype=torch.float64, device=model.device)
    pairs_per_block = max(1, block_rows(max_rows, adapter) // r)
    for start in range(0, n * m, pairs_per_block):
        pair = torch.arange(start, min(start + pairs_per_block, n * m), device=model.device)
        block_masks = flat_masks[pair % m] if shared else flat_masks[pair]
        values[pair] = model.outputs(pair // m, block_masks[:, None, :]).mean(dim=2).squeeze(1)
    return values.reshape(n, m).cpu().numpy()
