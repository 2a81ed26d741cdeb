"""Checks of the settings the command line reads from files and flags.

A ``--config`` file, a ``--groups`` file or a policy holds whatever its author typed:
``explainers = 5``, ``[explainers] random = 5``, a misspelled explainer parameter, a group
``g = []``. Each wrong value is refused here, before any model is loaded, with one line that
names the file (or the flag), the key and what was expected, and quotes at most a short
piece of the value (:func:`~agnostic_xai._messages.quoted`); the command line turns it into
exit code 2.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

from ._checks import check_int
from ._messages import quoted
from .comparison.limits import check_time_limit
from .exceptions import InvalidInputError

__all__ = ["check_groups_file", "check_registry_setting", "check_settings", "split_names"]

_CHOICES = {"output": ("probability", "logit", "raw"), "impute": ("mean", "median", "most_frequent")}


def _refuse(source: str, key: str, expected: str, value: Any) -> InvalidInputError:
    where = source if source == f"--{key}" else f"{source}: {key}"  # a flag names itself
    return InvalidInputError(f"{where} must be {expected}, got {quoted(value)}.")


def split_names(value: Any, source: str, key: str) -> Any:
    """A comma-separated string as a list of names ("default" and non-strings as they are).

    Raises
    ------
    InvalidInputError
        A string that holds no name (``--explainers ,``).
    """
    if not isinstance(value, str) or value == "default":
        return value
    names = [part.strip() for part in value.split(",") if part.strip()]
    if not names:
        raise _refuse(source, key, "comma-separated registry names (or 'default')", value)
    return names


def _parameters(cls: type[Any]) -> set[str] | None:
    """Keyword parameters of ``cls.__init__`` (None when it takes ``**kwargs``)."""
    parameters = inspect.signature(cls.__init__).parameters.values()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        return None
    return {p.name for p in parameters if p.name != "self" and p.kind is not inspect.Parameter.VAR_POSITIONAL}


def check_registry_setting(value: Any, key: str, source: str) -> Any:
    """``explainers`` or ``metrics`` as compare takes them; an error for anything it cannot take.

    Parameters
    ----------
    value : Any
        ``"default"``, a comma-separated string, a list of names, or a mapping of names to
        parameter tables.
    key : {"explainers", "metrics"}
        Which registry the names belong to.
    source : str
        The file or flag the value came from, for the message.

    Returns
    -------
    "default", list of str, or dict of str to dict
        The names (a string split at commas), or the mapping with ``None`` tables as ``{}``.

    Raises
    ------
    InvalidInputError
        A value of the wrong type, an empty list, a name that is not a string, a parameter
        table that is not a table, or a parameter the class does not take.
    UnknownNameError
        A name that is not registered.
    """
    from . import explainers, metrics

    registry = explainers if key == "explainers" else metrics
    expected = "'default', a list of registry names or a table of name -> parameters"
    value = split_names(value, source, key)
    if isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)):
        if not value or not all(isinstance(name, str) and name.strip() for name in value):
            raise _refuse(source, key, expected, value)
        for name in value:
            registry.get_class(name)
        return list(value)
    if not isinstance(value, Mapping) or not value:
        raise _refuse(source, key, expected, value)
    checked: dict[str, dict[str, Any]] = {}
    for name, params in value.items():
        if not isinstance(name, str) or not name.strip():
            raise _refuse(source, key, expected, value)
        if params is None:
            params = {}
        if not isinstance(params, Mapping):
            raise _refuse(source, f"{key}.{name}", "a table of parameters (or empty)", params)
        known = _parameters(registry.get_class(name))
        unknown = sorted(str(p) for p in params if known is not None and p not in known)
        if unknown:
            raise InvalidInputError(
                f"{source}: {key}.{name} has unknown parameter(s) {quoted(unknown)}; "
                f"{name} takes {sorted(known or ())}."
            )
        checked[name] = dict(params)
    return checked


def _is_int(value: Any, minimum: int, optional: bool = False) -> bool:
    """Whether :func:`~agnostic_xai._checks.check_int` accepts ``value`` (the caller words the refusal)."""
    try:
        check_int(value, "value", minimum=minimum, allow_none=optional)
    except InvalidInputError:
        return False
    return True


def check_settings(settings: Mapping[str, Any], source: str) -> dict[str, Any]:
    """Check the types of the settings read from ``source`` (a config file); a new dict.

    Parameters
    ----------
    settings : Mapping
        Known settings (the caller refuses unknown keys) with the values the file gave.
    source : str
        The file, for the message.

    Raises
    ------
    InvalidInputError
        The first setting of the wrong type or range, naming ``source``, the key and what
        was expected.
    """
    checked = dict(settings)
    for key, value in settings.items():
        if key in ("explainers", "metrics"):
            checked[key] = check_registry_setting(value, key, source)
        elif key in ("rows", "background", "jobs", "row_chunk", "memory_limit", "max_model_rows"):
            optional = key in ("row_chunk", "memory_limit", "max_model_rows")
            if not _is_int(value, 1, optional):
                raise _refuse(source, key, "a positive integer", value)
        elif key == "seed" and not _is_int(value, 0):
            raise _refuse(source, key, "a non-negative integer", value)
        elif key == "explain_class" and not _is_int(value, 0, optional=True):
            raise _refuse(source, key, "an output index (a non-negative integer)", value)
        elif key == "groups" and not (isinstance(value, str) and value.strip()):
            raise _refuse(source, key, "'auto', 'none' or the path of a groups file", value)
        elif key in _CHOICES and value is not None and value not in _CHOICES[key]:
            raise _refuse(source, key, f"one of {list(_CHOICES[key])}", value)
        elif key == "time_limit":
            try:
                check_time_limit(value, name=key)
            except InvalidInputError:
                raise _refuse(source, key, "positive seconds (a finite number)", value) from None
    return checked


def check_groups_file(data: Mapping[str, Any], source: str) -> dict[str, list[Any]]:
    """A groups file's ``{group: [columns]}`` mapping, each group a non-empty list of column names or indices.

    Raises
    ------
    InvalidInputError
        An empty file, or a group that is not a non-empty list of names (or integer indices).
    """
    if not data:
        raise InvalidInputError(f"{source}: a groups file must map group names to lists of columns; it is empty.")
    checked = {}
    for name, columns in data.items():
        if not isinstance(columns, list) or not columns or not all(
            isinstance(c, str) or (isinstance(c, int) and not isinstance(c, bool)) for c in columns
        ):
            raise _refuse(source, f"group {quoted(name)}", "a non-empty list of column names", columns)
        checked[str(name)] = list(columns)
    return checked
