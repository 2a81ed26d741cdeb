"""What every plot shares: where it draws, how it writes data text, and its argument checks.

This module owns the plotting conventions of :mod:`agnostic_xai.reports.plots`: a plot
draws on the Axes it is given (only ``ax=None`` makes a pyplot figure), text from the data
is drawn literally (``$`` escaped, no mathtext), and the checks of the objects a plot is
given, with their errors.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..attribution import Attribution
from ..exceptions import InvalidInputError, UnknownNameError

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from ..comparison import Comparison

__all__ = ["axes_or_new", "check_attribution", "check_comparison", "check_count", "check_metric", "literal_text"]


def axes_or_new(ax: Axes | None, size: tuple[float, float] = (6.4, 4.0)) -> Axes:
    """``ax``, or the Axes of a new pyplot figure (interactive use only)."""
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, new = plt.subplots(figsize=size)
    return new


def literal_text(label: Any) -> str:
    """``label`` as literal matplotlib text (no mathtext)."""
    return str(label).replace("$", r"\$")


def check_comparison(comparison: Any) -> Comparison:
    """``comparison``, refused unless it is a :class:`Comparison`."""
    from ..comparison import Comparison

    if not isinstance(comparison, Comparison):
        raise InvalidInputError(f"Expected a Comparison (from agnostic_xai.compare), got {type(comparison).__name__}.")
    return comparison


def check_attribution(attribution: Any) -> Attribution:
    """``attribution``, refused unless it is an :class:`Attribution`."""
    if not isinstance(attribution, Attribution):
        raise InvalidInputError(f"Expected an Attribution, got {type(attribution).__name__}.")
    return attribution


def check_count(value: Any, name: str) -> int:
    """``value`` as a positive int, refused otherwise (``name`` in the error)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise InvalidInputError(f"{name} must be a positive int, got {value!r}.")
    return int(value)


def check_metric(comparison: Comparison, metric: str) -> None:
    """Refuse a ``metric`` with no scores in ``comparison``."""
    if metric not in comparison.metric_names:
        raise UnknownNameError(
            f"No scores for metric {metric!r} in this comparison; present: {comparison.metric_names}."
        )
