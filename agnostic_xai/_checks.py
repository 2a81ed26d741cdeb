"""Checks of arguments that are not data: one helper per kind.

Every entry point refuses a wrong setting the same way: early, before any model call, with
a project error that names the argument and says what it accepts
(:class:`~agnostic_xai.exceptions.InvalidTypeError`, also a ``TypeError``, for a value of the
wrong type or an unknown keyword; :class:`~agnostic_xai.exceptions.InvalidInputError`, a
``ValueError``, for a value out of range). :mod:`agnostic_xai._validation` re-exports them
next to the checks of data.
"""

from __future__ import annotations

import inspect
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal, overload

import numpy as np
import pandas as pd

from ._messages import quoted
from .exceptions import InvalidInputError, InvalidTypeError

__all__ = [
    "is_tensor",
    "shown",
    "check_int",
    "check_float",
    "check_bool",
    "check_choice",
    "check_str",
    "check_path",
    "check_mapping",
    "check_callable",
    "check_params",
]


def is_tensor(obj: Any) -> bool:
    """Return True for a torch tensor, without importing torch."""
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(obj, torch.Tensor)


def shown(value: Any, limit: int = 60) -> str:
    """A caller's value quoted in a message: arrays by type and shape, the rest by :func:`quoted`.

    :func:`~agnostic_xai._messages.quoted` renders containers abbreviated as it goes, so a
    huge value costs no more to quote than a short one.
    """
    if isinstance(value, (np.ndarray, pd.DataFrame)) or is_tensor(value):
        return f"{type(value).__name__} of shape {tuple(value.shape)}"
    try:
        return quoted(value, limit)
    except Exception:  # a repr that raises is the caller's bug, not a reason to lose the error
        return f"<{type(value).__name__}>"


def _bound_text(minimum: float | None, maximum: float | None, strict: bool) -> str:
    low = "" if minimum is None else (f"> {minimum:g}" if strict else f">= {minimum:g}")
    high = "" if maximum is None else (f"< {maximum:g}" if strict else f"<= {maximum:g}")
    return " and ".join(t for t in (low, high) if t)


def _int_kind(minimum: int | None, maximum: int | None) -> str:
    if maximum is None and minimum == 1:
        return "a positive int"
    if maximum is None and minimum == 0:
        return "a non-negative int"
    bounds = _bound_text(minimum, maximum, False)
    return f"an int{' ' + bounds if bounds else ''}"


@overload
def check_int(
    value: Any,
    name: str,
    *,
    minimum: int | None = ...,
    maximum: int | None = ...,
    allow_none: Literal[False] = ...,
    kind: str | None = ...,
) -> int: ...


@overload
def check_int(
    value: Any,
    name: str,
    *,
    minimum: int | None = ...,
    maximum: int | None = ...,
    allow_none: bool,
    kind: str | None = ...,
) -> int | None: ...


def check_int(
    value: Any,
    name: str,
    *,
    minimum: int | None = None,
    maximum: int | None = None,
    allow_none: bool = False,
    kind: str | None = None,
) -> int | None:
    """``value`` as a Python int within ``[minimum, maximum]`` (None passes with ``allow_none``).

    bool is refused although it is an int subclass: ``n_jobs=True`` is a mistake, not 1.
    A wrong type is an :class:`InvalidTypeError`, a value out of range an
    :class:`InvalidInputError`. ``kind`` replaces the generic description in messages
    ("a positive int, 'auto' or None") where the argument also takes other values.
    """
    if value is None and allow_none:
        return None
    if kind is None:
        kind = _int_kind(minimum, maximum) + (" or None" if allow_none else "")
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise InvalidTypeError(f"{name} must be {kind}, got {shown(value)}.")
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise InvalidInputError(f"{name} must be {kind}, got {value}.")
    return int(value)


