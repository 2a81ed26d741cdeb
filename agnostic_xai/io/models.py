"""Load a model from a file, refusing files that would run code unless they are trusted.

Many model files are Python pickles, and unpickling a file can run any code its author
chose. :func:`load_model` therefore looks at a file's *content* (and extension) before
deserialising it, and opens the code-executing kinds only with ``trust_model=True``
(``--trust-model`` on the command line).

==========================  ==========================================  ==================
Format                      How it is read                              Untrusted file
==========================  ==========================================  ==================
TorchScript                 ``torch.jit.load(path, map_location="cpu")``  loaded
``torch.save`` state dict   ``torch.load(weights_only=True)`` into      loaded
                            ``model_class()`` (``load_state_dict``)
skops (scikit-learn)        ``skops.io.load``                            loaded when skops
                                                                        trusts every type
``torch.export`` (``.pt2``)  ``torch.export.load(path).module()``       refused
``torch.save`` of a module  ``torch.load(weights_only=False)``          refused
pickle / joblib             ``joblib.load``                              refused
==========================  ==========================================  ==================

Why ``torch.export`` programs need trust although they are not pickles: in torch 2.13,
``torch.export.load`` unpickles weights flagged as pickled with ``weights_only=False``,
retries sample inputs with ``weights_only=False`` when the safe loader fails, parses the
shape expressions in the file with ``sympy.sympify`` (which evaluates Python) and loads
AOTInductor shared libraries; its own documentation says never to load one from an
untrusted source. TorchScript archives, by contrast, are read by torch's C++ loader, which
rebuilds only TorchScript types and compiled TorchScript code (torch operators, no Python).

safetensors files are not supported: the ``safetensors`` package is not a dependency.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import pickletools
import warnings
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..adapters import Adapter, wrap
from .._validation import check_path
from ..exceptions import InvalidInputError, UnsafeFileError

__all__ = ["MODEL_FORMATS", "detect_model_format", "load_model", "read_model"]

#: Format names returned by :func:`detect_model_format`.
MODEL_FORMATS = ("torchscript", "torch_export", "torch_save", "skops", "pickle", "joblib")

_PICKLE_SUFFIXES = (".pkl", ".pickle")
_JOBLIB_SUFFIXES = (".joblib",)
_TORCH_SUFFIXES = (".pt", ".pth")
_EXPORT_SUFFIXES = (".pt2",)
_SKOPS_SUFFIXES = (".skops",)
# ``torch.save`` in the legacy (non-zip) format starts with this pickled magic number.
_LEGACY_TORCH_MAGIC = b"\x8a\nl\xfc\x9cF\xf9 j\xa8P\x19"
# Bytes of a pickle read for the names it imports (for error messages only).
_PICKLE_SCAN_BYTES = 16 * 2**20
_TRUST_HINT = (
    "Pass trust_model=True (--trust-model on the command line) only for a file you made or fully trust"
)


# --------------------------------------------------------------------------- format detection
def _check_file(path: str | Path) -> Path:
    path = Path(check_path(path, "path"))
    if not path.exists():
        raise InvalidInputError(f"Model file {str(path)!r} does not exist; check the path.")
    if not path.is_file():
        raise InvalidInputError(f"Model path {str(path)!r} is not a file.")
    if path.stat().st_size == 0:
        raise InvalidInputError(f"Model file {str(path)!r} is empty.")
    return path


def _zip_names(path: Path) -> list[str] | None:
    """Member names of a zip archive, or None when the file is not a readable zip."""
    if not zipfile.is_zipfile(path):
        return None
    try:
        with zipfile.ZipFile(path) as archive:
            return archive.namelist()
    # A damaged header can claim any zip version: zipfile then raises NotImplementedError.
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError):
        return None


def _zip_format(names: Sequence[str]) -> str | None:
    if "schema.json" in names:
        return "skops"
    # Members sit under one root folder ("<name>/...") in torch's archives.
    tails = {name.split("/", 1)[1] if "/" in name else name for name in names}
    if "archive_format" in tails or "serialized_exported_program.json" in tails:
        return "torch_export"
    if "constants.pkl" in tails or any(tail.startswith("code/") for tail in tails):
        return "torchscript"
    if "data.pkl" in tails:
        return "torch_save"
    return None


def _is_pickle(head: bytes) -> bool:
    # Protocol 2+ pickles start with PROTO; older protocols have no header and are
    # recognised by extension only.
    return len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5


def detect_model_format(path: str | Path) -> str:
    """Name the format of a model file from its content (and, failing that, its extension).

    Nothing in the file is deserialised.

    Parameters
    ----------
    path : str or Path
        The file.

    Returns
    -------
    str
        One of :data:`MODEL_FORMATS`.

    Raises
    ------
    InvalidInputError
        When the file is missing, empty, corrupt or of no supported format.
    """
    path = _check_file(path)
    suffix = path.suffix.lower()
    names = _zip_names(path)
    if names is not None:
        found = _zip_format(names)
        if found is None:
            raise InvalidInputError(
                f"{path} is a zip archive, but not a TorchScript, torch.export, torch.save or skops file "
                f"(its members: {names[:5]}{' ...' if len(names) > 5 else ''})."
            )
        return found
    with path.open("rb") as file:
        head = file.read(32)
    if _is_pickle(head):
        if head[2:].startswith(_LEGACY_TORCH_MAGIC):
            return "torch_save"
        return "joblib" if suffix in _JOBLIB_SUFFIXES else "pickle"
    if suffix in _JOBLIB_SUFFIXES:
        return "joblib"  # joblib may compress its pickles (zlib, gzip, lz4, ...)
    if suffix in _PICKLE_SUFFIXES:
        return "pickle"
    expected = {
        **dict.fromkeys(_TORCH_SUFFIXES, "torch.save / TorchScript (a zip archive)"),
        **dict.fromkeys(_EXPORT_SUFFIXES, "torch.export (a zip archive)"),
        **dict.fromkeys(_SKOPS_SUFFIXES, "skops (a zip archive)"),
    }.get(suffix)
    if expected is not None:
        raise InvalidInputError(f"{path} is not a valid {expected} file: it is truncated or corrupt.")
    raise InvalidInputError(
        f"{path} is not a model file this library can read. Supported: TorchScript (torch.jit.save), "
        "a torch.save state dict (.pt/.pth, with model_class), torch.export (.pt2), skops (.skops), "
        "and, only when trusted, pickle/joblib (.pkl/.pickle/.joblib)."
    )


# --------------------------------------------------------------------------- pickle inspection
def _pickle_imports(data: bytes, limit: int = 8) -> list[str]:
    """Names of the Python objects a pickle would import, read with ``pickletools`` (never executed).

    Concatenated pickles (the legacy ``torch.save`` format) are read one after the other.
    """
    found: dict[str, None] = {}
    stream = io.BytesIO(data)
    # A damaged or truncated pickle only shortens the list.
    with contextlib.suppress(ValueError, EOFError):
        while stream.tell() < len(data) and len(found) < limit:
            strings: list[str] = []
            memo: dict[int, Any] = {}
            last: Any = None
            for opcode, arg, _ in pickletools.genops(stream):
                name = opcode.name
                if name in ("GLOBAL", "INST"):
                    found[str(arg).replace(" ", ".")] = None
                elif name == "STACK_GLOBAL" and len(strings) >= 2:
                    found[f"{strings[-2]}.{strings[-1]}"] = None
                if isinstance(arg, str) and "UNICODE" in name:
                    strings.append(arg)
                    last = arg
                elif name == "MEMOIZE":
                    memo[len(memo)] = last
                elif name in ("PUT", "BINPUT", "LONG_BINPUT"):
                    memo[int(arg)] = last
                elif name in ("GET", "BINGET", "LONG_BINGET") and isinstance(memo.get(int(arg)), str):
                    strings.append(memo[int(arg)])
    renamed = (n.replace("__builtin__.", "builtins.", 1).replace("copy_reg.", "copyreg.", 1) for n in found)
    return list(dict.fromkeys(renamed))[:limit]


def _torch_allowed_globals() -> set[str]:
    """Names torch's weights-only loader accepts (tensors, dtypes, plain containers)."""
    try:
        import torch
        from torch import _weights_only_unpickler

        allowed = set(_weights_only_unpickler._get_allowed_globals())
        for entry in torch.serialization.get_safe_globals():
            obj = entry[0] if isinstance(entry, tuple) else entry
            allowed.add(f"{getattr(obj, '__module__', '')}.{getattr(obj, '__qualname__', '')}")
        return allowed
    except Exception:  # noqa: BLE001 - private torch API: without it nothing is filtered out
        return set()


