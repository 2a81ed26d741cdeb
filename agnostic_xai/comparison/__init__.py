"""Run explainers × metrics and hold the result."""

from .plan import Plan
from .result import TABLE_COLUMNS, Comparison
from .runner import CellExit, CellMemoryError, CellTimeout, compare
from .store import ResultStore

__all__ = ["TABLE_COLUMNS", "CellExit", "CellMemoryError", "CellTimeout", "Comparison", "Plan", "ResultStore", "compare"]
