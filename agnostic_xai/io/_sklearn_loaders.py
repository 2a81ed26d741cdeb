"""Reading scikit-learn's model files: skops safely, pickle and joblib only when trusted.

This module owns the skops loader (it loads a file when skops trusts every type in it, or
when the caller trusts the file) and the pickle/joblib loader, which refuses an untrusted
file before reading more than the names it would import.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..exceptions import InvalidInputError, UnsafeFileError
from ._model_format import first_line
from ._untrusted import PICKLE_SCAN_BYTES, TRUST_HINT, pickle_imports, refuse_pickle

__all__ = ["load_pickle", "load_skops"]


def load_skops(path: Path, trust_model: bool) -> Any:
    """The estimator in the skops file ``path``; untrusted types are refused unless ``trust_model``."""
    try:
        import skops.io as sio
    except ImportError as exc:  # pragma: no cover - skops is a dependency
        raise InvalidInputError(f"Reading {path} needs the skops package: pip install skops.") from exc
    try:
        untrusted = sio.get_untrusted_types(file=path)
    except Exception as exc:
        raise InvalidInputError(f"{path} could not be read as a skops file ({first_line(exc)}).") from exc
    if untrusted and not trust_model:
        raise UnsafeFileError(
            f"{path} contains types that skops does not trust by default: {untrusted}. Loading them can run "
            "code or, for scikit-learn trees, read memory out of bounds when a file is malicious. "
            f"{TRUST_HINT}; it trusts exactly these types."
        )
    try:
        return sio.load(path, trusted=list(untrusted) if trust_model else [])
    except Exception as exc:
        raise InvalidInputError(f"{path} could not be loaded with skops ({first_line(exc)}).") from exc


def load_pickle(path: Path, kind: str, trust_model: bool) -> Any:
    """The object in a pickle or joblib file (``kind``); refused unless ``trust_model``."""
    if not trust_model:
        imports: list[str] = []
        if kind == "pickle":
            with path.open("rb") as file:
                imports = pickle_imports(file.read(PICKLE_SCAN_BYTES))
        raise refuse_pickle(path, f"a {kind} file", imports)
    import joblib  # scikit-learn's dependency; reads plain pickles too

    try:
        return joblib.load(path)
    except Exception as exc:
        raise InvalidInputError(f"{path} could not be loaded as a {kind} file ({first_line(exc)}).") from exc
