"""The writers behind :class:`~agnostic_xai.Comparison`'s report methods, registered by :mod:`agnostic_xai.reports`.

``comparison/`` must not import ``reports/`` (reports depend on comparisons): so
:meth:`Comparison.to_html <agnostic_xai.Comparison.to_html>`, ``to_json`` and
``to_markdown`` look their writer up here, and :mod:`agnostic_xai.reports` registers
:func:`~agnostic_xai.reports.write_html`, :func:`~agnostic_xai.reports.write_json` and
:func:`~agnostic_xai.reports.to_markdown` when it is imported (``import agnostic_xai`` imports
it). The same inversion lets a user replace a writer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .._validation import check_str
from ..exceptions import AgnosticXAIError, InvalidInputError

__all__ = ["REPORT_FORMATS", "register_report_writer", "report_writer"]

#: The report formats a :class:`Comparison` writes through its methods.
REPORT_FORMATS = ("html", "json", "markdown")
_report_writers: dict[str, Callable[..., Any]] = {}


def register_report_writer(kind: str, writer: Callable[..., Any]) -> None:
    """Register the function behind :meth:`Comparison.to_html` (``"html"``), ``to_json`` or ``to_markdown``.

    :mod:`agnostic_xai.reports` registers its writers when imported; a later registration of
    the same format replaces the earlier one.

    Parameters
    ----------
    kind : {"html", "json", "markdown"}
        The format.
    writer : callable
        ``writer(comparison, path, **options)`` for files, ``writer(comparison, **options)``
        for Markdown.
    """
    check_str(kind, "kind")
    if kind not in REPORT_FORMATS:
        raise InvalidInputError(f"kind must be one of {list(REPORT_FORMATS)}, got {kind!r}.")
    if not callable(writer):
        raise InvalidInputError(f"writer must be callable, got {type(writer).__name__}.")
    _report_writers[kind] = writer


def report_writer(kind: str) -> Callable[..., Any]:
    """The writer registered for ``kind`` (one of :data:`REPORT_FORMATS`).

    Raises
    ------
    AgnosticXAIError
        When none is registered (:mod:`agnostic_xai.reports` not imported).
    """
    writer = _report_writers.get(kind)
    if writer is None:
        raise AgnosticXAIError(f"No {kind} report writer is registered: import agnostic_xai.reports first.")
    return writer
