"""Path safety for the files agnostic-xai writes: nothing written through a link, no input overwritten.

Two rules, checked before any work so that a refusal costs nothing:

* **Files written inside an output directory are never links.** A file the library writes
  (the result store and its SQLite companions, every report file) must not be a symbolic
  link, whatever it points to: a link planted in ``--out`` would otherwise make the write
  land wherever it leads. Refusing every link, not only those that lead outside, is the
  simplest rule that cannot be fooled by a link that changes target after it was resolved.
  Files SQLite writes in place (the database, its ``-wal``/``-shm``/``-journal`` files
  and the lock file) must also not be hard links, since writing into a hard-linked file
  changes the other names too. Report files are written to a new temporary file and renamed
  over their name (:func:`agnostic_xai.reports._files.atomic_write_text`), which replaces a
  link rather than following it, so a link created after the check is still harmless.
* **An output file is never one of the inputs.** ``explain --out`` is compared with every
  input by resolved path and by device and inode (which also catches symbolic and hard
  links), and must not lie inside an input directory.
"""

from __future__ import annotations

import os
import secrets
import stat
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .exceptions import InvalidInputError

__all__ = [
    "SQLITE_COMPANIONS", "refuse_link", "check_in_place_file", "check_outputs_inside", "check_not_an_input",
    "temporary_sibling",
]

#: Suffixes of the files SQLite (and the store's lock) writes next to a database.
SQLITE_COMPANIONS = ("-wal", "-shm", "-journal", ".lock")


def refuse_link(path: Path, what: str, error: type[InvalidInputError] = InvalidInputError) -> None:
    """Raise ``error`` when ``path`` is a symbolic link (dangling or not).

    Parameters
    ----------
    path : Path
        A file about to be written.
    what : str
        How the message names the file ("the report", "the store").
    error : type
        The exception raised (an :class:`~agnostic_xai.exceptions.InvalidInputError`).
    """
    if os.path.islink(path):
        target = os.readlink(path)
        raise error(
            f"{what} {str(path)!r} is a symbolic link (to {target!r}); agnostic-xai does not write through links: "
            "remove the link or choose another output."
        )


def check_in_place_file(path: Path, what: str, error: type[InvalidInputError] = InvalidInputError) -> None:
    """Refuse a file that will be written in place when it is a link, not a regular file, or hard-linked.

    A missing file is fine (it is created).
    """
    refuse_link(path, what, error)
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return
    if not stat.S_ISREG(info.st_mode):
        raise error(f"{what} {str(path)!r} exists and is not a regular file; remove it or choose another output.")
    if info.st_nlink > 1:
        raise error(
            f"{what} {str(path)!r} has {info.st_nlink} hard links; writing it would change the other names too: "
            "remove it or choose another output."
        )


def check_outputs_inside(out: Path, names: Iterable[str]) -> None:
    """Refuse before a run when a file it will write in ``out`` (by name) is a symbolic link."""
    for name in names:
        refuse_link(Path(out) / name, "The output")


def _resolved(path: Any) -> str:
    return os.path.realpath(os.fspath(path))


def check_not_an_input(out: Any, inputs: Iterable[Any]) -> None:
    """Refuse an output file that is a directory, one of ``inputs``, or inside an input directory.

    Parameters
    ----------
    out : path
        The file about to be written.
    inputs : iterable of path or None
        The files and directories the run reads (None entries and in-memory data are skipped).
    """
    out_path = Path(os.fspath(out))
    if out_path.is_dir():
        raise InvalidInputError(f"The output {str(out)!r} is a directory; give the name of the Parquet file to write.")
    resolved = _resolved(out_path)
    for source in inputs:
        if not isinstance(source, (str, os.PathLike)):
            continue
        source_path = Path(os.fspath(source))
        if not source_path.exists():
            continue
        same = resolved == _resolved(source_path)
        if not same and out_path.exists():
            try:
                same = os.path.samefile(out_path, source_path)
            except OSError:
                same = False
        if same:
            raise InvalidInputError(
                f"The output {str(out)!r} is the input {str(source)!r} (the same file); writing it would destroy "
                "the input: choose another output file."
            )
        if source_path.is_dir() and os.path.commonpath([resolved, _resolved(source_path)]) == _resolved(source_path):
            raise InvalidInputError(
                f"The output {str(out)!r} lies inside the input directory {str(source)!r}; a later read of that "
                "directory would take the attributions for data: choose an output outside it."
            )


def temporary_sibling(path: Path) -> Path:
    """A new, unused name next to ``path`` for writing it before :func:`os.replace` puts it in place.

    The name starts with a dot and ends in ``.tmp``, so that a directory listing (or a reader
    of ``*.parquet``) never mistakes an unfinished file for a finished one.
    """
    return path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
