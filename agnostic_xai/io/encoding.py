"""The model's columns of a table's rows: the ``encoder`` of :func:`~agnostic_xai.explain`.

A table with text or categorical columns and missing values must be encoded before a model
sees it, and encoded the *same way* in every partition, wherever the partition runs. The
encoder is therefore fitted once, by the caller (typically a
:class:`~agnostic_xai.io.TableEncoder` fitted on a sample), travels with the job to every
worker, and is only applied there: ``encode(encoder, raw_rows)`` gives the model's columns.

This module also owns which of a table's columns the model reads, with or without an
encoder (:func:`plain_columns`, :func:`encoded_columns`): the model is wrapped with those
column names, and the background is checked (and encoded) once, before any partition runs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from ..adapters import Adapter, wrap
from ..exceptions import InvalidInputError, NotFittedError
from ._encoder import TableEncoder

__all__ = ["Encoder", "check_encoder", "csv_dtypes", "encode", "encoded_columns", "plain_columns", "raw_columns"]

#: A fitted TableEncoder, or a function from raw rows to the model's columns.
Encoder = TableEncoder | Callable[[pd.DataFrame], pd.DataFrame]


def check_encoder(encoder: Any, *, remote: bool) -> Encoder:
    """``encoder`` if it can be used: a fitted TableEncoder or a callable (picklable if ``remote``).

    Raises
    ------
    InvalidInputError
        Not a TableEncoder or a callable, or (``remote``) it does not pickle.
    NotFittedError
        A TableEncoder that was not fitted.
    """
    if isinstance(encoder, TableEncoder):
        if not hasattr(encoder, "feature_names_out_"):
            raise NotFittedError(
                "The encoder is not fitted; fit it on a sample of the data first (encoder.fit(frame))."
            )
    elif not callable(encoder):
        raise InvalidInputError(
            f"encoder must be a fitted TableEncoder or a function of a DataFrame, got {type(encoder).__name__}."
        )
    if remote:
        import cloudpickle

        try:
            cloudpickle.dumps(encoder)
        except Exception as exc:  # pickling fails in many ways; each is reported
            raise InvalidInputError(
                f"The encoder cannot be sent to Dask workers: pickling it failed ({type(exc).__name__}: {exc}). "
                "Define it at module level, or use backend='local'."
            ) from exc
    return encoder


def raw_columns(encoder: Encoder) -> tuple[str, ...] | None:
    """The raw columns the encoder reads (None: all of them, for a function)."""
    return tuple(encoder.source_columns_) if isinstance(encoder, TableEncoder) else None


def csv_dtypes(encoder: Encoder | None) -> dict[str, type]:
    """Column types to read CSV chunks with, so that every chunk sees the categories the encoder saw.

    Each CSV chunk infers its own column types: a categorical column whose values in one
    chunk all look like numbers would be read as numbers there (``1.0`` instead of ``"1"``).
    The TableEncoder's categorical columns are therefore read as text.
    """
    if not isinstance(encoder, TableEncoder):
        return {}
    return {column: str for column, kind in encoder.kinds_.items() if kind == "categorical"}


def encode(encoder: Encoder, frame: pd.DataFrame) -> pd.DataFrame:
    """The model's columns for the raw rows ``frame`` (which is left unchanged).

    Raises
    ------
    InvalidInputError
        The encoder did not return a DataFrame with one row per input row (its own errors,
        such as an unseen category, are raised as they are).
    """
    if isinstance(encoder, TableEncoder):
        return encoder.transform(frame)[0]
    out = encoder(frame.copy())  # a copy: the function may change what it is given
    if not isinstance(out, pd.DataFrame):
        raise InvalidInputError(f"The encoder must return a DataFrame, got {type(out).__name__}.")
    if len(out) != len(frame):
        raise InvalidInputError(f"The encoder returned {len(out)} rows for {len(frame)}; it must keep every row.")
    return out


def plain_columns(
    model: Any, columns: tuple[str, ...] | None, id_column: str | None, background: Any
) -> tuple[Adapter, tuple[str, ...] | None, np.ndarray]:
    """The adapter, the data's columns it takes (None for an array) and the background, without an encoder.

    A model that is not an Adapter is wrapped with the table's columns (minus ``id_column``)
    as feature names.

    Raises
    ------
    InvalidInputError
        The data lacks a feature column the model names, or the background does not fit the model.
    """
    names = None if columns is None else tuple(c for c in columns if c != id_column)
    adapter = model if isinstance(model, Adapter) else wrap(model, feature_names=names)
    feature_columns: tuple[str, ...] | None = None
    if columns is not None:
        feature_columns = adapter.feature_names if adapter.feature_names is not None else names
        missing = [c for c in feature_columns or () if c not in columns]
        if missing:
            raise InvalidInputError(f"The data lacks the model's feature columns {missing}.")
    return adapter, feature_columns, adapter.validate(background, name="background")


def encoded_columns(
    model: Any, columns: tuple[str, ...] | None, encoder: Encoder, background: Any
) -> tuple[Adapter, tuple[str, ...], np.ndarray]:
    """The adapter, the encoded columns it takes and the encoded background, with an encoder.

    The background (raw rows, like the data) is encoded here, which also checks the encoder
    before any partition runs.

    Raises
    ------
    InvalidInputError
        The data has no named columns or lacks one the encoder reads, the background is not
        a DataFrame, or the encoder does not give the model's feature columns.
    """
    if columns is None:
        raise InvalidInputError("An encoder needs named columns: give the data as a DataFrame or a file, not an array.")
    needed = raw_columns(encoder)
    missing = [c for c in needed or () if c not in columns]
    if missing:
        raise InvalidInputError(f"The data lacks the columns {missing} that the encoder reads.")
    if not isinstance(background, pd.DataFrame):
        raise InvalidInputError(
            "With an encoder, background must be raw rows like the data (a DataFrame), got "
            f"{type(background).__name__}; it is encoded with the encoder."
        )
    encoded = encode(encoder, background)
    names = tuple(str(c) for c in encoded.columns)
    adapter = model if isinstance(model, Adapter) else wrap(model, feature_names=names)
    feature_columns = adapter.feature_names if adapter.feature_names is not None else names
    missing = [c for c in feature_columns if c not in names]
    if missing:
        raise InvalidInputError(
            f"The encoder does not give the model's feature columns {missing}; it gives {list(names)}."
        )
    return adapter, tuple(feature_columns), adapter.validate(encoded[list(feature_columns)], name="background")
