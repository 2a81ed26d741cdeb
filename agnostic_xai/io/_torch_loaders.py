"""Reading torch's model files: TorchScript, ``torch.export`` programs and ``torch.save``.

This module owns the three torch loaders: TorchScript through torch's C++ loader, a
``torch.export`` program only when trusted (and only with a dynamic batch dimension), and
``torch.save`` files with the weights-only unpickler, loading a state dict into the
``model_class`` it imports; a pickled module is opened only when trusted.
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..exceptions import InvalidInputError, UnsafeFileError
from ._model_format import first_line
from ._untrusted import TRUST_HINT, pickle_imports, refuse_pickle, torch_allowed_globals, torch_pickle_bytes

__all__ = ["load_torch_export", "load_torch_save", "load_torchscript"]


def load_torchscript(path: Path) -> Any:
    """The TorchScript module in ``path``, on the CPU, in eval mode."""
    import torch

    try:
        with warnings.catch_warnings():
            # torch 2.13 deprecates TorchScript; reading an existing archive is still supported.
            warnings.filterwarnings("ignore", message="`torch.jit", category=DeprecationWarning)
            module = torch.jit.load(str(path), map_location="cpu")
    except Exception as exc:
        raise InvalidInputError(f"{path} could not be read as TorchScript ({first_line(exc)}).") from exc
    return module.eval()


def load_torch_export(path: Path, trust_model: bool) -> Any:
    """The module of the ``torch.export`` program in ``path``; refused unless ``trust_model``."""
    if not trust_model:
        raise UnsafeFileError(
            f"{path} is a torch.export program. torch.export.load can run code from the file (it unpickles "
            "some weights, evaluates shape expressions and loads compiled libraries), so it is not opened "
            f"unless trusted. {TRUST_HINT}; or save the model with torch.jit.save, or as a state dict with "
            "model_class."
        )
    import torch

    try:
        program = torch.export.load(str(path))
        module = program.module()
    except Exception as exc:
        raise InvalidInputError(f"{path} could not be read as a torch.export program ({first_line(exc)}).") from exc
    _check_dynamic_batch(path, program)
    return module


def _check_dynamic_batch(path: Path, program: Any) -> None:
    """Refuse programs exported for a fixed number of rows: explainers evaluate any batch size."""
    from torch.export.graph_signature import InputKind

    user_inputs = {s.arg.name for s in program.graph_signature.input_specs if s.kind == InputKind.USER_INPUT}
    for node in program.graph.nodes:
        value = node.meta.get("val")
        if node.op != "placeholder" or node.name not in user_inputs or getattr(value, "ndim", 0) < 1:
            continue
        rows = value.shape[0]
        if isinstance(rows, int):
            raise InvalidInputError(
                f"{path} was exported for exactly {rows} rows per call; explainers send batches of any size. "
                "Export it with a dynamic batch dimension: torch.export.export(model, (x,), "
                "dynamic_shapes=({0: torch.export.Dim('batch')},))."
            )


def _import_model_class(spec: str) -> type:
    import torch

    module_name, sep, qualname = spec.partition(":")
    if not sep or not module_name or not qualname:
        raise InvalidInputError(f"model_class must look like 'package.module:ClassName', got {spec!r}.")
    try:
        target: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise InvalidInputError(
            f"Cannot import module {module_name!r} named by model_class ({first_line(exc)}); "
            "make it importable (install it, or add its folder to PYTHONPATH)."
        ) from exc
    for part in qualname.split("."):
        if not hasattr(target, part):
            raise InvalidInputError(f"Module {module_name!r} has no attribute {qualname!r} (model_class={spec!r}).")
        target = getattr(target, part)
    if not (isinstance(target, type) and issubclass(target, torch.nn.Module)):
        raise InvalidInputError(f"model_class {spec!r} is not a torch.nn.Module subclass.")
    return target


def _state_dict_module(path: Path, state: Mapping[str, Any], model_class: str | type) -> Any:
    import torch

    cls = _import_model_class(model_class) if isinstance(model_class, str) else model_class
    if not (isinstance(cls, type) and issubclass(cls, torch.nn.Module)):
        raise InvalidInputError(f"model_class must be a torch.nn.Module subclass, got {cls!r}.")
    name = f"{cls.__module__}:{cls.__qualname__}"
    try:
        module = cls()
    except TypeError as exc:
        raise InvalidInputError(
            f"model_class {name} must be constructible without arguments ({first_line(exc)}); give it "
            "defaults that match the saved weights, or save the model with torch.jit.save instead."
        ) from exc
    try:
        module.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise InvalidInputError(f"The weights in {path} do not fit {name}: {exc}") from exc
    return module.eval()


def _weights_only_reason(exc: BaseException) -> str:
    """The line of torch's weights-only error that says what was refused."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    for line in lines:
        if "WeightsUnpickler error:" in line:
            return line.split("WeightsUnpickler error:", 1)[1].strip()
    for line in lines:
        if "GLOBAL" in line or "Unsupported" in line:
            return line
    return first_line(exc)


def load_torch_save(path: Path, trust_model: bool, model_class: str | type | None) -> Any:
    """The module in a ``torch.save`` file: a state dict loaded into ``model_class``, or a trusted pickle."""
    import pickle

    import torch

    try:
        # weights_only=True rebuilds tensors and plain containers only; it never imports or
        # calls anything else named in the file.
        obj = torch.load(str(path), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        if not trust_model:
            allowed = torch_allowed_globals()
            imports = [n for n in pickle_imports(torch_pickle_bytes(path), limit=64) if n not in allowed][:8]
            if imports:
                raise refuse_pickle(
                    path,
                    "a torch.save file holding pickled Python objects, not only tensors (for example a whole "
                    "nn.Module saved with torch.save(model))",
                    imports,
                ) from None
            raise InvalidInputError(
                f"{path} could not be read as a torch.save file of tensors ({_weights_only_reason(exc)}). "
                "If it is a pickle you trust, pass trust_model=True."
            ) from None
        try:
            obj = torch.load(str(path), map_location="cpu", weights_only=False)
        except Exception as inner:
            raise InvalidInputError(f"{path} could not be unpickled ({first_line(inner)}).") from inner
    except Exception as exc:
        raise InvalidInputError(f"{path} could not be read as a torch.save file ({first_line(exc)}).") from exc

    if isinstance(obj, torch.nn.Module):
        if model_class is not None:
            raise InvalidInputError(f"{path} holds a whole module; model_class applies only to state dicts.")
        return obj.eval()
    if isinstance(obj, Mapping) and obj and all(isinstance(v, torch.Tensor) for v in obj.values()):
        if model_class is None:
            raise InvalidInputError(
                f"{path} holds a state dict (weights only). Name the module class to load them into: "
                "model_class='package.module:ClassName' (--model-class)."
            )
        return _state_dict_module(path, obj, model_class)
    if isinstance(obj, Mapping):
        keys = [str(k) for k in list(obj)[:6]]
        raise InvalidInputError(
            f"{path} holds a dict with keys {keys}, not a state dict of tensors; save module.state_dict() "
            "on its own (or the module with torch.jit.save)."
        )
    raise InvalidInputError(f"{path} holds a {type(obj).__name__}, not a model or a state dict.")
