"""An embedded SQLite store of a comparison's finished cells, for runs that may be interrupted.

:func:`~agnostic_xai.compare` with ``store=path`` commits every finished piece of work as
soon as it completes, each in its own transaction:

* an explainer's :class:`~agnostic_xai.Attribution` (with its fit cost and seed), and the
  exact Shapley ground truth, as ``.npz`` bytes (nothing pickled);
* each metric cell (explainer × metric): the per-row scores as float64 bytes, the metric's
  cost, its parameters and extras (arrays kept, other values as JSON);
* each failure, with its stage and reason.

A run killed at any point (SIGKILL, power loss) leaves the store with every cell that
finished before it; ``resume=True`` loads those and recomputes only the rest. The database
is in WAL mode, so a reader (a progress monitor, a test) never blocks the run, and worker
processes (``n_jobs > 1``) write their own cells through their own connections.

The store remembers the configuration that wrote it as a canonical JSON document and its
SHA-256 (:func:`fingerprint`): the data, background and targets (hashes of their bytes),
the model (its description and a hash of its outputs on the explained rows), the explainers
and metrics with their parameters, the groups and the seed. Resuming from a store written by
another configuration is refused rather than mixing results.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..attribution import Attribution
from ..exceptions import InvalidInputError

__all__ = ["ResultStore", "StoredExplainer", "fingerprint", "canonical", "array_digest"]

#: Version of the store's schema; a store of another version is refused.
SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS config (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    schema_version INTEGER NOT NULL,
    fingerprint TEXT NOT NULL,
    document TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS attributions (
    role TEXT NOT NULL,            -- 'explainer' or 'reference' (the exact ground truth)
    name TEXT NOT NULL,
    record BLOB NOT NULL,          -- Attribution.save() bytes
    fit_seconds REAL NOT NULL,
    fit_model_rows INTEGER NOT NULL,
    seed INTEGER,
    PRIMARY KEY (role, name)
);
CREATE TABLE IF NOT EXISTS cells (
    explainer TEXT NOT NULL,
    metric TEXT NOT NULL,          -- '' for a failure of the explainer itself
    status TEXT NOT NULL,          -- 'ok' or 'failed'
    family TEXT,
    higher_is_better INTEGER,
    scores BLOB,                   -- float64, one per explained row
    value REAL,
    seconds REAL,
    model_rows INTEGER,
    detail BLOB,                   -- params and extras (npz with a JSON header)
    stage TEXT,
    error TEXT,
    message TEXT,
    PRIMARY KEY (explainer, metric)
);
"""


# ---------------------------------------------------------------------------------- identity
def array_digest(array: Any) -> str:
    """SHA-256 of an array's dtype, shape and bytes (C order)."""
    array = np.ascontiguousarray(array)
    digest = hashlib.sha256(f"{array.dtype.str}{array.shape}".encode())
    digest.update(array.tobytes())
    return digest.hexdigest()


_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


def canonical(value: Any) -> Any:
    """``value`` as plain JSON data that is the same for the same configuration in any process.

    Arrays become their digest, estimators their class and parameters, functions their
    qualified name; other objects their type and ``repr`` with memory addresses removed.
    """
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if np.isfinite(value) else repr(value)
    if isinstance(value, np.ndarray):
        return {"array": array_digest(value), "shape": list(value.shape), "dtype": value.dtype.str}
    if isinstance(value, Mapping):
        return {str(k): canonical(v) for k, v in sorted(value.items(), key=lambda item: str(item[0]))}
    if isinstance(value, (list, tuple)):
        return [canonical(v) for v in value]
    kind = f"{type(value).__module__}.{type(value).__qualname__}"
    if hasattr(value, "get_params"):
        return {"class": kind, "params": canonical(value.get_params())}
    if callable(value) and hasattr(value, "__qualname__"):
        return {"callable": f"{getattr(value, '__module__', '')}.{value.__qualname__}"}
    return {"object": kind, "repr": _ADDRESS.sub("", repr(value))}


