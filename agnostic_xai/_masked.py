"""Masked model evaluation: ``f_t(where(mask, x, r))`` for blocks of rows, coalitions and reference rows.

Every removal-based computation of agnostic-xai (exact enumeration, the sampling Shapley
estimator, feature ablation, removal metrics) ends in the same inner loop: build the rows
``where(mask, x, r)`` for many (row, coalition, reference row) triples, run the model on
them and keep each row's target output. :class:`MaskedModel` is that loop, written once so
that the framework's own work stays small next to the model's:

* the rows ``X``, the reference rows and the targets are converted once, not per block;
* for an adapter with the :class:`~agnostic_xai.adapters.MaskedRowsOnDevice` capability
  (the torch adapter has it) the masked rows are built with ``torch.where`` directly in the
  model's dtype on its device, the forward runs in chunks of the adapter's ``batch_size``
  and only the selected target outputs are kept — nothing leaves the device until the
  caller asks for the result;
* other adapters get the same blocks built with numpy and evaluated through
  :meth:`~agnostic_xai.adapters.Adapter.evaluate`.

The values are those of the plain numpy definition: selecting entries with ``where`` is
exact in any dtype, so the model sees bit-identical inputs; outputs are averaged in float64.
Model rows are counted in the adapter's ``rows_evaluated`` either way
(:meth:`~agnostic_xai.adapters.Adapter.count_rows` on the device path). Only the public
adapter protocol is used: the capability is asked for, never the adapter's concrete type.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from .adapters.base import Adapter, MaskedRowsOnDevice
from .exceptions import ModelOutputError

__all__ = ["MaskedModel"]


class MaskedModel:
    """Target outputs of an adapter on masked rows, evaluated block by block.

    Parameters
    ----------
    adapter : Adapter
        The model.
    X : ndarray of shape (n, d)
        Validated rows.
    reference : ndarray of shape (r, d)
        Reference rows removed columns are taken from.
    target : int ndarray of shape (n,)
        Output explained for each row.

    Attributes
    ----------
    device : torch.device
        Where results live (the adapter's device when it has the
        :class:`~agnostic_xai.adapters.MaskedRowsOnDevice` capability, else the CPU).
    on_device : MaskedRowsOnDevice or None
        The adapter when it has that capability (its masked rows are built on ``device``),
        else None (they are built with numpy and evaluated with ``Adapter.evaluate``).
    """

    def __init__(self, adapter: Adapter, X: np.ndarray, reference: np.ndarray, target: np.ndarray) -> None:
        self.adapter = adapter
        # The capability is asked for, never the adapter's type: any model kind may offer it.
        on_device = adapter if isinstance(adapter, MaskedRowsOnDevice) else None
        self.on_device = on_device
        self.n_features = X.shape[1]
        if on_device is not None:
            self.device = on_device.device
            self.X = on_device.to_tensor(X)
            self.reference = on_device.to_tensor(reference)
        else:
            self.device = torch.device("cpu")
            self.X = np.asarray(X, dtype=np.float64)
            self.reference = np.asarray(reference, dtype=np.float64)
        self.target = torch.as_tensor(np.array(target, dtype=np.int64), device=self.device)  # a copy: torch refuses read-only memory
        self._target_np = np.asarray(target, dtype=np.int64)

    def tensor(self, array: Any, dtype: torch.dtype | None = None) -> torch.Tensor:
        """``array`` as a tensor on :attr:`device` (a read-only array is copied, never shared)."""
        if isinstance(array, np.ndarray) and not array.flags.writeable:
            array = array.copy()
        return torch.as_tensor(array, dtype=dtype, device=self.device)

    def outputs(self, rows: torch.Tensor, masks: torch.Tensor, refs: torch.Tensor | None = None) -> torch.Tensor:
        """``f_t(where(mask, x, r))`` for a block, as float64 on :attr:`device`.

        Parameters
        ----------
        rows : LongTensor of shape (c,)
            Indices into ``X``.
        masks : BoolTensor of shape (c, q, d) or (q, d)
            Coalitions over columns (True = kept from the row), per row or shared.
        refs : LongTensor of shape (c, k), optional
            Indices of the reference rows used for each row; None uses all of them.

        Returns
        -------
        Tensor of shape (c, q, k), float64
            ``out[a, j, l] = f_{t[rows[a]]}(where(masks[a, j], X[rows[a]], R[refs[a, l]]))``.
        """
        c, d = rows.shape[0], self.n_features
        if masks.ndim == 2:
            masks = masks.unsqueeze(0).expand(c, -1, -1)
        q = masks.shape[1]
        if self.on_device is not None:
            x = self.X[rows]
            reference = self.reference.unsqueeze(0) if refs is None else self.reference[refs]
            k = reference.shape[1]
            block = torch.where(masks[:, :, None, :], x[:, None, None, :], reference[:, None, :, :])
            flat = block.reshape(-1, d)
            target = self.target[rows].repeat_interleave(q * k)
            out = self._forward_selected(self.on_device, flat, target)
        else:
            rows_np = rows.cpu().numpy()
            masks_np = masks.cpu().numpy()
            reference = (
                self.reference[None] if refs is None else self.reference[refs.cpu().numpy()]
            )
            k = reference.shape[1]
            block = np.where(masks_np[:, :, None, :], self.X[rows_np][:, None, None, :], reference[:, None, :, :])
            predictions = self.adapter.evaluate(block.reshape(-1, d))
            target_np = np.repeat(self._target_np[rows_np], q * k)
            out = torch.from_numpy(predictions[np.arange(target_np.shape[0]), target_np])
        return out.reshape(c, q, k)

    def _forward_selected(self, on_device: MaskedRowsOnDevice, flat: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Forward ``flat`` in chunks of the adapter's batch size; each row's target output in float64.

        ``flat`` must be a tensor no one else holds: the module may write into it.
        """
        n, size = flat.shape[0], self.adapter.batch_size
        selected = torch.empty(n, dtype=torch.float64, device=self.device)
        with self.adapter.evaluation():
            for start in range(0, n, size):
                stop = min(start + size, n)
                try:
                    # ``flat`` was just built by torch.where and nothing reads it afterwards, so
                    # each forward may own its disjoint slice: a module that writes into its
                    # input changes no row another forward sees, and no copy is needed.
                    out = on_device.forward_selected(flat[start:stop], target[start:stop])
                except Exception as exc:  # the user's model raised
                    raise ModelOutputError(f"The model raised {type(exc).__name__}: {exc}") from exc
                if out.shape != (stop - start,):
                    raise ModelOutputError(
                        f"The model returned {tuple(out.shape)} selected outputs for {stop - start} rows."
                    )
                selected[start:stop] = out
        if not bool(torch.isfinite(selected).all()):
            bad = int((~torch.isfinite(selected)).sum())
            raise ModelOutputError(f"The model returned NaN or infinite values for {bad} of {n} rows.")
        self.adapter.count_rows(n)
        return selected
