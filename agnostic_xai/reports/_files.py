"""Atomic file writing: a report is either the old one or the whole new one, never half.

A report file is never written through a link: an existing symbolic link at its name is
refused (:func:`agnostic_xai._paths.refuse_link`), and the rename that puts the new file in
place replaces a link created after that check instead of writing where it leads.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from .._checks import check_path
from .._paths import refuse_link
from ..exceptions import InvalidInputError

__all__ = ["atomic_write_text", "report_target"]


def report_target(path: Any) -> Path:
    """``path`` as a :class:`Path` to a file in an existing directory.

    Its type is checked by :func:`~agnostic_xai._checks.check_path`, the one path check.
    """
    target = Path(os.fspath(check_path(path, "path")))
    refuse_link(target, "The report file")
    if target.is_dir():
        raise InvalidInputError(f"{str(target)!r} is a directory; give a file name such as report.html.")
    if not target.parent.is_dir():
        raise InvalidInputError(f"The directory {str(target.parent)!r} does not exist; create it first.")
    return target


def atomic_write_text(path: Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` through a temporary file in the same directory.

    The temporary file is created with the permissions a new file would get (mode 0o666
    less the umask), flushed to disk, then moved over ``path`` with :func:`os.replace`,
    which is atomic on POSIX and Windows. On any error the temporary file is removed and
    ``path`` is left as it was.
    """
    refuse_link(Path(path), "The report file")
    temporary = Path(path).with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(text.encode("utf-8"))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return path
