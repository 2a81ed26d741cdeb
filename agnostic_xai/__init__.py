"""agnostic-xai: comparable explanations for PyTorch and scikit-learn models on tabular data.

Adapters put any model behind one predict interface; explainers return one
:class:`Attribution` record; metrics score explanations on the same model, rows, output and
background.
"""

from __future__ import annotations

from .adapters import Adapter, wrap
from .attribution import Attribution
from .exceptions import AgnosticXAIError
from .groups import FeatureGroups

__version__ = "0.1.0"

__all__ = ["Adapter", "Attribution", "AgnosticXAIError", "FeatureGroups", "wrap", "__version__"]
