"""The :class:`Adapter` interface: one predict function for any model."""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from .._checks import check_int
from .._threads import blas_single_threaded
from .._validation import check_feature_names, check_matrix, check_target
from ..exceptions import IncompatibleModelError, InvalidInputError, ModelOutputError

__all__ = ["Adapter", "DEFAULT_BATCH_SIZE", "DEFAULT_CUDA_BATCH_SIZE", "TASKS", "OUTPUTS"]

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

    def _probe(self) -> None:
        self._predict_validated(np.zeros((1, self.n_features)))

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
        return self._predict_validated(self.validate(X))

    def _predict_validated(self, X: np.ndarray) -> np.ndarray:
        """Chunked evaluation of already-validated float64 rows (no re-validation).

        Each chunk reaches :meth:`_forward` as a read-only view (which gives the model its own
        copy) and each result is copied here: a model that writes into its input or returns
        one reused buffer can change neither the caller's rows nor an earlier result.
        """
        n = X.shape[0]
        with blas_single_threaded(), self._evaluation():
            chunks = []
            for start in range(0, n, self.batch_size):
                block = X[start : start + self.batch_size].view()
                block.flags.writeable = False
                try:
                    out = self._forward(block)
                except (Exception, SystemExit) as exc:  # the user's model raised (sys.exit cannot end a run)
                    raise ModelOutputError(f"The model raised {type(exc).__name__}: {exc}") from exc
                chunks.append(self._check_output(out, block.shape[0]))
        with self._rows_lock:
            self._rows += n
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

    def _evaluation(self) -> Any:
        """Context in which the model is evaluated (eval mode, no grad for torch)."""
        import contextlib

        return contextlib.nullcontext()

    @abstractmethod
    def _forward(self, X: np.ndarray) -> np.ndarray:
        """Evaluate one chunk of float64 rows; return ``(m, k)`` in the explained output space.

        ``X`` is read-only; the model must be given a copy of its own (the conversion to the
        model's input type usually is that copy). The result is copied by the caller.
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
                predictions = self._predict_validated(X)
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
