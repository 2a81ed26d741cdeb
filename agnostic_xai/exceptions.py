"""Exceptions and warnings raised by agnostic-xai.

Every error the library raises on purpose derives from :class:`AgnosticXAIError`, so
callers can catch the whole family in one ``except`` clause. The specific classes also
derive from the closest built-in exception (``ValueError``, ``TypeError``, ...), so code
written against the standard hierarchy keeps working.

Wrong values and wrong types: an argument of the right kind with a value that cannot be
used (NaN in ``X``, ``confidence=2``, an empty feature group) raises
:class:`InvalidInputError`, a ``ValueError``. An argument of the wrong kind (``None`` where
a list of names is expected, ``5`` as a feature group, a ``bfloat16``-only operation, an
unknown keyword argument) raises :class:`InvalidTypeError`, which is *both* an
:class:`InvalidInputError` and a ``TypeError``: callers who catch ``TypeError``, as Python
code does for a wrong argument, catch it, and so do callers who catch every bad input with
``except InvalidInputError``. Every message names the argument and what it accepts.
"""

from __future__ import annotations

__all__ = [
    "AgnosticXAIError",
    "InvalidInputError",
    "InvalidTypeError",
    "RowIndexError",
    "IncompatibleModelError",
    "ModelOutputError",
    "BudgetError",
    "NotFittedError",
    "UnknownNameError",
    "UnsafeFileError",
    "StoreError",
    "AgnosticXAIWarning",
    "SaturationWarning",
    "HeadProbeWarning",
    "StoreWarning",
    "DegenerateMetricWarning",
    "ImpossibleValuesWarning",
]


class AgnosticXAIError(Exception):
    """Base class of every error raised by agnostic-xai."""


class InvalidInputError(AgnosticXAIError, ValueError):
    """Data, targets or parameters that cannot be used as given.

    Raised for NaN/inf values, wrong shapes or column names, empty data, targets out of
    range and the like, before any model evaluation happens.
    """


class InvalidTypeError(InvalidInputError, TypeError):
    """An argument of the wrong type, or a keyword argument that does not exist.

    Both a :class:`InvalidInputError` (so one ``except InvalidInputError`` still catches every
    bad input) and a ``TypeError`` (what Python raises for a wrong argument).
    """


class RowIndexError(InvalidInputError, IndexError):
    """A row index past the end of a record (an ``IndexError``, so iteration stops as usual)."""


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


class HeadProbeWarning(AgnosticXAIWarning):
    """What a torch module returns was decided from its outputs, not read from its code.

    Issued when a module's code names no probability head (its forward cannot be traced,
    or ends in a hand-written normalisation) but its outputs on probe rows are probability
    vectors: they are then explained as they are, not softmaxed again. Passing ``head=`` to
    :func:`agnostic_xai.wrap` states what the module returns and silences the warning.
    """


class StoreError(InvalidInputError):
    """A result store that cannot be used: damaged, of another schema, in use by another run,
    or reached through a link that would write outside its directory."""


class StoreWarning(AgnosticXAIWarning):
    """Stored cells were not trusted (damaged, or written by another configuration) and are recomputed."""


class DegenerateMetricWarning(AgnosticXAIWarning):
    """A metric cannot tell the explanations apart on this data.

    Issued by :func:`~agnostic_xai.compare` when PGI and PGU agree for every explainer, when
    most of a score comes from a numerical guard ``ε`` rather than from the explanation, or
    when every explainer gets the same score on every row. The diagnosis is also recorded
    in ``Comparison.diagnostics``.
    """


class ImpossibleValuesWarning(AgnosticXAIWarning):
    """An explainer returned values no Shapley value of the explained output can take.

    For example ``|φ_j| > 1`` for a probability: a Shapley value is a weighted average of
    differences of the output, so it lies within the output's range. The rows are flagged in
    the record's ``extras``; their sum can still be right.
    """
