"""Reading configuration and policy files (TOML, YAML or JSON)."""

from __future__ import annotations

import json
import os
import tomllib
from pathlib import Path
from typing import Any

from .exceptions import InvalidInputError

__all__ = ["load_config"]


def load_config(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a mapping from a ``.toml``, ``.yaml``/``.yml`` or ``.json`` file.

    YAML is read with ``yaml.safe_load``, which builds only plain data (never Python objects).

    Raises
    ------
    InvalidInputError
        For a missing file, an unknown extension, a syntax error or a top level that is not
        a mapping.
    """
    file = Path(path)
    if not file.is_file():
        raise InvalidInputError(f"Configuration file {str(file)!r} does not exist.")
    suffix = file.suffix.lower()
    try:
        text = file.read_text(encoding="utf-8")
        if suffix == ".toml":
            data = tomllib.loads(text)
        elif suffix in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text)
        elif suffix == ".json":
            data = json.loads(text)
        else:
            raise InvalidInputError(f"{file.name}: configuration files must be .toml, .yaml, .yml or .json.")
    except InvalidInputError:
        raise
    except UnicodeDecodeError:
        raise InvalidInputError(f"{file.name} is not UTF-8 text.") from None
    except Exception as exc:  # tomllib, yaml and json each raise their own syntax errors
        raise InvalidInputError(f"{file.name} could not be parsed: {exc}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise InvalidInputError(f"{file.name} must hold a mapping at the top level, not {type(data).__name__}.")
    return data
