"""Run explainers × metrics and hold the result."""

from .result import TABLE_COLUMNS, Comparison
from .runner import CellTimeout, compare

__all__ = ["compare", "Comparison", "CellTimeout", "TABLE_COLUMNS"]
