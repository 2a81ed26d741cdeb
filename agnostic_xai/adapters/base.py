"""The adapter protocol: :class:`Adapter`, what every model kind implements, and the optional
:class:`MaskedRowsOnDevice` capability.

This module owns the contract between the package and a model: how rows are validated,
evaluated in batches and counted, in which context the model runs, and how outputs are
checked and copied. The concrete kinds (torch, scikit-learn, plain functions) live in the
sibling modules; :func:`agnostic_xai.wrap` chooses among them.
"""

from __future__ import annotations

import contextlib
import threading
from abc import ABC, abstractmethod
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any, ClassVar

import numpy as np

from .._checks import check_int
from .._threads import blas_single_threaded
from .._validation import check_feature_names, check_matrix, check_target
from ..exceptions import IncompatibleModelError, InvalidInputError, ModelOutputError

__all__ = ["Adapter", "MaskedRowsOnDevice", "DEFAULT_BATCH_SIZE", "DEFAULT_CUDA_BATCH_SIZE", "TASKS", "OUTPUTS"]

#: Rows per forward pass. Measured on 2 CPU cores for a 30-64-64-2 MLP (200k rows, numpy's
#: BLAS limited to one thread): 256 rows 71 ms, 1,024 39 ms, 2,048 28 ms, 4,096 27.5 ms,
#: 8,192 31 ms, one 200k-row batch 309 ms (``benchmarks/adapter_batch_size.py``).
DEFAULT_BATCH_SIZE = 4096
#: Rows per forward pass for a torch module on a CUDA device, where each pass costs a few
#: kernel launches whatever its size. Measured on an H200 for the same MLP, explaining 143
#: rows (``benchmarks/cuda_native.py``): exact_shapley on 10 groups took 1.98 ms/row at 4,096
#: rows per pass, 0.215 at 65,536 and 0.099 at 262,144, with 304 MiB of GPU memory at peak.
DEFAULT_CUDA_BATCH_SIZE = 262_144
TASKS = ("classification", "regression")
OUTPUTS = ("probability", "logit", "raw")


