"""Model adapters: one predict interface for torch modules, scikit-learn estimators and functions.

:func:`wrap` is the one place that dispatches on the model's type. :class:`Adapter` documents
the protocol a new model kind implements; :class:`MaskedRowsOnDevice` is the optional
capability of building masked rows where the model runs.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

from .._validation import check_choice, check_feature_names, check_int, shown
from ..exceptions import IncompatibleModelError, InvalidInputError, InvalidTypeError
from .base import DEFAULT_BATCH_SIZE, DEFAULT_CUDA_BATCH_SIZE, OUTPUTS, TASKS, Adapter, MaskedRowsOnDevice
from .callable_adapter import CallableAdapter
from .sklearn_adapter import SklearnAdapter

__all__ = [
    "Adapter",
    "MaskedRowsOnDevice",
    "TorchAdapter",
    "SklearnAdapter",
    "CallableAdapter",
    "wrap",
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_CUDA_BATCH_SIZE",
    "TASKS",
    "OUTPUTS",
]


def __getattr__(name: str) -> Any:
    # TorchAdapter imports torch; load it only when asked for.
    if name == "TorchAdapter":
        from .torch_adapter import TorchAdapter

        return TorchAdapter
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _is_torch_module(model: Any) -> bool:
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(model, torch.nn.Module)


def _is_exported_program(model: Any) -> bool:
    torch = sys.modules.get("torch")
    export = getattr(torch, "export", None) if torch is not None else None
    program = getattr(export, "ExportedProgram", None)
    return program is not None and isinstance(model, program)


def _is_sklearn_estimator(model: Any) -> bool:
    return hasattr(model, "fit") and hasattr(model, "get_params") and (
        hasattr(model, "predict") or hasattr(model, "predict_proba")
    )


def wrap(
    model: Any,
    *,
    task: str | None = None,
    output: str | None = None,
    feature_names: Sequence[str] | None = None,
    device: Any = None,
    batch_size: int | None = None,
    head: str | None = None,
) -> Adapter:
    """Put a model behind the :class:`Adapter` interface.

    Parameters
    ----------
    model : torch.nn.Module, torch.export.ExportedProgram, scikit-learn estimator, callable or Adapter
        The model. An adapter is returned as it is (other arguments must then be None); an
        ``ExportedProgram`` is explained through its ``.module()``.
    task : {"classification", "regression"}, optional
        Inferred when omitted: from the head or output count for torch modules, from
        ``is_classifier`` for scikit-learn; functions default to regression.
    output : {"probability", "logit", "raw"}, optional
        The explained quantity. Classifiers default to ``"probability"``, regressors to ``"raw"``.
        ``"probability"`` of a module that already returns probabilities explains them as they
        are (no second softmax); ``"raw"`` explains whatever the model returns.
    feature_names : sequence of str, optional
        Input column names; DataFrames are aligned to them by name. Taken from
        ``feature_names_in_`` for scikit-learn models fitted on a DataFrame.
    device : str or torch.device, optional
        Torch only: the device the module lives on (checked, never moved).
    batch_size : int, optional
        Rows per model call (default :data:`DEFAULT_BATCH_SIZE`, or
        :data:`DEFAULT_CUDA_BATCH_SIZE` for a torch module on a CUDA device).
    head : {"probability", "log_probability", "raw"}, optional
        Torch only: what the module's forward returns, when detection (its layers, its fx,
        TorchScript or ``torch.export`` graph, else its outputs on probe rows; see
        ``adapter.head_source``) should not decide. ``"raw"`` says it returns raw scores
        (logits), so ``output="probability"`` applies a softmax (sigmoid for one output).

    Returns
    -------
    Adapter

    Raises
    ------
    IncompatibleModelError
        When the model is of no supported kind, or cannot give the requested output.
    InvalidInputError
        For a bad ``task``, ``output``, ``feature_names``, ``device`` or ``batch_size``
        (:class:`~agnostic_xai.exceptions.InvalidTypeError` for one of the wrong type),
        refused before the model is called (a torch module is called once on a probe row to
        count its outputs).

    Warns
    -----
    HeadProbeWarning
        When a torch module's code names no probability head but its outputs on probe rows
        are probability vectors: they are explained as they are (pass ``head=`` to state it).

    Examples
    --------
    >>> import numpy as np
    >>> adapter = wrap(lambda X: X.sum(axis=1), feature_names=["a", "b"])
    >>> adapter.predict(np.array([[1.0, 2.0]]))
    array([[3.]])
    """
    if isinstance(model, Adapter):
        given = {"task": task, "output": output, "feature_names": feature_names, "device": device,
                 "batch_size": batch_size, "head": head}
        conflicting = [k for k, v in given.items() if v is not None]
        if conflicting:
            raise InvalidInputError(f"model is already an Adapter; {conflicting} cannot be changed by wrap().")
        return model
    if _is_exported_program(model):
        model = model.module()
    _check_wrap_arguments(task, output, feature_names, device, batch_size)
    if _is_torch_module(model):
        from .torch_adapter import TorchAdapter

        return TorchAdapter(
            model, task=task, output=output, feature_names=feature_names, device=device, batch_size=batch_size,
            head=head,
        )
    for label, value in (("device", device), ("head", head)):
        if value is not None:
            raise InvalidInputError(f"{label} applies to torch modules only.")
    if _is_sklearn_estimator(model):
        return SklearnAdapter(model, task=task, output=output, feature_names=feature_names, batch_size=batch_size)
    if callable(model):
        return CallableAdapter(model, task=task, output=output, feature_names=feature_names, batch_size=batch_size)
    raise IncompatibleModelError(
        f"Cannot wrap {type(model).__name__}: expected a torch.nn.Module, a fitted scikit-learn estimator, "
        "a function ndarray -> ndarray, or an Adapter."
    )


def _check_wrap_arguments(task: Any, output: Any, feature_names: Any, device: Any, batch_size: Any) -> None:
    """Refuse bad arguments of :func:`wrap` before any adapter calls the model."""
    if task is not None:
        check_choice(task, "task", TASKS)
    if output is not None:
        check_choice(output, "output", OUTPUTS)
    check_feature_names(feature_names)
    check_int(batch_size, "batch_size", minimum=1, allow_none=True)
    if device is not None:
        torch = sys.modules.get("torch")
        if torch is None or not isinstance(device, (str, torch.device)):
            raise InvalidTypeError(f"device must be a str or a torch.device, got {shown(device)}.")
        try:
            torch.device(device)
        except (RuntimeError, ValueError, TypeError):
            raise InvalidInputError(f"device {shown(device)} is not a torch device name (e.g. 'cpu', 'cuda:0').") from None
