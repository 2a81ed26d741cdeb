"""agnostic-xai: comparable explanations for PyTorch and scikit-learn models on tabular data.

Adapters put any model behind one predict interface; explainers return one
:class:`Attribution` record; metrics score explanations on the same model, rows, output and
background; :func:`compare` runs explainers × metrics and returns a :class:`Comparison` (:func:`plan`
says what it would evaluate, before running it).
"""

from __future__ import annotations

from . import reports  # noqa: F401  registers the writers behind Comparison.to_html/to_json/to_markdown
from ._params import clone
from ._version import __version__
from .adapters import Adapter, wrap
from .attribution import Attribution
from .comparison import Comparison, compare
from .comparison.plan import Plan, plan
from .distributed import explain
from .exceptions import AgnosticXAIError
from .groups import FeatureGroups

__all__ = [
    "Adapter",
    "AgnosticXAIError",
    "Attribution",
    "Comparison",
    "FeatureGroups",
    "Plan",
    "__version__",
    "clone",
    "compare",
    "explain",
    "plan",
    "wrap",
]