def _torch_pickle_bytes(path: Path) -> bytes:
    """The pickle of a ``torch.save`` file (``data.pkl`` of the zip, or the legacy file's head)."""
    names = _zip_names(path)
    try:
        if names is None:
            with path.open("rb") as file:
                return file.read(_PICKLE_SCAN_BYTES)
        member = next(n for n in names if n == "data.pkl" or n.endswith("/data.pkl"))
        with zipfile.ZipFile(path) as archive, archive.open(member) as file:
            return file.read(_PICKLE_SCAN_BYTES)
    except (OSError, StopIteration, zipfile.BadZipFile, ValueError, EOFError, NotImplementedError):
        return b""


def _refuse_pickle(path: Path, what: str, imports: Sequence[str]) -> UnsafeFileError:
    imported = f" It would import {', '.join(imports)}." if imports else ""
    return UnsafeFileError(
        f"{path} is {what}: loading it unpickles Python objects, which can run arbitrary code.{imported} "
        f"{_TRUST_HINT}; better, save the model in a safe format (torch.jit.save, a state dict with "
        "model_class, or skops for scikit-learn)."
    )


# --------------------------------------------------------------------------- the loaders
def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")


def _load_torchscript(path: Path) -> Any:
    import torch

    try:
        with warnings.catch_warnings():
            # torch 2.13 deprecates TorchScript; reading an existing archive is still supported.
            warnings.filterwarnings("ignore", message="`torch.jit", category=DeprecationWarning)
            module = torch.jit.load(str(path), map_location="cpu")
    except Exception as exc:
        raise InvalidInputError(f"{path} could not be read as TorchScript ({_first_line(exc)}).") from exc
    return module.eval()


