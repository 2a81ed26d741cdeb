"""Adapter for ``torch.nn.Module`` models."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from .._threads import blas_single_threaded
from ..exceptions import IncompatibleModelError, InvalidInputError, ModelOutputError
from .base import DEFAULT_CUDA_BATCH_SIZE, Adapter

__all__ = ["TorchAdapter"]

_NUMPY_DTYPES = {torch.float64: np.float64, torch.float32: np.float32, torch.float16: np.float16}
_PROBABILITY_HEADS = (nn.Softmax, nn.Sigmoid)
_LOG_PROBABILITY_HEADS = (nn.LogSoftmax, nn.LogSigmoid)
# The same heads as they appear in compiled modules: TorchScript keeps the eager class name
# (``original_name``); a ``torch.export`` graph ends in the ATen operator.
_HEADS_BY_NAME = {
    "Softmax": "probability", "Sigmoid": "probability", "LogSoftmax": "log_probability", "LogSigmoid": "log_probability"
}
_HEADS_BY_OPERATOR = {
    "softmax": "probability", "_softmax": "probability", "sigmoid": "probability",
    "log_softmax": "log_probability", "_log_softmax": "log_probability", "log_sigmoid": "log_probability",
}


def _scripted_name(module: nn.Module) -> str | None:
    """Class name of the eager module a TorchScript module was compiled from (None if not scripted)."""
    return getattr(module, "original_name", None) if isinstance(module, torch.jit.ScriptModule) else None


def _last_leaf(module: nn.Module) -> nn.Module:
    """The last layer of (possibly nested, possibly scripted) ``nn.Sequential`` containers."""
    while True:
        if isinstance(module, nn.Sequential) and len(module) > 0:
            module = module[len(module) - 1]
        elif _scripted_name(module) == "Sequential" and len(module._modules) > 0:
            module = list(module._modules.values())[-1]
        else:
            return module


def _graph_head(module: nn.Module) -> str:
    """Head of an fx graph (``torch.export``, ``symbolic_trace``): what produces its only output."""
    outputs = [node for node in module.graph.nodes if node.op == "output"]
    if len(outputs) != 1:
        return "raw"
    returned = outputs[0].args[0]
    if isinstance(returned, (tuple, list)):
        if len(returned) != 1:
            return "raw"
        returned = returned[0]
    if not isinstance(returned, torch.fx.Node):
        return "raw"
    if returned.op == "call_module":
        return _head(module.get_submodule(str(returned.target)))
    if returned.op not in ("call_function", "call_method"):
        return "raw"
    name = getattr(returned.target, "__name__", str(returned.target)).split(".")[0]
    return _HEADS_BY_OPERATOR.get(name, "raw")


def _head(module: nn.Module) -> str:
    """``"probability"``, ``"log_probability"`` or ``"raw"``: what the module's last layer returns."""
    if isinstance(module, torch.fx.GraphModule):
        return _graph_head(module)
    leaf = _last_leaf(module)
    if isinstance(leaf, _PROBABILITY_HEADS):
        return "probability"
    if isinstance(leaf, _LOG_PROBABILITY_HEADS):
        return "log_probability"
    return _HEADS_BY_NAME.get(_scripted_name(leaf) or "", "raw")


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
        if isinstance(layer, nn.Linear) or _scripted_name(layer) == "Linear":
            # The weight's width, not ``in_features``: traced layers keep only their tensors.
            return int(layer.weight.shape[1])
        if isinstance(layer, nn.Bilinear) or _scripted_name(layer) == "Bilinear":
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


class TorchAdapter(Adapter):
    """Explain a ``torch.nn.Module`` on tabular data.

    Use :func:`agnostic_xai.wrap` to build one. The module is evaluated on its own device and
    dtype, in eval mode (its training flag is restored afterwards: the caller's module is
    not changed) and without autograd.

    Explained quantity for classifiers:

    * a module ending in raw scores (logits) can be explained as ``"probability"``
      (softmax, or sigmoid for a single output) or as ``"logit"``;
    * a module ending in ``Softmax``/``Sigmoid`` is detected (also when scripted with
      TorchScript or exported with ``torch.export``); its ``"probability"`` is explained
      and logits are refused rather than invented;
    * a single-output binary module is presented as two outputs, ``[1 - p, p]`` for
      probabilities and ``[-z, z]`` (the log-odds of each class) for logits, so that
      ``target`` is always a class index.
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
    ) -> None:
        if not isinstance(module, nn.Module):
            raise IncompatibleModelError(f"TorchAdapter needs a torch.nn.Module, got {type(module).__name__}.")
        self.module = module
        self.head = _head(module)
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
        with self._evaluation():
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

    def _check_output_space(self) -> None:
        if self.task == "regression":
            if self.head != "raw":
                raise InvalidInputError("A module ending in Softmax/Sigmoid is a classifier; pass task='classification'.")
            if self.output != "raw":
                raise InvalidInputError(f"A regression model's output is 'raw', not {self.output!r}.")
            return
        if self.head == "probability" and self.output == "logit":
            raise IncompatibleModelError(
                "The module ends in Softmax/Sigmoid, so its logits are not available (they are not invented from "
                "probabilities). Explain output='probability', or wrap the module without its final activation."
            )
        if self.head == "log_probability" and self.output == "logit":
            raise IncompatibleModelError(
                "The module ends in LogSoftmax/LogSigmoid: its outputs are log-probabilities, not logits. "
                "Explain output='probability', or wrap the module without its final activation."
            )

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
    def _evaluation(self) -> Iterator[None]:
        with self._eval_mode(), torch.inference_mode():
            yield

    # ------------------------------------------------------------------ the explained output
    def torch_output(self, x: torch.Tensor) -> torch.Tensor:
        """Differentiable map from an input tensor to the explained output, ``(n, n_outputs)``.

        ``x`` must already be on :attr:`device` with dtype :attr:`dtype`. Gradient explainers
        build on this function so that they stay on the device end to end.
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
        than a softmax over a last dimension of 2 or 3.
        """
        if self.output != "probability" or self.head != "raw" or self.task != "classification":
            return self.torch_output(x).gather(1, target[:, None]).squeeze(1)
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
        """Rows as a tensor on the module's device and dtype (never sharing memory with read-only input)."""
        array = np.asarray(X)
        numpy_dtype = _NUMPY_DTYPES.get(self.dtype, np.float32)
        array = array.astype(numpy_dtype, copy=not array.flags.writeable)
        return torch.from_numpy(array).to(device=self.device, dtype=self.dtype)

    def _forward(self, X: np.ndarray) -> np.ndarray:
        out = self.torch_output(self.to_tensor(X))
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
        out = self.torch_output(x)
        selected = out.gather(1, target.view(-1, 1)).squeeze(1)
        (grad,) = torch.autograd.grad(selected.sum(), x)
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
        with self._rows_lock:
            self._rows += array.shape[0]
        return grads
