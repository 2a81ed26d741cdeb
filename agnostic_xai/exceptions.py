"""Exceptions and warnings raised by agnostic-xai.

Every error the library raises on purpose derives from :class:`AgnosticXAIError`, so
callers can catch the whole family in one ``except`` clause. The specific classes also
derive from the closest built-in exception (``ValueError``, ``TypeError``, ...), so code
written against the standard hierarchy keeps working.
"""

from __future__ import annotations

__all__ = [
    "AgnosticXAIError",
    "InvalidInputError",
    "IncompatibleModelError",
    "ModelOutputError",
    "BudgetError",
    "NotFittedError",
    "UnknownNameError",
    "UnsafeFileError",
    "AgnosticXAIWarning",
    "SaturationWarning",
    "ImpossibleValuesWarning",
]


class AgnosticXAIError(Exception):
    """Base class of every error raised by agnostic-xai."""


class InvalidInputError(AgnosticXAIError, ValueError):
    """Data, targets or parameters that cannot be used as given.

    Raised for NaN/inf values, wrong shapes or column names, empty data, targets out of
    range and the like, before any model evaluation happens.
    """


class IncompatibleModelError(AgnosticXAIError, TypeError):
    """The model cannot be used the way it was asked to be used.

    For example a gradient method on a scikit-learn model, logits requested from a module
    that ends in Softmax, or an object that is not a model at all.
    """


class ModelOutputError(AgnosticXAIError, RuntimeError):
    """The model raised, or returned NaN/inf or an output of the wrong shape."""


class BudgetError(InvalidInputError):
    """A computational budget is too small for the method, or too large to be run."""


class NotFittedError(AgnosticXAIError, AttributeError):
    """An explainer was used before :meth:`fit` was called."""


class UnknownNameError(AgnosticXAIError, ValueError):
    """A registry name (explainer, metric, strategy, ...) that does not exist."""


class UnsafeFileError(AgnosticXAIError, PermissionError):
    """A file would execute code when loaded, and loading it was not explicitly trusted."""


class AgnosticXAIWarning(UserWarning):
    """Base class of the warnings issued by agnostic-xai."""


class SaturationWarning(AgnosticXAIWarning):
    """Many explained probabilities are saturated at exactly 0 or 1.

    Saturated probabilities have zero gradient and make explanations in probability space
    vanish; explaining ``output="logit"`` avoids this.
    """


class ImpossibleValuesWarning(AgnosticXAIWarning):
    """An explainer returned values no Shapley value of the explained output can take.

    For example ``|φ_j| > 1`` for a probability: a Shapley value is a weighted average of
    differences of the output, so it lies within the output's range. The rows are flagged in
    the record's ``extras``; their sum can still be right.
    """
