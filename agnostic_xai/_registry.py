"""The registry behind ``explainers.get`` and ``metrics.get``: names to lazily imported classes.

Each registry maps a name to ``"module:Class"`` inside its package and imports the module on
first use, so naming an explainer does not import shap or lime. Both registries refuse a
non-string name and an unknown name the same way, and check parameters against the class's
``__init__`` before building it (the message lists the parameters that exist).
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Mapping
from typing import Any

from ._validation import check_params, shown
from .exceptions import InvalidTypeError, UnknownNameError

__all__ = ["Registry"]


class Registry:
    """Names of one kind of object (``"explainer"``, ``"metric"``) and where their classes live.

    Parameters
    ----------
    package : str
        The package the ``"module:Class"`` targets are relative to.
    kind : str
        What is registered, for messages (``"explainer"``).
    entries : mapping of str to str
        Name to ``"module:Class"``, in the order tables list them.
    """

    def __init__(self, package: str, kind: str, entries: Mapping[str, str]) -> None:
        self.package = package
        self.kind = kind
        self.entries = dict(entries)

    def _present(self, target: str) -> bool:
        return importlib.util.find_spec(f"{self.package}.{target.split(':')[0]}") is not None

    def names(self) -> list[str]:
        """Registered names whose module is present."""
        return [name for name, target in self.entries.items() if self._present(target)]

    def load(self, name: Any) -> Any:
        """The class registered under ``name``.

        Raises
        ------
        InvalidTypeError
            When ``name`` is not a string.
        UnknownNameError
            When nothing has that name (the message lists the names that exist).
        """
        article = "An" if self.kind[0] in "aeiou" else "A"
        if not isinstance(name, str):
            raise InvalidTypeError(
                f"{article} {self.kind} is named by a string, got {shown(name)}; available: {self.names()}."
            )
        if name not in self.entries or not self._present(self.entries[name]):
            raise UnknownNameError(f"Unknown {self.kind} {name!r}; available: {self.names()}.")
        module, cls = self.entries[name].split(":")
        return getattr(importlib.import_module(f"{self.package}.{module}"), cls)

    def build(self, name: Any, params: Mapping[str, Any]) -> Any:
        """A new instance of ``name`` with ``params``, checked against its ``__init__`` first."""
        cls = self.load(name)
        check_params(cls, dict(params), f"{self.kind.capitalize()} {name!r}")
        return cls(**params)
