"""A model in a form that travels to worker processes: the adapter itself, or its module as TorchScript.

:func:`~agnostic_xai.explain` on a cluster sends the model to the workers once. An adapter
that pickles (with cloudpickle) travels as it is. A torch module that does not (one holding
a lock, say) travels as TorchScript bytes, a :class:`ScriptedModel`, rebuilt into an adapter
once per worker; :func:`as_adapter` gives the adapter of either form where the task runs.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..adapters import Adapter, wrap
from ..exceptions import InvalidInputError

__all__ = ["ScriptedModel", "as_adapter", "portable_model"]


class ScriptedModel:
    """A torch module that does not pickle, sent as TorchScript bytes and rebuilt once per worker.

    Parameters
    ----------
    adapter : TorchAdapter
        The adapter of the module; its task, output, feature names and batch size are kept.
    example : ndarray of shape (n, d)
        Rows to trace the module with when it cannot be scripted.
    """

    def __init__(self, adapter: Any, example: np.ndarray) -> None:
        import io

        import torch

        module = adapter.module
        try:
            scripted = torch.jit.script(module)
        except Exception:  # noqa: BLE001 - scripting fails in many ways; tracing is the fallback
            with adapter.evaluation():
                scripted = torch.jit.trace(module, adapter.to_tensor(example[:1]))
        buffer = io.BytesIO()
        torch.jit.save(scripted, buffer)
        self.payload = buffer.getvalue()
        self.settings = {
            "task": adapter.task,
            "output": adapter.output,
            "feature_names": adapter.feature_names,
            "batch_size": adapter.batch_size,
        }
        self._adapter: Adapter | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {"payload": self.payload, "settings": self.settings}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._adapter = None

    def adapter(self) -> Adapter:
        """The adapter of the rebuilt module (built on first use, then kept)."""
        if self._adapter is None:
            import io

            import torch

            module = torch.jit.load(io.BytesIO(self.payload), map_location="cpu")
            self._adapter = wrap(module, **self.settings)
        return self._adapter


def as_adapter(model: Adapter | ScriptedModel) -> Adapter:
    """The adapter of a model as :func:`portable_model` gave it."""
    return model.adapter() if isinstance(model, ScriptedModel) else model


def portable_model(adapter: Adapter, example: np.ndarray) -> Adapter | ScriptedModel:
    """The adapter itself when it pickles (cloudpickle), else its torch module as TorchScript.

    Raises
    ------
    InvalidInputError
        The adapter does not pickle and is not a torch model.
    """
    import cloudpickle

    try:
        cloudpickle.dumps(adapter)
        return adapter
    except Exception as exc:
        if not adapter.is_differentiable:
            raise InvalidInputError(
                f"The model cannot be sent to Dask workers: pickling it failed ({type(exc).__name__}: {exc}). "
                "Define the model at module level (not inside a function), or use backend='local'."
            ) from exc
        return ScriptedModel(adapter, example)