def _load_torch_export(path: Path, trust_model: bool) -> Any:
    if not trust_model:
        raise UnsafeFileError(
            f"{path} is a torch.export program. torch.export.load can run code from the file (it unpickles "
            "some weights, evaluates shape expressions and loads compiled libraries), so it is not opened "
            f"unless trusted. {_TRUST_HINT}; or save the model with torch.jit.save, or as a state dict with "
            "model_class."
        )
    import torch

    try:
        program = torch.export.load(str(path))
        module = program.module()
    except Exception as exc:
        raise InvalidInputError(f"{path} could not be read as a torch.export program ({_first_line(exc)}).") from exc
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
            f"Cannot import module {module_name!r} named by model_class ({_first_line(exc)}); "
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
            f"model_class {name} must be constructible without arguments ({_first_line(exc)}); give it "
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
    return _first_line(exc)


def _load_torch_save(path: Path, trust_model: bool, model_class: str | type | None) -> Any:
    import pickle

    import torch

    try:
        # weights_only=True rebuilds tensors and plain containers only; it never imports or
        # calls anything else named in the file.
        obj = torch.load(str(path), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        if not trust_model:
            allowed = _torch_allowed_globals()
            imports = [n for n in _pickle_imports(_torch_pickle_bytes(path), limit=64) if n not in allowed][:8]
            if imports:
                raise _refuse_pickle(
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
            raise InvalidInputError(f"{path} could not be unpickled ({_first_line(inner)}).") from inner
    except Exception as exc:
        raise InvalidInputError(f"{path} could not be read as a torch.save file ({_first_line(exc)}).") from exc

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


def _load_skops(path: Path, trust_model: bool) -> Any:
    try:
        import skops.io as sio
    except ImportError as exc:  # pragma: no cover - skops is a dependency
        raise InvalidInputError(f"Reading {path} needs the skops package: pip install skops.") from exc
    try:
        untrusted = sio.get_untrusted_types(file=path)
    except Exception as exc:
        raise InvalidInputError(f"{path} could not be read as a skops file ({_first_line(exc)}).") from exc
    if untrusted and not trust_model:
        raise UnsafeFileError(
            f"{path} contains types that skops does not trust by default: {untrusted}. Loading them can run "
            "code or, for scikit-learn trees, read memory out of bounds when a file is malicious. "
            f"{_TRUST_HINT}; it trusts exactly these types."
        )
    try:
        return sio.load(path, trusted=list(untrusted) if trust_model else [])
    except Exception as exc:
        raise InvalidInputError(f"{path} could not be loaded with skops ({_first_line(exc)}).") from exc


def _load_pickle(path: Path, kind: str, trust_model: bool) -> Any:
    if not trust_model:
        imports: list[str] = []
        if kind == "pickle":
            with path.open("rb") as file:
                imports = _pickle_imports(file.read(_PICKLE_SCAN_BYTES))
        raise _refuse_pickle(path, f"a {kind} file", imports)
    import joblib  # scikit-learn's dependency; reads plain pickles too

    try:
        return joblib.load(path)
    except Exception as exc:
        raise InvalidInputError(f"{path} could not be loaded as a {kind} file ({_first_line(exc)}).") from exc


def read_model(
    path: str | Path, *, trust_model: bool = False, model_class: str | type | None = None
) -> Any:
    """Read the model object stored in a file (see the module docstring for the formats).

    Parameters
    ----------
    path : str or Path
        The model file.
    trust_model : bool, default=False
        Open formats that can run code from the file (pickle, joblib, a pickled
        ``nn.Module``, ``torch.export`` programs, skops files with untrusted types). Only for
        files you made or fully trust.
    model_class : str or type, optional
        For a ``torch.save`` state dict: the ``nn.Module`` class to load the weights into,
        as ``"package.module:ClassName"`` or the class itself. It is called with no
        arguments. Importing it runs that module's code: it is code you name, on your
        machine, not code from the file.

    Returns
    -------
    torch.nn.Module or scikit-learn estimator
        The model, on the CPU, in eval mode (torch).

    Raises
    ------
    UnsafeFileError
        When loading would run code from the file and ``trust_model`` is False. Nothing has
        been deserialised when this is raised.
    InvalidInputError
        When the file is missing, empty, corrupt, or not a supported format.
    """
    if not isinstance(trust_model, bool):
        raise InvalidInputError(f"trust_model must be True or False, got {trust_model!r}.")
    path = Path(check_path(path, "path"))
    kind = detect_model_format(path)
    if model_class is not None and kind != "torch_save":
        raise InvalidInputError(
            f"model_class applies to torch.save state dicts only; {path} is a {kind.replace('_', '.')} file."
        )
    if kind == "torchscript":
        return _load_torchscript(path)
    if kind == "torch_export":
        return _load_torch_export(path, trust_model)
    if kind == "torch_save":
        return _load_torch_save(path, trust_model, model_class)
    if kind == "skops":
        return _load_skops(path, trust_model)
    return _load_pickle(path, kind, trust_model)


def load_model(
    path: str | Path,
    *,
    trust_model: bool = False,
    model_class: str | type | None = None,
    task: str | None = None,
    output: str | None = None,
    feature_names: Sequence[str] | None = None,
    head: str | None = None,
) -> Adapter:
    """Load a model file and put it behind the :class:`~agnostic_xai.adapters.Adapter` interface.

    The format is recognised from the file's content: TorchScript, ``torch.save`` state
    dicts (with ``model_class``) and skops files are read safely by default; pickle, joblib,
    pickled ``nn.Module`` and ``torch.export`` files can run code when loaded and are
    refused unless ``trust_model=True``. The module docstring has the details.

    Parameters
    ----------
    path : str or Path
        The model file.
    trust_model : bool, default=False
        Allow formats whose loading can run code from the file. Only for files you trust.
    model_class : str or type, optional
        For a state dict: ``"package.module:ClassName"`` (or the class) of an ``nn.Module``
        constructible with no arguments. Importing it runs that module's code.
    task, output, feature_names, head
        Passed to :func:`agnostic_xai.wrap` (``head``: what a torch module returns, when its
        detection should not decide).

    Returns
    -------
    Adapter

    Raises
    ------
    UnsafeFileError
        When loading would run code from the file and ``trust_model`` is False.
    InvalidInputError
        When the file is missing, empty, corrupt or of no supported format.

    Examples
    --------
    >>> import tempfile, torch
    >>> path = tempfile.mkdtemp() + "/model.pt"
    >>> torch.jit.save(torch.jit.script(torch.nn.Linear(3, 1)), path)  # doctest: +SKIP
    >>> load_model(path).n_features  # doctest: +SKIP
    3
    """
    model = read_model(path, trust_model=trust_model, model_class=model_class)
    return wrap(model, task=task, output=output, feature_names=feature_names, head=head)
