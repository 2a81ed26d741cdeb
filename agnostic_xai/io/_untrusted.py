"""What an untrusted model file would import, read without running it, and the refusal.

This module owns the inspection of pickles with :mod:`pickletools` (never executed), the
names torch's weights-only loader accepts, and the :class:`UnsafeFileError` that refuses a
file naming what it would import and how to trust it.
"""

from __future__ import annotations

import contextlib
import io
import pickletools
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..exceptions import UnsafeFileError
from ._model_format import zip_names

__all__ = [
    "PICKLE_SCAN_BYTES",
    "TRUST_HINT",
    "pickle_imports",
    "refuse_pickle",
    "torch_allowed_globals",
    "torch_pickle_bytes",
]

# Bytes of a pickle read for the names it imports (for error messages only).
PICKLE_SCAN_BYTES = 16 * 2**20
TRUST_HINT = "Pass trust_model=True (--trust-model on the command line) only for a file you made or fully trust"


def pickle_imports(data: bytes, limit: int = 8) -> list[str]:
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
            arg: Any  # an opcode's argument: a name, a memo index or None
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


def torch_allowed_globals() -> set[str]:
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


def torch_pickle_bytes(path: Path) -> bytes:
    """The pickle of a ``torch.save`` file (``data.pkl`` of the zip, or the legacy file's head)."""
    names = zip_names(path)
    try:
        if names is None:
            with path.open("rb") as file:
                return file.read(PICKLE_SCAN_BYTES)
        member = next(n for n in names if n == "data.pkl" or n.endswith("/data.pkl"))
        with zipfile.ZipFile(path) as archive, archive.open(member) as file:
            return file.read(PICKLE_SCAN_BYTES)
    except (OSError, StopIteration, zipfile.BadZipFile, ValueError, EOFError, NotImplementedError):
        return b""


def refuse_pickle(path: Path, what: str, imports: Sequence[str]) -> UnsafeFileError:
    """The error refusing ``path`` (``what`` it is), naming the objects it would import."""
    imported = f" It would import {', '.join(imports)}." if imports else ""
    return UnsafeFileError(
        f"{path} is {what}: loading it unpickles Python objects, which can run arbitrary code.{imported} "
        f"{TRUST_HINT}; better, save the model in a safe format (torch.jit.save, a state dict with "
        "model_class, or skops for scikit-learn)."
    )
