"""Reading an :class:`~agnostic_xai.Attribution` file back, refusing anything else clearly.

:meth:`Attribution.save <agnostic_xai.Attribution.save>` writes an ``.npz`` archive: the
arrays plus a JSON header. A file that is not one (garbage bytes, a truncated download, a
plain ``.npy``, a zip of something else, an archive with a pickled member, a header that is
not the expected JSON) raises :class:`~agnostic_xai.exceptions.InvalidInputError` naming the
file, never numpy's, zipfile's or json's own exceptions, and nothing is ever unpickled.
"""

from __future__ import annotations

import json
import os
import zipfile
from collections.abc import Callable
from typing import Any, BinaryIO

import numpy as np

from ._validation import check_path
from .exceptions import InvalidInputError

__all__ = ["FORMAT", "read_record"]

FORMAT = "agnostic-xai.attribution/1"

_ARRAYS = ("values", "base_values", "data", "target")
_HEADER_KEYS = ("feature_names", "method", "output", "seconds", "model_rows", "params", "extras", "groups")
#: Errors of numpy's reader on a damaged or foreign file (a bad zip, a cut-off member, bad bytes).
_READ_ERRORS = (
    OSError, EOFError, ValueError, KeyError, NotImplementedError, zipfile.BadZipFile, zipfile.LargeZipFile, UnicodeError
)


def read_record(path: str | os.PathLike[str] | BinaryIO) -> dict[str, Any]:
    """The fields of the record stored at ``path``, as keyword arguments of ``Attribution``.

    ``groups`` is returned as the header's ``{"names", "indices", "feature_names"}`` mapping
    (or None); the caller builds the FeatureGroups, whose own checks then apply.

    Raises
    ------
    InvalidTypeError
        ``path`` is neither a path nor a binary file object.
    InvalidInputError
        The file does not exist, or is not an attribution file written by ``save``.
    """
    check_path(path, "path", allow_file=True)
    where = repr(os.fspath(path)) if isinstance(path, (str, os.PathLike)) else "The file"
    if isinstance(path, (str, os.PathLike)) and not os.path.isfile(path):
        raise InvalidInputError(f"{where} does not exist or is not a file.")

    def refuse(why: str) -> InvalidInputError:
        return InvalidInputError(
            f"{where} is not an agnostic-xai attribution file (written by Attribution.save): {why}"
        )

    def read(what: str, pickled: str, step: Callable[[], Any]) -> Any:
        """``step()``, numpy's reading errors turned into one refusal naming ``what`` failed."""
        try:
            return step()
        except ValueError as exc:
            if "pickle" in str(exc):
                raise refuse(f"{pickled} pickled data, which is never loaded (allow_pickle=False).") from None
            raise refuse(f"{what} ({exc}).") from None
        except _READ_ERRORS as exc:
            raise refuse(f"{what} ({type(exc).__name__}: {exc}).") from None

    archive = read("numpy cannot read it", "it holds", lambda: np.load(path, allow_pickle=False))
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise refuse("it is a single numpy array, not an .npz archive.")
    with archive:
        members = read(
            "a member cannot be read", "a member holds", lambda: {key: archive[key] for key in archive.files}
        )
    header = _header(members.pop("header", None), refuse)
    missing = [key for key in _ARRAYS if key not in members]
    if missing:
        raise refuse(f"the arrays {missing} are missing.")
    fields: dict[str, Any] = {key: members[key] for key in _ARRAYS}
    extras, params = dict(header["extras"]), dict(header["params"])
    for key, value in members.items():
        if key.startswith("extras/"):
            extras[key[len("extras/"):]] = value
        elif key.startswith("params/"):
            params[key[len("params/"):]] = value
    groups = header["groups"]
    if groups is not None and not (
        isinstance(groups, dict) and all(isinstance(groups.get(k), list) for k in ("names", "indices", "feature_names"))
    ):
        raise refuse("its header's groups are not {names, indices, feature_names} lists.")
    if not isinstance(header["feature_names"], list):
        raise refuse("its header's feature_names is not a list.")
    fields.update(
        feature_names=tuple(header["feature_names"]),
        method=header["method"],
        params=params,
        output=header["output"],
        seconds=header["seconds"],
        model_rows=header["model_rows"],
        extras=extras,
        groups=groups,
    )
    return fields


def _header(member: Any, refuse: Any) -> dict[str, Any]:
    """The JSON header of an archive, checked for the format and the keys ``save`` writes."""
    if member is None:
        raise refuse("it has no header.")
    if not isinstance(member, np.ndarray) or member.dtype != np.uint8 or member.ndim != 1:
        raise refuse("its header is not JSON bytes.")
    try:
        header = json.loads(member.tobytes().decode("utf-8"))
    except (UnicodeError, ValueError):
        raise refuse("its header is not valid UTF-8 JSON.") from None
    if not isinstance(header, dict):
        raise refuse("its header is not a JSON object.")
    if header.get("format") != FORMAT:
        raise InvalidInputError(
            f"Unsupported attribution format {str(header.get('format'))[:60]!r}; expected {FORMAT!r}."
        )
    missing = [key for key in _HEADER_KEYS if key not in header]
    if missing:
        raise refuse(f"its header lacks {missing}.")
    for key in ("params", "extras"):
        if not isinstance(header[key], dict):
            raise refuse(f"its header's {key} is not a JSON object.")
    return header
