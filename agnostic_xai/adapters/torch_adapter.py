"""Adapter for ``torch.nn.Module`` models."""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator, Sequence
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from .._threads import blas_single_threaded
from ..exceptions import HeadProbeWarning, IncompatibleModelError, InvalidInputError, ModelOutputError
from .base import DEFAULT_CUDA_BATCH_SIZE, Adapter, MaskedRowsOnDevice
from .heads import HEADS, HeadReading, probe_head, read_head, scripted_name

__all__ = ["TorchAdapter"]

_NUMPY_DTYPES = {torch.float64: np.float64, torch.float32: np.float32, torch.float16: np.float16}


def _first_in_features(module: nn.Module) -> int | None:
    """``module.in_features`` when declared, else that of the first ``nn.Linear`` inside.

    Scripted ``Linear`` layers count; for an fx graph (``torch.export``) the width of its
    single two-dimensional input is used.
    """
    declared = getattr(module, "in_features", None)
    if isinstance(declared, int):
        return declared
    if isinstance(module, torch.fx.GraphModule):
        inputs = [node.meta.get("val") for node in module.graph.nodes if node.op == "placeholder"]
        if len(inputs) == 1 and isinstance(inputs[0], torch.Tensor) and inputs[0].ndim == 2:
            width = inputs[0].shape[1]
            if isinstance(width, int):
                return width
    for layer in module.modules():
        if isinstance(layer, nn.Linear) or scripted_name(layer) == "Linear":
            # The weight's width, not ``in_features``: traced layers keep only their tensors.
            return int(layer.weight.shape[1])
        if isinstance(layer, nn.Bilinear) or scripted_name(layer) == "Bilinear":
            return None
    return None


def _set_eval(module: nn.Module) -> None:
    """Put every layer in eval mode.

    Modules made by ``ExportedProgram.module()`` refuse ``eval()``: their train/eval
    behaviour was fixed when the program was exported, so only the flags are set.
    """
    try:
        module.eval()
    except NotImplementedError:
        for layer in module.modules():
            layer.training = False


