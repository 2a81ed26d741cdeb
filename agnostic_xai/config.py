"""Reading configuration, policy and feature-group files (TOML, YAML or JSON).

These files come from users and from whoever can write to their repositories, so reading
one is bounded before any parsing: a file above :data:`MAX_CONFIG_BYTES` is refused unread,
YAML is read by a safe loader that builds only plain data and refuses aliases (``*name``,
the mechanism of "billion laughs" files, whose few hundred bytes expand to gigabytes), and
every error is one line that quotes at most a short piece of the file.
"""

from __future__ import annotations

import json
import os
import tomllib
from pathlib import Path
from typing import Any

from ._messages import one_line
from .exceptions import InvalidInputError

__all__ = ["MAX_CONFIG_BYTES", "load_config"]

#: Largest configuration, policy or groups file read (1 MiB; real ones are a few hundred bytes).
MAX_CONFIG_BYTES = 2**20


def _safe_yaml(text: str, name: str) -> Any:
    """Plain data from YAML text; aliases are refused before anything is built from them."""
    import yaml

    class NoAliasLoader(yaml.SafeLoader):
        """``yaml.SafeLoader`` (plain data only) that refuses aliases when composing the document."""

        def compose_node(self, parent: Any, index: Any) -> Any:
            if self.check_event(yaml.AliasEvent):
                event = self.peek_event()
                line = event.start_mark.line + 1 if event.start_mark is not None else "?"
                raise InvalidInputError(
                    f"{name} uses a YAML alias (*{one_line(str(event.anchor), 40)}, line {line}): aliases are not "
                    "accepted in configuration files; write the value out."
                )
            return super().compose_node(parent, index)

    loader = NoAliasLoader(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


def load_config(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a mapping from a ``.toml``, ``.yaml``/``.yml`` or ``.json`` file.

    YAML is read by a safe loader (``yaml.SafeLoader``, which builds only plain data, never
    Python objects) that also refuses aliases; see the module notes.

    Parameters
    ----------
    path : str or PathLike
        The file; its suffix chooses the format.

    Returns
    -------
    dict
        The top-level mapping (empty for an empty YAML file).

    Raises
    ------
    InvalidInputError
        For a missing file, a file above :data:`MAX_CONFIG_BYTES`, an unknown extension, a
        syntax error, a YAML alias or a top level that is not a mapping; always one line.
    """
    file = Path(path)
    if not file.is_file():
        raise InvalidInputError(f"Configuration file {one_line(str(file), 200)!r} does not exist.")
    suffix = file.suffix.lower()
    if suffix not in (".toml", ".yaml", ".yml", ".json"):
        raise InvalidInputError(f"{file.name}: configuration files must be .toml, .yaml, .yml or .json.")
    try:
        with file.open("rb") as handle:
            raw = handle.read(MAX_CONFIG_BYTES + 1)
    except OSError as exc:
        raise InvalidInputError(f"{file.name} could not be read: {exc.strerror or exc}.") from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise InvalidInputError(
            f"{file.name} is larger than {MAX_CONFIG_BYTES // 2**20} MiB; configuration files are small text files."
        )
    try:
        text = raw.decode("utf-8")
        if suffix == ".toml":
            data = tomllib.loads(text)
        elif suffix in (".yaml", ".yml"):
            data = _safe_yaml(text, file.name)
        else:
            data = json.loads(text)
    except InvalidInputError:
        raise
    except UnicodeDecodeError:
        raise InvalidInputError(f"{file.name} is not UTF-8 text.") from None
    except RecursionError:
        raise InvalidInputError(f"{file.name} could not be parsed: it is nested too deeply.") from None
    except Exception as exc:  # tomllib, yaml and json each raise their own syntax errors
        raise InvalidInputError(f"{file.name} could not be parsed: {one_line(str(exc), 300)}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise InvalidInputError(f"{file.name} must hold a mapping at the top level, not {type(data).__name__}.")
    return data
