"""One writer per result store: an advisory lock that dies with the process holding it.

A run that writes a store (``compare(store=...)``, ``agnostic-xai compare --out``) holds an
exclusive :func:`fcntl.flock` on ``<store>.lock`` from before it touches the database until
it closes it. The kernel releases the lock when the holder exits in any way (SIGKILL and
power loss included), so a lock never outlives its run and a killed run can be resumed at
once. The lock file holds who took it (pid, host, start time, command) for the message a
second run gets; it is left in place when released, because removing it would let a run
that opened the old file and one that creates a new one both hold "the" lock.

The worker processes of a run (``n_jobs > 1``) write their own cells through their own
connections without taking the lock: it belongs to the parent run, which holds it for as
long as they work. Another run, in this process or another, is refused.

Where :mod:`fcntl` does not exist (Windows) no lock is taken; the per-cell configuration
fingerprints of :mod:`agnostic_xai.comparison.store` still keep a resume from returning a
cell written by another configuration. ``flock`` on a network file system is only as
reliable as that file system makes it.
"""

from __future__ import annotations

import datetime
import json
import os
import socket
import sys
from pathlib import Path

from .._paths import check_in_place_file
from ..exceptions import StoreError

try:  # pragma: no cover - platform dependent
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["StoreLock"]


class StoreLock:
    """The exclusive lock of the store at ``path`` (``<path>.lock``), taken on construction.

    Parameters
    ----------
    path : Path
        The database file the lock protects.

    Raises
    ------
    StoreError
        When another run holds the lock (the message names its pid, host, start time and
        command), or the lock file is a link or not a regular file.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(f"{path}.lock")
        self._descriptor: int | None = None
        if fcntl is None:  # pragma: no cover - Windows
            return
        check_in_place_file(self.path, "The store's lock file", StoreError)
        flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
        try:
            descriptor = os.open(self.path, flags, 0o666)
        except OSError as exc:
            raise StoreError(
                f"The store's lock file {str(self.path)!r} cannot be opened: {exc.strerror or exc}."
            ) from None
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = _read_holder(descriptor)
            os.close(descriptor)
            raise StoreError(
                f"The store {str(path)!r} is in use by {holder}; one run writes a store at a time: wait for it to "
                "finish, or use another --out."
            ) from None
        self._descriptor = descriptor
        record = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "since": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "command": " ".join(sys.argv)[:500],
        }
        os.ftruncate(descriptor, 0)
        os.pwrite(descriptor, json.dumps(record).encode("utf-8"), 0)

    def release(self) -> None:
        """Release the lock (idempotent); the file stays, see the module docstring."""
        if self._descriptor is not None:
            os.close(self._descriptor)  # closing the only descriptor releases the flock
            self._descriptor = None

    @property
    def held(self) -> bool:
        """Whether this object holds the lock."""
        return self._descriptor is not None


def _read_holder(descriptor: int) -> str:
    """Who holds the lock, as the holder wrote it (it may not have written yet)."""
    try:
        record = json.loads(os.pread(descriptor, 4096, 0).decode("utf-8"))
        return (
            f"pid {int(record['pid'])} on host {record['host']} since {record['since']} "
            f"(command: {record['command'] or 'python'})"
        )
    except (OSError, ValueError, KeyError, TypeError):
        return "another process (it has not recorded its pid yet)"