class TorchAdapter(Adapter, MaskedRowsOnDevice):
    """Explain a ``torch.nn.Module`` on tabular data.

    Use :func:`agnostic_xai.wrap` to build one. The module is evaluated on its own device and
    dtype, in eval mode (its training flag is restored afterwards: the caller's module is
    not changed) and without autograd.

    Explained quantity for classifiers:

    * a module ending in raw scores (logits) can be explained as ``"probability"``
      (softmax, or sigmoid for a single output) or as ``"logit"``;
    * a module that returns probabilities itself is detected and its probabilities are
      explained as they are, never softmaxed a second time; logits are refused rather than
      invented. The head is read from ``nn.Softmax``/``nn.Sigmoid`` layers, from functional
      heads (``F.softmax``, ``x.softmax(1)``, ``torch.sigmoid``, ``F.log_softmax`` ...) in
      the module's fx trace, TorchScript graph or ``torch.export`` graph, and where no code
      can be read, from the module's outputs on probe rows (with a
      :class:`~agnostic_xai.exceptions.HeadProbeWarning` saying what was assumed); see
      :mod:`agnostic_xai.adapters.heads`. ``head=`` states it instead;
    * a single-output binary module is presented as two outputs, ``[1 - p, p]`` for
      probabilities and ``[-z, z]`` (the log-odds of each class) for logits, so that
      ``target`` is always a class index.

    The module is handled as untrusted code: every forward gets its own copy of the rows,
    and what it returns is copied, so a module that writes into its input or returns one
    reused output buffer cannot change the caller's data or an earlier result.

    Attributes
    ----------
    head : str
        What the module returns: ``"probability"``, ``"log_probability"`` or ``"raw"``.
    head_source : str
        How that was determined: ``"module"`` (its last layer), ``"torchscript"``,
        ``"graph"`` (fx / ``torch.export``), ``"probe"`` (its outputs) or ``"user"``.
    head_detail : str
        What was read or observed, in words.
    """

    is_differentiable: ClassVar[bool] = True

    def __init__(
        self,
        module: nn.Module,
        *,
        task: str | None = None,
        output: str | None = None,
        feature_names: Sequence[str] | None = None,
        device: str | torch.device | None = None,
        batch_size: int | None = None,
        head: str | None = None,
    ) -> None:
        if not isinstance(module, nn.Module):
            raise IncompatibleModelError(f"TorchAdapter needs a torch.nn.Module, got {type(module).__name__}.")
        if head is not None and head not in HEADS:
            raise InvalidInputError(f"head must be one of {HEADS} (what the module returns), got {head!r}.")
        self.module = module
        reading = read_head(module) if head is None else HeadReading(head, "user", "given by the caller")
        self.head, self.head_source, self.head_detail = reading.head or "raw", reading.source, reading.detail
        parameter = next(iter(module.parameters()), None)
        buffer = next(iter(module.buffers()), None)
        reference = parameter if parameter is not None else buffer
        module_device = reference.device if reference is not None else torch.device("cpu")
        self.dtype = reference.dtype if reference is not None and reference.is_floating_point() else torch.float32
        if device is not None and torch.device(device) != module_device and reference is not None:
            raise InvalidInputError(
                f"The module's parameters are on {module_device}, not {device}; move the module first "
                f"(module.to({str(device)!r})): the adapter does not move your model."
            )
        self.device = torch.device(device) if device is not None else module_device
        if batch_size is None and self.device.type == "cuda":
            batch_size = DEFAULT_CUDA_BATCH_SIZE

        n_features = len(feature_names) if feature_names is not None else _first_in_features(module)
        if n_features is None:
            raise InvalidInputError(
                "Cannot tell how many features the module takes (it has no nn.Linear layer); pass feature_names."
            )
        raw_k = self._raw_outputs(n_features)
        # A built-in last layer (reading from "module") is certain; any other reading is checked
        # against the outputs (a hand-written exp(z) / exp(z).sum() reads as a division).
        if head is None and reading.source != "module" and reading.head in (None, "raw") and task != "regression":
            self._probe_head(reading, n_features, declared=task == "classification" or output in ("probability", "logit"))
        if task is None:
            # Classification when the head or the requested output says so, or when there
            # are several outputs; a single raw output is read as regression.
            is_classifier = self.head != "raw" or output in ("probability", "logit") or raw_k >= 2
            task = "classification" if is_classifier else "regression"
        if output is None:
            output = "probability" if task == "classification" else "raw"
        super().__init__(
            task=task, output=output, n_features=n_features, feature_names=feature_names, batch_size=batch_size
        )
        self._n_outputs = 2 if (task == "classification" and raw_k == 1 and output != "raw") else raw_k
        self._check_output_space()

    # ------------------------------------------------------------------ set-up helpers
    def __getstate__(self) -> dict[str, Any]:
        # TorchScript modules cannot be pickled; they travel to worker processes (n_jobs > 1)
        # as the bytes torch.jit.save writes.
        state = super().__getstate__()
        import torch

        if isinstance(self.module, torch.jit.ScriptModule):
            import io

            buffer = io.BytesIO()
            torch.jit.save(self.module, buffer)
            state["module"] = ("torchscript", buffer.getvalue())
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        module = state.get("module")
        if isinstance(module, tuple) and len(module) == 2 and module[0] == "torchscript":
            import io

            import torch

            state = {**state, "module": torch.jit.load(io.BytesIO(module[1]), map_location=state.get("device"))}
        super().__setstate__(state)

    def _raw_outputs(self, n_features: int) -> int:
        with self.evaluation():
            probe = torch.zeros((1, n_features), dtype=self.dtype, device=self.device)
            try:
                out = self.module(probe)
            except Exception as exc:
                # TorchScript errors carry a whole traceback; its last line says what broke.
                lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
                reason = lines[-1] if lines else type(exc).__name__
                raise ModelOutputError(
                    f"The module raised {type(exc).__name__} on a probe row of {n_features} features: {reason}. "
                    f"Does it take {n_features} inputs, in the order of feature_names?"
                ) from exc
        if not isinstance(out, torch.Tensor) or out.ndim not in (1, 2):
            raise ModelOutputError("The module must return a tensor of shape (n, k) or (n,).")
        return 1 if out.ndim == 1 else int(out.shape[1])

    def _probe_head(self, reading: HeadReading, n_features: int, *, declared: bool) -> None:
        """Where the code names no head, decide from the module's outputs on probe rows (once, here)."""
        with self.evaluation():
            probed, observed = probe_head(
                self.module, n_features, self.dtype, self.device, single_is_classifier=declared
            )
        if probed is None:
            if reading.head is None:  # nothing readable, no evidence of probabilities: raw scores
                self.head_source, self.head_detail = "probe", f"{reading.detail}; {observed}"
            return
        why = reading.detail if reading.head is None else f"its last operation, {reading.detail}, is no known head"
        self.head, self.head_source, self.head_detail = probed, "probe", f"{why}; {observed}"
        warnings.warn(
            f"The module's output head could not be read from its code ({why}); {observed}. They are explained "
            f"as the module returns them, without a second softmax or sigmoid (head={probed!r}, head_source='probe'). "
            f"Pass head='raw' if the module returns raw scores (logits), or head={probed!r} to state it.",
            HeadProbeWarning,
            stacklevel=4,
        )

    def _check_output_space(self) -> None:
        if self.task == "regression":
            if self.head != "raw":
                raise InvalidInputError("A module ending in Softmax/Sigmoid is a classifier; pass task='classification'.")
            if self.output != "raw":
                raise InvalidInputError(f"A regression model's output is 'raw', not {self.output!r}.")
            return
        if self.head == "probability" and self.output == "logit":
            raise IncompatibleModelError(
                f"The module returns probabilities (a Softmax/Sigmoid head, {self._how()}), so its logits are not "
                "available (they are not invented from probabilities). Explain output='probability', or wrap the "
                "module without its final activation."
            )
        if self.head == "log_probability" and self.output == "logit":
            raise IncompatibleModelError(
                f"The module ends in LogSoftmax/LogSigmoid ({self._how()}): its outputs are log-probabilities, not "
                "logits. Explain output='probability', or wrap the module without its final activation."
            )

    def _how(self) -> str:
        """How the head was determined, for messages."""
        if self.head_source == "user":
            return "as stated by head="
        where = {"module": "its last layer", "torchscript": "its TorchScript graph", "graph": "its fx graph",
                 "probe": "its outputs on probe rows; pass head='raw' if that is wrong"}[self.head_source]
        return f"read from {where}: {self.head_detail}"

    @contextlib.contextmanager
    def _eval_mode(self) -> Iterator[None]:
        """The module in eval mode for the block; every submodule's training flag is restored."""
        was_training = [m.training for m in self.module.modules()]
        _set_eval(self.module)
        try:
            yield
        finally:
            for m, flag in zip(self.module.modules(), was_training, strict=True):
                m.training = flag

    @contextlib.contextmanager
    def evaluation(self) -> Iterator[None]:
        """The module in eval mode (its training flags restored afterwards), under ``torch.inference_mode``."""
        with self._eval_mode(), torch.inference_mode():
            yield

    # ------------------------------------------------------------------ the explained output
    def torch_output(self, x: torch.Tensor) -> torch.Tensor:
        """Differentiable map from an input tensor to the explained output, ``(n, n_outputs)``.

        ``x`` must already be on :attr:`device` with dtype :attr:`dtype`. Gradient explainers
        build on this function so that they stay on the device end to end. The module gets a
        copy of ``x`` and the result is a tensor of its own: a module that writes into its
        input, or returns a buffer it reuses, changes neither ``x`` nor an earlier result.
        """
        return self._output(x.clone()).clone()

    def _output(self, x: torch.Tensor) -> torch.Tensor:
        """:meth:`torch_output` on a tensor the module may write into (no copy made here).

        The result may be the module's own output tensor: callers copy it (:meth:`forward`
        converts it to float64 on the CPU) or reduce it to a new tensor (``gather``).
        """
        out = self.module(x)
        if out.ndim == 1:
            out = out[:, None]
        if self.task == "regression" or self.output == "raw":
            return out
        binary_single = out.shape[1] == 1
        if self.head == "probability":
            return torch.cat([1 - out, out], dim=1) if binary_single else out
        if self.head == "log_probability":
            p = out.exp()
            return torch.cat([1 - p, p], dim=1) if binary_single else p
        if self.output == "probability":
            if binary_single:
                p = torch.sigmoid(out)
                return torch.cat([1 - p, p], dim=1)
            return torch.softmax(out, dim=1)
        return torch.cat([-out, out], dim=1) if binary_single else out

    def torch_selected(self, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """The explained output of each row at its own target, ``(n,)``: ``torch_output(x)[i, target[i]]``.

        Removal-based methods need one output per masked row, not all of them. For a
        classifier explained as probabilities from logits, the selected probability is
        computed directly: ``σ(z_t − z_other)`` for two logits, ``1 / Σ_j exp(z_j − z_t)`` for
        more (an overflow gives the limit 0). That is the same number as softmax-then-select
        to rounding (measured within 1.2e-7 in float32), and several times cheaper on the CPU
        than a softmax over a last dimension of 2 or 3. The module gets a copy of ``x``; the
        result is always a new tensor.
        """
        return self.forward_selected(x.clone(), target)

    def forward_selected(self, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """:meth:`torch_selected` on a tensor the module may write into (the
        :class:`~agnostic_xai.adapters.MaskedRowsOnDevice` capability).

        For a freshly built block of masked rows that nothing reads afterwards (the masked
        evaluator's hot loop), where a copy per forward would be pure overhead. Must run
        inside :meth:`evaluation`; the rows are not counted here.

        Parameters
        ----------
        x : Tensor of shape (m, d)
            Rows on :attr:`device` with dtype :attr:`dtype`; the module may write into them.
        target : LongTensor of shape (m,)
            Output index per row.

        Returns
        -------
        Tensor of shape (m,)
        """
        if self.output != "probability" or self.head != "raw" or self.task != "classification":
            return self._output(x).gather(1, target[:, None]).squeeze(1)
        z = self.module(x)
        if z.ndim == 1:
            z = z[:, None]
        if z.shape[1] == 1:  # one logit for the positive class: p_t = σ(±z)
            return torch.sigmoid(torch.where(target == 1, z[:, 0], -z[:, 0]))
        if z.shape[1] == 2:
            margin = z[:, 1] - z[:, 0]
            return torch.sigmoid(torch.where(target == 1, margin, -margin))
        return (z - z.gather(1, target[:, None])).exp().sum(dim=1).reciprocal()

    def to_tensor(self, X: np.ndarray) -> torch.Tensor:
        """Rows as a new tensor on the module's device and dtype, never sharing memory with ``X``.

        The conversion to the module's dtype is the copy (no second one for a float32
        module), so a module that writes into its input cannot reach the caller's rows.
        """
        numpy_dtype = _NUMPY_DTYPES.get(self.dtype, np.float32)
        array = np.asarray(X).astype(numpy_dtype, copy=True)
        return torch.from_numpy(array).to(device=self.device, dtype=self.dtype)

    def forward(self, X: np.ndarray) -> np.ndarray:
        """One chunk of rows through the module, as float64 on the CPU (see :meth:`Adapter.forward`)."""
        # to_tensor gives the module a private copy; Adapter.evaluate copies the result.
        out = self._output(self.to_tensor(X))
        return out.detach().to(device="cpu", dtype=torch.float64).numpy()

    # ------------------------------------------------------------------ gradients
    @contextlib.contextmanager
    def gradient_mode(self) -> Iterator[None]:
        """Eval mode with autograd enabled; the module's training flags are restored afterwards."""
        with self._eval_mode(), torch.enable_grad():
            yield

    def gradient_tensor(self, x: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Explained outputs ``f_t(x)`` and their input gradients, as tensors on the device.

        Parameters
        ----------
        x : Tensor of shape (m, d)
            Inputs on :attr:`device`, dtype :attr:`dtype`.
        target : LongTensor of shape (m,)
            Output index per row.

        Returns
        -------
        (Tensor of shape (m,), Tensor of shape (m, d))
            Detached outputs and gradients. Must run under :meth:`gradient_mode`. Rows are
            independent, so the gradient of the sum is the per-row gradient.
        """
        x = x.detach().requires_grad_(True)
        # The module gets a copy: an in-place write into the leaf itself is refused by autograd.
        selected = self._output(x.clone()).gather(1, target.view(-1, 1)).squeeze(1)
        try:
            (grad,) = torch.autograd.grad(selected.sum(), x)
        except RuntimeError as exc:
            if "modified by an inplace operation" not in str(exc):
                raise
            raise IncompatibleModelError(
                "The module writes into its input in place after using it, so autograd cannot differentiate "
                "it (the values it needs were overwritten). Gradient methods do not apply to this module; use a "
                "perturbation method (kernel_shap, sampling_shapley, lime, feature_ablation), or make its "
                "forward write into a copy (x = x.clone())."
            ) from exc
        return selected.detach(), grad.detach()

    def gradient(self, X: Any, target: Any = None) -> np.ndarray:
        """Gradient of the explained output ``target`` with respect to each input row.

        Parameters
        ----------
        X : array-like of shape (n, d)
            Rows.
        target : int, array of shape (n,) or None
            Output per row; ``None`` is the predicted class (output 0 for regression).

        Returns
        -------
        ndarray of shape (n, d), float64
        """
        array = self.validate(X)
        targets = self.resolve_target(target, array)
        grads = np.empty(array.shape, dtype=np.float64)
        with blas_single_threaded(), self.gradient_mode():
            for start in range(0, array.shape[0], self.batch_size):
                stop = start + self.batch_size
                t = torch.as_tensor(targets[start:stop], device=self.device)
                _, g = self.gradient_tensor(self.to_tensor(array[start:stop]), t)
                grads[start:stop] = g.to(device="cpu", dtype=torch.float64).numpy()
        self.count_rows(array.shape[0])
        return grads
