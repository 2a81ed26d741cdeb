"""Run explainers × metrics and hold the result."""

from .plan import Plan
from .result import TABLE_COLUMNS, Comparison
from .runner import CellExit, CellMemoryError, CellTimeout, compare
from .store import ResultStore

__all__ = ["compare", "Comparison", "Plan", "ResultStore", "CellTimeout", "CellMemoryError", "CellExit", "TABLE_COLUMNS"]