def check_float(
    value: Any,
    name: str,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    strict: bool = False,
    allow_none: bool = False,
    kind: str | None = None,
) -> float | None:
    """``value`` as a finite float within the bounds (exclusive with ``strict``).

    ``kind`` replaces the generic description in messages ("positive seconds").
    """
    if value is None and allow_none:
        return None
    bounds = _bound_text(minimum, maximum, strict)
    if kind is None:
        kind = f"a finite number{' ' + bounds if bounds else ''}"
    if allow_none:
        kind += " or None"
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise InvalidTypeError(f"{name} must be {kind}, got {shown(value)}.")
    number = float(value)
    outside = not np.isfinite(number)
    if minimum is not None:
        outside = outside or (number <= minimum if strict else number < minimum)
    if maximum is not None:
        outside = outside or (number >= maximum if strict else number > maximum)
    if outside:
        raise InvalidInputError(f"{name} must be {kind}, got {shown(value)}.")
    return number


def check_bool(value: Any, name: str) -> bool:
    """``value`` when it is True or False (a truthy string such as ``"no"`` is refused)."""
    if not isinstance(value, (bool, np.bool_)):
        raise InvalidTypeError(f"{name} must be True or False, got {shown(value)}.")
    return bool(value)


def check_str(value: Any, name: str, *, allow_none: bool = False) -> str | None:
    """``value`` when it is a non-empty string."""
    if value is None and allow_none:
        return None
    if not isinstance(value, str):
        raise InvalidTypeError(f"{name} must be a string, got {shown(value)}.")
    if not value:
        raise InvalidInputError(f"{name} must not be empty.")
    return value


def check_choice(value: Any, name: str, choices: Sequence[str]) -> str:
    """``value`` when it is one of ``choices`` (strings)."""
    if not isinstance(value, str):
        raise InvalidTypeError(f"{name} must be one of {list(choices)}, got {shown(value)}.")
    if value not in choices:
        raise InvalidInputError(f"{name} must be one of {list(choices)}, got {shown(value)}.")
    return value


def check_path(value: Any, name: str, *, allow_file: bool = False, allow_none: bool = False) -> Any:
    """A file name (str or PathLike), or an open binary file with ``allow_file``.

    Integers are refused: ``open(5)`` would read or write file descriptor 5, whatever it is.
    """
    if value is None and allow_none:
        return None
    if allow_file and (hasattr(value, "read") or hasattr(value, "write")):
        return value
    if not isinstance(value, (str, os.PathLike)):
        kind = "a path or a binary file object" if allow_file else "a path (str or PathLike)"
        raise InvalidTypeError(f"{name} must be {kind}, got {shown(value)}.")
    path = os.fspath(value)
    if not isinstance(path, str) or not path or "\x00" in path:
        raise InvalidInputError(f"{name} must be a non-empty path without NUL characters, got {shown(value)}.")
    return value


def check_mapping(value: Any, name: str, *, allow_none: bool = False) -> Mapping[Any, Any] | None:
    """``value`` when it is a mapping (dict-like)."""
    if value is None and allow_none:
        return None
    if not isinstance(value, Mapping):
        raise InvalidTypeError(f"{name} must be a mapping (dict), got {shown(value)}.")
    return value


def check_callable(value: Any, name: str) -> Callable[..., Any]:
    """``value`` when it can be called."""
    if not callable(value):
        raise InvalidTypeError(f"{name} must be callable, got {shown(value)}.")
    return value


def check_params(cls: type, params: Mapping[str, Any], what: str) -> None:
    """Refuse keyword arguments that ``cls.__init__`` does not take, naming the ones it does.

    Called by the registries before the class is built, so ``get("kernel_shap", bogus=1)``
    says which parameters exist instead of Python's bare ``TypeError``.
    """
    signature = inspect.signature(cls.__init__)
    accepted = [p for p in signature.parameters.values() if p.name != "self"]
    if any(p.kind == p.VAR_KEYWORD for p in accepted):
        return
    allowed = sorted(p.name for p in accepted if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY))
    unknown = sorted(str(k) for k in params if k not in allowed)
    if unknown:
        raise InvalidTypeError(
            f"{what} has no parameter{'s' if len(unknown) > 1 else ''} {unknown}; "
            f"its parameters are {allowed or 'none'}."
        )
