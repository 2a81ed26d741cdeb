"""Adapter for scikit-learn estimators and pipelines."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..exceptions import IncompatibleModelError, InvalidInputError
from .base import Adapter

__all__ = ["SklearnAdapter"]


class SklearnAdapter(Adapter):
    """Explain a fitted scikit-learn estimator or pipeline.

    Classifiers are explained as ``"probability"`` (``predict_proba``) by default, or as
    ``"logit"`` (``decision_function``; a binary classifier's single score ``z`` becomes the
    two columns ``[-z, z]``). Regressors are explained as ``"raw"`` (``predict``). An estimator
    fitted on a DataFrame receives a DataFrame with its own column names, so it sees exactly
    what it was trained on.
    """

    def __init__(
        self,
        estimator: Any,
        *,
        task: str | None = None,
        output: str | None = None,
        feature_names: Sequence[str] | None = None,
        batch_size: int | None = None,
    ) -> None:
        from sklearn.base import is_classifier, is_regressor
        from sklearn.exceptions import NotFittedError as SklearnNotFitted
        from sklearn.utils.validation import check_is_fitted

        try:
            check_is_fitted(estimator)
        except SklearnNotFitted:
            raise IncompatibleModelError(f"The {type(estimator).__name__} is not fitted; fit it before wrapping.") from None
        except TypeError as exc:
            raise IncompatibleModelError(f"{type(estimator).__name__} is not a scikit-learn estimator: {exc}") from None
        if task is None:
            if is_classifier(estimator):
                task = "classification"
            elif is_regressor(estimator):
                task = "regression"
            else:
                raise IncompatibleModelError(
                    f"Cannot tell whether {type(estimator).__name__} is a classifier or a regressor; pass task=."
                )
        if output is None:
            output = "probability" if task == "classification" else "raw"
        fitted_names = getattr(estimator, "feature_names_in_", None)
        self._fitted_names = tuple(str(c) for c in fitted_names) if fitted_names is not None else None
        if feature_names is None:
            feature_names = self._fitted_names
        elif self._fitted_names is not None and tuple(feature_names) != self._fitted_names:
            raise InvalidInputError(
                f"feature_names differ from the names the estimator was fitted with ({list(self._fitted_names)[:5]}...)."
            )
        n_features = getattr(estimator, "n_features_in_", None)
        super().__init__(
            task=task,
            output=output,
            n_features=int(n_features) if n_features is not None else None,
            feature_names=feature_names,
            batch_size=batch_size,
        )
        self.estimator = estimator
        if task == "classification":
            if output == "probability" and not hasattr(estimator, "predict_proba"):
                raise IncompatibleModelError(
                    f"{type(estimator).__name__} has no predict_proba; explain output='logit' (decision_function)."
                )
            if output == "logit" and not hasattr(estimator, "decision_function"):
                raise IncompatibleModelError(f"{type(estimator).__name__} has no decision_function for output='logit'.")
            if output == "raw":
                raise InvalidInputError("For scikit-learn classifiers explain output='probability' or 'logit'.")
            classes = getattr(estimator, "classes_", None)
            if classes is not None:
                self._n_outputs = len(classes)
                self._output_names = tuple(str(c) for c in classes)

    def forward(self, X: np.ndarray) -> np.ndarray:
        """One chunk of rows through the estimator (see :meth:`Adapter.forward`)."""
        # A private copy: pipelines may transform in place (StandardScaler(copy=False)).
        data: Any = np.array(X, dtype=np.float64, copy=True)
        if self._fitted_names is not None:
            data = pd.DataFrame(data, columns=list(self._fitted_names), copy=False)
        if self.task == "regression":
            return np.asarray(self.estimator.predict(data), dtype=np.float64)
        if self.output == "probability":
            return np.asarray(self.estimator.predict_proba(data), dtype=np.float64)
        scores = np.asarray(self.estimator.decision_function(data), dtype=np.float64)
        if scores.ndim == 1:
            scores = np.stack([-scores, scores], axis=1)
        return scores