def fingerprint(document: Mapping[str, Any]) -> tuple[str, str]:
    """The canonical JSON text of ``document`` and its SHA-256."""
    text = json.dumps(canonical(document), sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return text, hashlib.sha256(text.encode("ascii")).hexdigest()


# ---------------------------------------------------------------------------------- packing
def _pack(mapping: Mapping[str, Any]) -> bytes:
    """Arrays and JSON-able values as ``.npz`` bytes; other values are recorded by ``repr``."""
    arrays: dict[str, np.ndarray] = {}

    def encode(value: Any) -> Any:
        if isinstance(value, np.ndarray) and value.dtype != object:
            key = f"a{len(arrays)}"
            arrays[key] = value
            return {"__array__": key}
        if isinstance(value, np.generic):
            return value.item()
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        if isinstance(value, Mapping):
            return {"__map__": [[str(k), encode(v)] for k, v in value.items()]}
        if isinstance(value, (list, tuple)):
            return [encode(v) for v in value]
        return {"__repr__": _ADDRESS.sub("", repr(value))}

    header = encode(dict(mapping))
    arrays["header"] = np.frombuffer(json.dumps(header).encode("utf-8"), dtype=np.uint8)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def _unpack(blob: bytes) -> dict[str, Any]:
    with np.load(io.BytesIO(blob), allow_pickle=False) as archive:
        loaded = {key: archive[key] for key in archive.files}

    def decode(value: Any) -> Any:
        if isinstance(value, dict):
            if "__array__" in value:
                return loaded[value["__array__"]]
            if "__map__" in value:
                return {k: decode(v) for k, v in value["__map__"]}
            if "__repr__" in value:
                return value["__repr__"]
        if isinstance(value, list):
            return [decode(v) for v in value]
        return value

    return decode(json.loads(loaded.pop("header").tobytes().decode("utf-8")))


def _attribution_bytes(attribution: Attribution) -> bytes:
    buffer = io.BytesIO()
    try:
        attribution.save(buffer)
    except InvalidInputError:
        # Extras that cannot be saved (objects) are dropped from the stored copy only.
        kept = {k: v for k, v in attribution.extras.items() if _saveable(v)}
        buffer = io.BytesIO()
        replace(attribution, extras=kept).save(buffer)
    return buffer.getvalue()


def _saveable(value: Any) -> bool:
    from ..attribution import _jsonable

    if isinstance(value, np.ndarray):
        return value.dtype != object
    try:
        _jsonable(value, "extra")
    except InvalidInputError:
        return False
    return True


# ---------------------------------------------------------------------------------- store
@dataclass
class StoredExplainer:
    """What a store holds for one explainer: its attribution and cost, and finished metric cells."""

    attribution: Attribution | None
    fit_seconds: float = 0.0
    fit_model_rows: int = 0
    seed: int | None = None
    results: dict[str, Any] | None = None


class ResultStore:
    """One comparison's finished cells in a SQLite file (see the module docstring).

    Parameters
    ----------
    path : str or PathLike
        The database file (created when missing).
    document : mapping, optional
        The run's configuration; its fingerprint is checked against (or written to) the store.
        Worker processes attach without one.
    resume : bool
        Keep the cells of a store written by the same configuration. When False an existing
        store is emptied first.
    """

    def __init__(self, path: Any, document: Mapping[str, Any] | None = None, *, resume: bool = False) -> None:
        self.path = Path(os.fspath(path))
        if self.path.is_dir():
            raise InvalidInputError(f"The store {str(self.path)!r} is a directory; give a file name such as results.sqlite.")
        if not self.path.parent.is_dir():
            raise InvalidInputError(f"The directory of the store {str(self.path.parent)!r} does not exist; create it first.")
        try:
            # A Dask worker unpickles the store on one thread and runs the task on another;
            # sqlite3 is built serialized (threadsafety 3), and a store is used by one task at
            # a time, so the connection may cross threads.
            self._connection = sqlite3.connect(self.path, timeout=60.0, isolation_level=None, check_same_thread=False)
            self._connection.execute("PRAGMA journal_mode=WAL")
            self._connection.execute("PRAGMA synchronous=NORMAL")
            self._connection.executescript(_SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise InvalidInputError(
                f"{str(self.path)!r} is not a usable result store ({exc}); use a new --out or remove the file."
            ) from None
        if document is not None:
            self._bind(document, resume)

    # ------------------------------------------------------------------ configuration
    def _bind(self, document: Mapping[str, Any], resume: bool) -> None:
        text, digest = fingerprint(document)
        self.fingerprint = digest
        row = self._connection.execute("SELECT schema_version, fingerprint FROM config WHERE id = 1").fetchone()
        if row is not None and resume:
            if row[0] != SCHEMA_VERSION:
                raise InvalidInputError(
                    f"The store {str(self.path)!r} has schema version {row[0]}, this version writes {SCHEMA_VERSION}; "
                    "use a new --out or drop --resume."
                )
            if row[1] != digest:
                raise InvalidInputError(
                    f"The store {str(self.path)!r} was written by a different configuration (data, model, explainers, "
                    "metrics, parameters, groups or seed differ), so its results cannot be resumed: use a new --out "
                    "or drop --resume."
                )
            return
        with self._transaction() as connection:
            for table in ("config", "attributions", "cells"):
                connection.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed table names
            connection.execute(
                "INSERT INTO config (id, schema_version, fingerprint, document) VALUES (1, ?, ?, ?)",
                (SCHEMA_VERSION, digest, text),
            )

    def _transaction(self) -> Any:
        store = self

        class _Transaction:
            def __enter__(self) -> sqlite3.Connection:
                store._connection.execute("BEGIN IMMEDIATE")
                return store._connection

            def __exit__(self, kind: Any, exc: Any, tb: Any) -> None:
                store._connection.execute("ROLLBACK" if kind is not None else "COMMIT")

        return _Transaction()

    # ------------------------------------------------------------------ writing
    def put_attribution(
        self, name: str, attribution: Attribution, *, fit_seconds: float = 0.0, fit_model_rows: int = 0,
        seed: int | None = None, role: str = "explainer",
    ) -> None:
        """Commit an explainer's attribution (or, with ``role="reference"``, the ground truth)."""
        blob = _attribution_bytes(attribution)
        with self._transaction() as connection:
            connection.execute(
                "INSERT OR REPLACE INTO attributions VALUES (?, ?, ?, ?, ?, ?)",
                (role, name, blob, float(fit_seconds), int(fit_model_rows), seed),
            )
            if role == "explainer":
                connection.execute("DELETE FROM cells WHERE explainer = ? AND metric = ''", (name,))

    def put_result(self, explainer: str, metric: str, result: Any) -> None:
        """Commit one finished metric cell (a :class:`~agnostic_xai.metrics.MetricResult`)."""
        scores = np.ascontiguousarray(result.scores, dtype=np.float64)
        detail = _pack({"params": result.params, "extras": result.extras})
        with self._transaction() as connection:
            connection.execute(
                "INSERT OR REPLACE INTO cells VALUES (?, ?, 'ok', ?, ?, ?, ?, ?, ?, ?, NULL, NULL, NULL)",
                (explainer, metric, result.family, int(bool(result.higher_is_better)), scores.tobytes(),
                 float(result.value), float(result.seconds), int(result.model_rows), detail),
            )

    def put_failure(self, failure: Mapping[str, str]) -> None:
        """Commit a failed cell (retried on resume)."""
        with self._transaction() as connection:
            connection.execute(
                "INSERT OR REPLACE INTO cells (explainer, metric, status, stage, error, message) "
                "VALUES (?, ?, 'failed', ?, ?, ?)",
                (failure["explainer"], failure["metric"], failure["stage"], failure["error"], failure["message"]),
            )

    # ------------------------------------------------------------------ reading
    def reference(self) -> Attribution | None:
        """The stored ground truth, if any."""
        row = self._connection.execute(
            "SELECT record FROM attributions WHERE role = 'reference' AND name = 'exact_shapley'"
        ).fetchone()
        return Attribution.load(io.BytesIO(row[0])) if row else None

    def explainer(self, name: str) -> StoredExplainer:
        """The stored attribution and finished (status ok) metric cells of ``name``."""
        from ..metrics import MetricResult

        row = self._connection.execute(
            "SELECT record, fit_seconds, fit_model_rows, seed FROM attributions WHERE role = 'explainer' AND name = ?",
            (name,),
        ).fetchone()
        if row is None:
            return StoredExplainer(attribution=None, results={})
        results = {}
        for line in self._connection.execute(
            "SELECT metric, family, higher_is_better, scores, value, seconds, model_rows, detail FROM cells "
            "WHERE explainer = ? AND status = 'ok' AND metric != ''",
            (name,),
        ):
            metric, family, higher, scores, value, seconds, model_rows, detail = line
            unpacked = _unpack(detail)
            results[metric] = MetricResult(
                name=metric,
                scores=np.frombuffer(scores, dtype=np.float64).copy(),
                value=float(value),
                family=family,
                higher_is_better=bool(higher),
                params=unpacked.get("params", {}),
                seconds=float(seconds),
                model_rows=int(model_rows),
                extras=unpacked.get("extras", {}),
            )
        return StoredExplainer(
            attribution=Attribution.load(io.BytesIO(row[0])),
            fit_seconds=float(row[1]),
            fit_model_rows=int(row[2]),
            seed=row[3],
            results=results,
        )

    def counts(self) -> dict[str, int]:
        """Numbers of stored attributions, finished cells and failed cells."""
        attributions = self._connection.execute("SELECT COUNT(*) FROM attributions WHERE role = 'explainer'").fetchone()
        ok = self._connection.execute("SELECT COUNT(*) FROM cells WHERE status = 'ok'").fetchone()
        failed = self._connection.execute("SELECT COUNT(*) FROM cells WHERE status = 'failed'").fetchone()
        return {"attributions": attributions[0], "cells": ok[0], "failed": failed[0]}

    def close(self) -> None:
        """Close the connection (the data is already committed)."""
        self._connection.close()

    def __enter__(self) -> ResultStore:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __getstate__(self) -> dict[str, Any]:
        # Worker processes reopen the file: connections do not cross processes.
        return {"path": self.path}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["path"])  # type: ignore[misc]
