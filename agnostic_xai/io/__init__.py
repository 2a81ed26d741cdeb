"""Reading models and tables from files, safely.

:func:`load_model` recognises TorchScript, ``torch.save`` state dicts, ``torch.export``
programs, skops, pickle and joblib files, and refuses the kinds that can run code when
loaded unless they are explicitly trusted. :func:`load_table` reads CSV or Parquet into a
float64 feature matrix with one-hot encoded categoricals kept together as feature groups.
:mod:`agnostic_xai.io.explain` explains every row of a table (in memory, Parquet, CSV) in
partitions, into an Attribution or a Parquet file (``agnostic_xai.explain``).
"""

from __future__ import annotations

from .models import MODEL_FORMATS, detect_model_format, load_model, read_model
from .tables import IMPUTE_STRATEGIES, Table, TableEncoder, encode_like, load_table, read_frame

__all__ = [
    "IMPUTE_STRATEGIES",
    "MODEL_FORMATS",
    "Table",
    "TableEncoder",
    "detect_model_format",
    "encode_like",
    "load_model",
    "load_table",
    "read_frame",
    "read_model",
]
