"""The one record of a failure, for every part of the package that isolates one.

A comparison records the explainer, metric and stage that failed (a row of
:attr:`~agnostic_xai.Comparison.failures`); explaining a table records the rows of the
partition that failed. Both are a :class:`Failure`, built from the exception by
:meth:`Failure.from_exception` with one rule for the message: an error of this package says
what went wrong in its own words, and any other error (a bug in a model or a library) keeps
the file and line it came from.
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass
from typing import Any

from ..exceptions import AgnosticXAIError

__all__ = ["FAILURE_COLUMNS", "Failure"]

#: Keys of :meth:`Failure.as_record`, the columns of ``Comparison.failures``.
FAILURE_COLUMNS = ("explainer", "metric", "stage", "error", "message")


def _message(exc: BaseException) -> str:
    message = str(exc) or type(exc).__name__
    if not isinstance(exc, AgnosticXAIError):
        # An unexpected error: keep where it came from, for the report.
        frame = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
        where = f" (at {frame[0].filename.rsplit('/', 1)[-1]}:{frame[0].lineno})" if frame else ""
        message = f"{message}{where}"
    return message


@dataclass(frozen=True)
class Failure:
    """What failed, where, and why.

    Attributes
    ----------
    explainer, metric : str
        The explainer and metric of the failed cell ("" when not applicable).
    stage : str
        What was running: ``"explain"``, ``"metric"``, ``"ground truth"``, ``"skipped"``, ...
    error : str
        The exception's type name ("" for a skip).
    message : str
        Why, in words.
    start, stop : int, optional
        The rows ``[start, stop)`` the failure concerns, when it concerns some.
    """

    explainer: str = ""
    metric: str = ""
    stage: str = ""
    error: str = ""
    message: str = ""
    start: int | None = None
    stop: int | None = None

    @classmethod
    def from_exception(
        cls,
        exc: BaseException,
        *,
        explainer: str = "",
        metric: str = "",
        stage: str = "",
        start: int | None = None,
        stop: int | None = None,
    ) -> Failure:
        """The failure that ``exc`` describes (see the module notes for its message)."""
        return cls(explainer, metric, stage, type(exc).__name__, _message(exc), start, stop)

    @property
    def rows(self) -> str:
        """``"a-b"``, the first and last row concerned, or "" without rows."""
        if self.start is None or self.stop is None:
            return ""
        return f"{self.start}-{self.stop - 1}"

    def as_record(self) -> dict[str, Any]:
        """The failure as a row of ``Comparison.failures`` (keys :data:`FAILURE_COLUMNS`)."""
        return {key: getattr(self, key) for key in FAILURE_COLUMNS}

    def __str__(self) -> str:
        text = f"{self.error}: {self.message}" if self.error else self.message
        return f"rows {self.rows}: {text}" if self.rows else text