class Adapter(ABC):
    """A model behind one interface: ``predict(X) -> float64 (n, n_outputs)``.

    Adapters are made by :func:`agnostic_xai.wrap`. Every explainer and metric touches the
    model only through an adapter, so all of them explain the same quantity: output
    ``target`` of :meth:`predict`, in the space named by :attr:`output`.

    Attributes
    ----------
    task : str
        ``"classification"`` or ``"regression"``.
    output : str
        What :meth:`predict` returns: ``"probability"``, ``"logit"`` or ``"raw"``.
    n_outputs : int
        Number of output columns.
    output_names : tuple of str
        Names of the output columns (class labels for classifiers).
    feature_names : tuple of str or None
        Names of the input columns; DataFrames are aligned to them by name.
    batch_size : int
        Rows per model call.
    rows_evaluated : int
        Total rows this adapter has sent through the model (for cost accounting).

    Notes
    -----
    **The protocol.** Explainers, metrics and the comparison use these members only:

    * :meth:`validate` and :meth:`predict` at the edges, where rows come from a caller;
    * :meth:`evaluate` for rows that are already validated float64 (the inner loops): it
      runs :meth:`forward` on chunks of :attr:`batch_size` rows inside :meth:`evaluation`,
      checks and copies what the model returns, and counts the rows;
    * :meth:`evaluation`, the context a model runs in (eval mode and no autograd for torch),
      for code that calls the model by another route;
    * :meth:`count_rows`, the thread-safe way to count rows evaluated outside
      :meth:`evaluate` (gradients, masked rows built on a device), so that
      :attr:`rows_evaluated` stays the whole cost;
    * :meth:`resolve_target`, and :meth:`gradient` where :attr:`is_differentiable`;
    * optionally, the :class:`MaskedRowsOnDevice` capability: removal-based methods ask for
      it with ``isinstance`` and otherwise build their masked rows with numpy and call
      :meth:`evaluate`.

    **A new model kind** (an ONNX session, a remote endpoint) subclasses :class:`Adapter`,
    calls ``super().__init__(task=..., output=..., n_features=..., feature_names=...,
    batch_size=...)`` and implements :meth:`forward`, which evaluates one read-only chunk of
    rows. It may override :meth:`evaluation` when the model needs a context, and it may add
    :class:`MaskedRowsOnDevice` when it can build masked rows where the model runs. Nothing
    else is needed for every perturbation explainer and metric, :func:`agnostic_xai.compare`
    included; the gradient methods need a differentiable torch adapter. An adapter that
    travels to worker processes (``n_jobs > 1``, Dask) must pickle.

    Examples
    --------
    >>> import numpy as np
    >>> class Endpoint(Adapter):
    ...     def __init__(self, weights):
    ...         super().__init__(task="regression", output="raw", n_features=len(weights),
    ...                          feature_names=None, batch_size=2)
    ...         self.weights = np.asarray(weights, dtype=float)
    ...     def forward(self, X):
    ...         return X @ self.weights
    >>> endpoint = Endpoint([1.0, 2.0])
    >>> endpoint.predict([[1.0, 1.0], [0.0, 1.0], [2.0, 0.0]])
    array([[3.],
           [2.],
           [2.]])
    >>> endpoint.rows_evaluated
    3
    """

    #: Whether :meth:`gradient` is available.
    is_differentiable: ClassVar[bool] = False

    def __init__(
        self,
        *,
        task: str,
        output: str,
        n_features: int | None,
        feature_names: Sequence[str] | None,
        batch_size: int | None,
    ) -> None:
        if task not in TASKS:
            raise InvalidInputError(f"task must be one of {TASKS}, got {task!r}.")
        if output not in OUTPUTS:
            raise InvalidInputError(f"output must be one of {OUTPUTS}, got {output!r}.")
        if task == "regression" and output != "raw":
            raise InvalidInputError(f"A regression model's output is 'raw'; {output!r} applies to classifiers.")
        if batch_size is None:
            batch_size = DEFAULT_BATCH_SIZE
        batch_size = check_int(batch_size, "batch_size", minimum=1)
        self.task = task
        self.output = output
        self.batch_size = batch_size
        self.feature_names = check_feature_names(feature_names, n_features)
        self._n_features = n_features if n_features is not None else (
            len(self.feature_names) if self.feature_names is not None else None
        )
        self._n_outputs: int | None = None
        self._output_names: tuple[str, ...] | None = None
        self._rows = 0
        self._rows_lock = threading.Lock()

    def __getstate__(self) -> dict[str, Any]:
        # Adapters travel to worker processes (n_jobs); the lock does not.
        state = self.__dict__.copy()
        del state["_rows_lock"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._rows_lock = threading.Lock()

    # ------------------------------------------------------------------ metadata
    @property
    def n_features(self) -> int:
        """Number of input columns."""
        if self._n_features is None:
            raise InvalidInputError(
                "The number of features is not known yet: pass feature_names to wrap() or call predict() once."
            )
        return self._n_features

    @property
    def n_outputs(self) -> int:
        """Number of output columns of :meth:`predict`."""
        if self._n_outputs is None:
            self._probe()
        assert self._n_outputs is not None
        return self._n_outputs

    @property
    def output_names(self) -> tuple[str, ...]:
        """Names of the output columns."""
        if self._output_names is None:
            self._output_names = self._default_output_names(self.n_outputs)
        return self._output_names

    def _default_output_names(self, k: int) -> tuple[str, ...]:
        if self.task == "classification":
            return tuple(f"class_{i}" for i in range(k))
        return ("output",) if k == 1 else tuple(f"output_{i}" for i in range(k))

    @property
    def rows_evaluated(self) -> int:
        """Rows sent through the model by this adapter so far."""
        return self._rows

    def count_rows(self, n: int) -> None:
        """Add ``n`` rows to :attr:`rows_evaluated` (thread-safe).

        :meth:`evaluate` counts its own rows. Code that sends rows through the model by
        another route (a gradient, masked rows built on a device, a model call made by a
        third-party library) counts them here, so that every result's cost is complete.

        Parameters
        ----------
        n : int
            Rows evaluated, at least 0.

        Raises
        ------
        InvalidInputError
            For a negative ``n`` (:class:`~agnostic_xai.exceptions.InvalidTypeError` for a
            value that is not an int).
        """
        rows = check_int(n, "n", minimum=0) or 0  # never None: None is refused
        with self._rows_lock:
            self._rows += rows

    def _probe(self) -> None:
        self.evaluate(np.zeros((1, self.n_features)))

    # ------------------------------------------------------------------ prediction
    def validate(self, X: Any, *, name: str = "X", min_rows: int = 1) -> np.ndarray:
        """Check ``X`` against the model's features; return a read-only float64 array."""
        array = check_matrix(
            X, name=name, feature_names=self.feature_names, n_features=self._n_features, min_rows=min_rows
        )
        if self._n_features is None:
            self._n_features = array.shape[1]
        return array

    def predict(self, X: Any) -> np.ndarray:
        """Evaluate the model on ``X``.

        Parameters
        ----------
        X : array-like, DataFrame or Tensor of shape (n, d)
            Rows to evaluate.

        Returns
        -------
        ndarray of shape (n, n_outputs), float64
            The explained output (see :attr:`output`), evaluated in chunks of
            :attr:`batch_size` rows, without autograd, with the model in eval mode.
        """
        return self.evaluate(self.validate(X))

    def evaluate(self, X: np.ndarray) -> np.ndarray:
        """Evaluate the model on rows that are already validated, counting them.

        The inner loops of explainers and metrics call this rather than :meth:`predict`:
        their rows come from :meth:`validate` or are built from validated rows, so they are
        not checked again.

        Parameters
        ----------
        X : ndarray of shape (n, n_features), float64
            Validated rows (from :meth:`validate`, or built from such rows).

        Returns
        -------
        ndarray of shape (n, n_outputs), float64
            A new array: :meth:`forward` of each chunk of :attr:`batch_size` rows, run inside
            :meth:`evaluation` (and with numpy's BLAS on one thread), checked and copied.
            Each chunk reaches :meth:`forward` as a read-only view and each result is copied
            here, so a model that writes into its input or returns one reused buffer can
            change neither the caller's rows nor an earlier result. The ``n`` rows are added
            to :attr:`rows_evaluated`.

        Raises
        ------
        ModelOutputError
            When the model raises, or returns a wrong shape, a changed number of outputs,
            NaN or infinite values.
        """
        n = X.shape[0]
        with blas_single_threaded(), self.evaluation():
            chunks = []
            for start in range(0, n, self.batch_size):
                block = X[start : start + self.batch_size].view()
                block.flags.writeable = False
                try:
                    out = self.forward(block)
                except (Exception, SystemExit) as exc:  # the user's model raised (sys.exit cannot end a run)
                    raise ModelOutputError(f"The model raised {type(exc).__name__}: {exc}") from exc
                chunks.append(self._check_output(out, block.shape[0]))
        self.count_rows(n)
        return chunks[0] if len(chunks) == 1 else np.concatenate(chunks, axis=0)

    def _check_output(self, out: Any, n: int) -> np.ndarray:
        # A copy: the model may hand back a buffer it overwrites on its next call.
        out = np.array(out, dtype=np.float64, copy=True)
        if out.ndim == 1:
            out = out[:, None]
        if out.ndim != 2 or out.shape[0] != n:
            raise ModelOutputError(f"The model returned shape {out.shape} for {n} rows; expected (n, k).")
        if self._n_outputs is None:
            self._n_outputs = out.shape[1]
        elif out.shape[1] != self._n_outputs:
            raise ModelOutputError(f"The model returned {out.shape[1]} outputs, earlier {self._n_outputs}.")
        if not np.isfinite(out).all():
            raise ModelOutputError(
                f"The model returned NaN or infinite values for {int((~np.isfinite(out)).any(axis=1).sum())} "
                f"of {n} rows."
            )
        return out

    def evaluation(self) -> AbstractContextManager[Any]:
        """The context the model is evaluated in; :meth:`evaluate` enters it around its chunks.

        The base adapter needs none (a null context). A model kind that does overrides it:
        the torch adapter puts the module in eval mode (restoring its training flags after)
        and disables autograd. Code that calls the model by another route than
        :meth:`evaluate` (tracing a module, a capability's forward) enters it too.

        Returns
        -------
        context manager
        """
        return contextlib.nullcontext()

    @abstractmethod
    def forward(self, X: np.ndarray) -> Any:
        """Evaluate one chunk of rows; what a new model kind implements.

        Called by :meth:`evaluate` (inside :meth:`evaluation`) with at most
        :attr:`batch_size` rows; call :meth:`evaluate` or :meth:`predict` instead of this.

        Parameters
        ----------
        X : ndarray of shape (m, n_features), float64, read-only
            The model must be given a copy of its own (the conversion to the model's input
            type usually is that copy).

        Returns
        -------
        array-like of shape (m, k) or (m,)
            The outputs in the explained space (:attr:`output`). :meth:`evaluate` converts
            them to float64, checks their shape and finiteness, and copies them.
        """

    # ------------------------------------------------------------------ targets
    def resolve_target(self, target: Any, X: np.ndarray, predictions: np.ndarray | None = None) -> np.ndarray:
        """Which output to explain for each row of ``X``, as an ``(n,)`` int array.

        ``None`` means the predicted class for classifiers and output 0 for regression; an
        int or one int per row is checked against :attr:`n_outputs`.
        """
        n = X.shape[0]
        if target is None:
            if self.task == "regression":
                return np.zeros(n, dtype=np.int64)
            if predictions is None:
                predictions = self.evaluate(X)
            return np.argmax(predictions, axis=1).astype(np.int64)
        return check_target(target, n, self.n_outputs)

    # ------------------------------------------------------------------ gradients
    def gradient(self, X: Any, target: Any = None) -> np.ndarray:
        """Gradient of the explained output ``target`` with respect to the inputs.

        Raises
        ------
        IncompatibleModelError
            For adapters that are not differentiable.
        """
        raise IncompatibleModelError(
            f"{type(self).__name__} is not differentiable: gradient methods apply to torch models only. "
            "Use a perturbation method (kernel_shap, permutation_shap, lime, feature_ablation) instead."
        )

    def __repr__(self) -> str:
        d = self._n_features if self._n_features is not None else "?"
        k = self._n_outputs if self._n_outputs is not None else "?"
        return f"{type(self).__name__}(task={self.task!r}, output={self.output!r}, features={d}, outputs={k})"


class MaskedRowsOnDevice(ABC):
    """Optional capability of an :class:`Adapter`: masked rows built and evaluated where the model runs.

    Removal-based computations (exact enumeration, sampling Shapley, feature ablation, the
    removal metrics) evaluate ``f_t(where(mask, x, r))`` for very many (row, coalition,
    reference row) triples. :class:`~agnostic_xai._masked.MaskedModel` asks an adapter for
    this capability with ``isinstance(adapter, MaskedRowsOnDevice)``: when it has it, the
    rows, the reference rows and the targets are converted once with :meth:`to_tensor`, each
    block of masked rows is built with ``torch.where`` on :attr:`device` and evaluated in
    chunks of the adapter's ``batch_size`` with :meth:`forward_selected` inside the
    adapter's :meth:`~Adapter.evaluation`; only one output per masked row leaves the model,
    and nothing leaves the device until the caller asks. Without it, the same blocks are
    built with numpy and evaluated through :meth:`Adapter.evaluate`. Either way the values
    are the same: selecting entries with ``where`` is exact in any dtype.

    The capability is a mixin: a model kind declares it by subclassing it next to
    :class:`Adapter` (``class OnnxAdapter(Adapter, MaskedRowsOnDevice)``) or by
    ``MaskedRowsOnDevice.register(OnnxAdapter)``. The caller checks what
    :meth:`forward_selected` returns (its shape, finite values), wraps the model's errors in
    :class:`~agnostic_xai.exceptions.ModelOutputError` and counts the rows with
    :meth:`Adapter.count_rows`.

    Attributes
    ----------
    device : torch.device
        Where the masked rows are built and the model runs.
    """

    device: Any

    @abstractmethod
    def to_tensor(self, X: np.ndarray) -> Any:
        """Rows as a new tensor on :attr:`device`, in the dtype the model takes.

        Parameters
        ----------
        X : ndarray of shape (n, n_features), float64

        Returns
        -------
        torch.Tensor of shape (n, n_features)
            Sharing no memory with ``X``. Entries selected from it with ``torch.where`` reach
            the model as they are, so their conversion must be the one :meth:`Adapter.evaluate`
            would make.
        """

    @abstractmethod
    def forward_selected(self, x: Any, target: Any) -> Any:
        """The explained output of each row at its own target, for one chunk.

        Parameters
        ----------
        x : torch.Tensor of shape (m, n_features)
            Rows on :attr:`device` in the model's dtype, given away by the caller: the model
            may write into them (no copy is made; the caller built them and reads them no more).
        target : torch.LongTensor of shape (m,)
            The output explained for each row, on :attr:`device`.

        Returns
        -------
        torch.Tensor of shape (m,)
            ``predict(x)[i, target[i]]`` to the model's rounding, on :attr:`device`.
            Called inside :meth:`Adapter.evaluation`; the rows are not counted here.
        """
