"""A model file's checks and format, recognised from its content without deserialising it.

This module owns :func:`detect_model_format` (zip archives by their members, pickles by
their header, and the extension only where the content cannot tell), the checks that a
model file exists and is not empty, and :func:`first_line`, how the loaders quote the
error of the library that failed to read a file.
"""

from __future__ import annotations

import zipfile
from collections.abc import Sequence
from pathlib import Path

from .._validation import check_path
from ..exceptions import InvalidInputError

__all__ = ["MODEL_FORMATS", "check_model_file", "detect_model_format", "first_line", "zip_names"]

#: Format names returned by :func:`detect_model_format`.
MODEL_FORMATS = ("torchscript", "torch_export", "torch_save", "skops", "pickle", "joblib")

_PICKLE_SUFFIXES = (".pkl", ".pickle")
_JOBLIB_SUFFIXES = (".joblib",)
_TORCH_SUFFIXES = (".pt", ".pth")
_EXPORT_SUFFIXES = (".pt2",)
_SKOPS_SUFFIXES = (".skops",)
# ``torch.save`` in the legacy (non-zip) format starts with this pickled magic number.
_LEGACY_TORCH_MAGIC = b"\x8a\nl\xfc\x9cF\xf9 j\xa8P\x19"


def first_line(exc: BaseException) -> str:
    """``"<ErrorType>: <first line of its message>"``, for one-line error messages."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")


def check_model_file(path: str | Path) -> Path:
    """``path`` as a Path to an existing, non-empty file."""
    path = Path(check_path(path, "path"))
    if not path.exists():
        raise InvalidInputError(f"Model file {str(path)!r} does not exist; check the path.")
    if not path.is_file():
        raise InvalidInputError(f"Model path {str(path)!r} is not a file.")
    if path.stat().st_size == 0:
        raise InvalidInputError(f"Model file {str(path)!r} is empty.")
    return path


def zip_names(path: Path) -> list[str] | None:
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
    path = check_model_file(path)
    suffix = path.suffix.lower()
    names = zip_names(path)
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
