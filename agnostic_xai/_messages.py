"""Error messages that stay one short line whatever the input held.

A value quoted in an error comes from the user's files and flags: a configuration value can
be megabytes long (or, before aliases were refused, a YAML alias bomb expanded to gigabytes),
and a parser's message may quote a whole line of the file. Every such value goes through
:func:`quoted`, and the command line passes each message through :func:`one_line`.
"""

from __future__ import annotations

import reprlib
from typing import Any

__all__ = ["MAX_MESSAGE", "MAX_QUOTED", "one_line", "quoted"]

#: Characters of one quoted value kept in an error message.
MAX_QUOTED = 80

#: Characters of a whole one-line error message kept by :func:`one_line`.
MAX_MESSAGE = 2000


def _cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return f"{text[: max(limit - 24, 1)]}... ({len(text):,} characters)"


def quoted(value: Any, limit: int = MAX_QUOTED) -> str:
    """``repr(value)`` in at most about ``limit`` characters.

    A long string says how long it was; containers are abbreviated as they are rendered
    (:mod:`reprlib`), so quoting a huge nested value costs no more than quoting a short one.
    """
    if isinstance(value, (str, bytes)) and len(value) > limit:
        head = repr(value[: max(limit - 24, 1)])[: max(limit - 24, 1)]
        return f"{head}... ({len(value):,} {'characters' if isinstance(value, str) else 'bytes'})"
    short = reprlib.Repr()
    short.maxstring = short.maxother = max(limit // 2, 12)
    short.maxlist = short.maxtuple = short.maxdict = short.maxset = short.maxfrozenset = 6
    short.maxlevel = 3
    return _cut(short.repr(value), limit)


def one_line(text: str, limit: int = MAX_MESSAGE) -> str:
    """``text`` on one line (line breaks become spaces), at most about ``limit`` characters."""
    return _cut(" ".join(str(text).splitlines()), limit)
