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

What a resume returns is exactly what this configuration computed, or it is recomputed:

* **One writer.** A run that writes the store holds its lock
  (:mod:`agnostic_xai.comparison.store_lock`) from before it opens the database until it
  closes it; a second run is refused with a message naming the holder.
* **Every row carries the fingerprint of the configuration that wrote it** and is read back
  only by that configuration. A writer that kept going after another run emptied and
  re-bound the store (possible only where the lock is not effective) cannot slip its cells
  into the other configuration's resume.
* **Every row carries a SHA-256 of its columns** (:func:`~agnostic_xai.comparison.store_codec.row_digest`),
  verified on read; a row that fails it, or whose contents do not decode, is not used and is
  recomputed. How many rows were set aside, and why, is reported once per run as a
  :class:`~agnostic_xai.exceptions.StoreWarning` (one line on the command line's stderr).
* **The database is checked when a run opens it** (``PRAGMA quick_check``); a damaged file,
  a store of another schema version (on resume) and any SQLite error later on are refused
  with one :class:`~agnostic_xai.exceptions.StoreError` line.
* **Nothing is written through a link**: the database and its ``-wal``/``-shm``/``-journal``
  and ``.lock`` companions must not be symbolic or hard links (:mod:`agnostic_xai._paths`),
  checked before SQLite opens the file.
"""

from __future__ import annotations

import io
import os
import sqlite3
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .._paths import SQLITE_COMPANIONS, check_in_place_file
from ..attribution import Attribution
from ..exceptions import InvalidInputError, StoreError, StoreWarning
from .store_codec import array_digest, attribution_bytes, canonical, decode_cell, fingerprint, pack, real, row_digest
from .store_lock import StoreLock

__all__ = ["ResultStore", "StoredExplainer", "array_digest", "canonical", "fingerprint"]

#: Version of the store's schema; a store of another version is refused on resume (and
#: started afresh otherwise). Version 2 added the per-row fingerprint and checksum.
SCHEMA_VERSION = 2

_TABLES = ("config", "attributions", "cells")

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
    fit_seconds REAL,
    fit_model_rows INTEGER NOT NULL,
    seed INTEGER,
    fingerprint TEXT NOT NULL,     -- of the configuration that wrote the row
    checksum TEXT NOT NULL,        -- row_digest of the columns above
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
    fingerprint TEXT NOT NULL,
    checksum TEXT NOT NULL,
    PRIMARY KEY (explainer, metric)
);
"""

#: Column kinds (see row_digest) of the rows, without the checksum that ends each.
_ATTRIBUTION_COLUMNS = ("role", "name", "record", "fit_seconds", "fit_model_rows", "seed", "fingerprint")
_ATTRIBUTION_KINDS = "ttbriit"
_CELL_COLUMNS = ("explainer", "metric", "status", "family", "higher_is_better", "scores", "value", "seconds",
                 "model_rows", "detail", "stage", "error", "message", "fingerprint")
_CELL_KINDS = "tttti" "brrib" "tttt"


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
        The database file (created when missing). It and its companions must not be links.
    document : mapping, optional
        The run's configuration; its fingerprint is checked against (or written to) the store,
        and the store's lock is held until :meth:`close`. Without one the store is opened to
        be read (its counts, say) and cannot be written.
    resume : bool
        Keep the cells of a store written by the same configuration. When False an existing
        store is emptied first.

    Raises
    ------
    StoreError
        The store is in use by another run, damaged, of another schema version (on resume),
        written by another configuration (on resume), or reached through a link.
    """

    def __init__(self, path: Any, document: Mapping[str, Any] | None = None, *, resume: bool = False) -> None:
        self.path = Path(os.fspath(path))
        self.fingerprint: str | None = None
        self.dropped = {"damaged": 0, "another configuration": 0}
        self._lock: StoreLock | None = None
        self._connection: sqlite3.Connection | None = None
        if self.path.is_dir() and not self.path.is_symlink():
            raise InvalidInputError(f"The store {str(self.path)!r} is a directory; give a file name such as results.sqlite.")
        if not self.path.parent.is_dir():
            raise InvalidInputError(f"The directory of the store {str(self.path.parent)!r} does not exist; create it first.")
        try:
            self._check_files()
            if document is not None:
                self._lock = StoreLock(self.path)  # before anything touches the database
            self._connect(fresh=document is not None and not resume, check=True)
            if document is not None:
                self._bind(document, resume)
        except BaseException:
            self.close()
            raise

    @classmethod
    def _attach(cls, path: Path, digest: str | None) -> ResultStore:
        """A worker process's connection to its parent run's store (which holds the lock)."""
        store = cls.__new__(cls)
        store.path, store.fingerprint = Path(path), digest
        store.dropped = {"damaged": 0, "another configuration": 0}
        store._lock, store._connection = None, None
        try:
            store._check_files()
            store._connect(fresh=False, check=False)
        except BaseException:
            store.close()
            raise
        return store

    # ------------------------------------------------------------------ opening
    def _check_files(self) -> None:
        for name in ("", *SQLITE_COMPANIONS):
            check_in_place_file(Path(f"{self.path}{name}"), "The store" if not name else "The store's file", StoreError)

    @contextmanager
    def _sql(self, action: str) -> Iterator[sqlite3.Connection]:
        """The connection, with any SQLite error turned into one StoreError line."""
        try:
            if self._connection is None:
                raise StoreError(f"The store {str(self.path)!r} is closed.")
            yield self._connection
        except sqlite3.Error as exc:
            raise StoreError(
                f"{str(self.path)!r} is not a usable result store ({action}: {exc}); "
                "use a new --out or remove the file."
            ) from None

    def _connect(self, *, fresh: bool, check: bool) -> None:
        # A Dask worker unpickles the store on one thread and runs the task on another;
        # sqlite3 is built serialized (threadsafety 3), and a store is used by one task at
        # a time, so the connection may cross threads.
        try:
            self._connection = sqlite3.connect(self.path, timeout=60.0, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            raise StoreError(f"{str(self.path)!r} cannot be opened as a result store ({exc}).") from None
        with self._sql("opening it") as connection:
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
            if check:
                problems = [" ".join(str(row[0]).split()) for row in connection.execute("PRAGMA quick_check(3)")]
                if problems != ["ok"]:
                    raise StoreError(
                        f"{str(self.path)!r} is a damaged result store (SQLite's check: {'; '.join(problems)[:300]}); "
                        "use a new --out or remove the file."
                    )
            version = self._stored_version(connection)
            if version not in (None, SCHEMA_VERSION):
                if not fresh:
                    raise StoreError(
                        f"The store {str(self.path)!r} has schema version {version}, this version writes "
                        f"{SCHEMA_VERSION}; use a new --out or drop --resume."
                    )
                for table in _TABLES:  # started afresh anyway: the old tables go
                    connection.execute(f"DROP TABLE IF EXISTS {table}")  # noqa: S608 - fixed table names
            connection.executescript(_SCHEMA)

    @staticmethod
    def _stored_version(connection: sqlite3.Connection) -> Any:
        """The schema version of the tables already in the file (None when there are none)."""
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if not tables & set(_TABLES):
            return None
        columns = {row[1] for row in connection.execute("PRAGMA table_info(cells)")}
        row = None
        if "config" in tables:
            row = connection.execute("SELECT schema_version FROM config WHERE id = 1").fetchone()
        stored = row[0] if row is not None else None  # as found: junk in it reads as an unknown version
        if "checksum" not in columns:  # version 1 had no per-row checksums
            return stored if stored is not None and stored != SCHEMA_VERSION else 1
        return stored if stored is not None else SCHEMA_VERSION

    # ------------------------------------------------------------------ configuration
    def _bind(self, document: Mapping[str, Any], resume: bool) -> None:
        text, digest = fingerprint(document)
        self.fingerprint = digest
        with self._sql("reading its configuration") as connection:
            row = connection.execute("SELECT fingerprint FROM config WHERE id = 1").fetchone()
        if row is not None and resume:
            if row[0] != digest:
                raise StoreError(
                    f"The store {str(self.path)!r} was written by a different configuration (data, model, explainers, "
                    "metrics, parameters, groups or seed differ), so its results cannot be resumed: use a new --out "
                    "or drop --resume."
                )
            return
        with self._transaction("starting it afresh") as connection:
            for table in _TABLES:
                connection.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed table names
            connection.execute(
                "INSERT INTO config (id, schema_version, fingerprint, document) VALUES (1, ?, ?, ?)",
                (SCHEMA_VERSION, digest, text),
            )

    @contextmanager
    def _transaction(self, action: str) -> Iterator[sqlite3.Connection]:
        with self._sql(action) as connection:
            connection.execute("BEGIN IMMEDIATE")
            try:
                yield connection
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")

    # ------------------------------------------------------------------ writing
    def _signed(self, kinds: str, values: tuple[Any, ...]) -> tuple[Any, ...]:
        """``values`` with this run's fingerprint and the row's checksum appended."""
        if self.fingerprint is None:
            raise StoreError(
                f"The store {str(self.path)!r} was opened to be read; a run writes it (compare(store=...))."
            )
        values = (*values, self.fingerprint)
        return (*values, row_digest(kinds, values))

    def put_attribution(
        self, name: str, attribution: Attribution, *, fit_seconds: float = 0.0, fit_model_rows: int = 0,
        seed: int | None = None, role: str = "explainer",
    ) -> None:
        """Commit an explainer's attribution (or, with ``role="reference"``, the ground truth)."""
        row = self._signed(_ATTRIBUTION_KINDS, (
            role, name, attribution_bytes(attribution), real(fit_seconds), int(fit_model_rows),
            None if seed is None else int(seed),
        ))
        with self._transaction("writing an attribution") as connection:
            connection.execute("INSERT OR REPLACE INTO attributions VALUES (?, ?, ?, ?, ?, ?, ?, ?)", row)
            if role == "explainer":
                connection.execute("DELETE FROM cells WHERE explainer = ? AND metric = ''", (name,))

    def put_result(self, explainer: str, metric: str, result: Any) -> None:
        """Commit one finished metric cell (a :class:`~agnostic_xai.metrics.MetricResult`)."""
        scores = np.ascontiguousarray(result.scores, dtype=np.float64)
        row = self._signed(_CELL_KINDS, (
            explainer, metric, "ok", str(result.family), int(bool(result.higher_is_better)), scores.tobytes(),
            real(result.value), real(result.seconds), int(result.model_rows),
            pack({"params": result.params, "extras": result.extras}), None, None, None,
        ))
        with self._transaction("writing a cell") as connection:
            connection.execute(f"INSERT OR REPLACE INTO cells VALUES ({', '.join('?' * len(row))})", row)

    def put_failure(self, failure: Mapping[str, str]) -> None:
        """Commit a failed cell (retried on resume)."""
        row = self._signed(_CELL_KINDS, (
            failure["explainer"], failure["metric"], "failed", None, None, None, None, None, None, None,
            failure["stage"], failure["error"], failure["message"],
        ))
        with self._transaction("writing a failure") as connection:
            connection.execute(f"INSERT OR REPLACE INTO cells VALUES ({', '.join('?' * len(row))})", row)

    # ------------------------------------------------------------------ reading
    def _trusted(self, kinds: str, row: tuple[Any, ...]) -> bool:
        """Whether a stored row is intact and written by this configuration (counted when not)."""
        values, checksum = tuple(row[:-1]), row[-1]
        digest = row_digest(kinds, values)
        if digest is None or digest != checksum:
            self.dropped["damaged"] += 1
            return False
        if self.fingerprint is not None and values[-1] != self.fingerprint:
            self.dropped["another configuration"] += 1
            return False
        return True

    def _attribution(self, role: str, name: str) -> tuple[Attribution, tuple[Any, ...]] | None:
        with self._sql("reading an attribution") as connection:
            row = connection.execute(
                f"SELECT {', '.join(_ATTRIBUTION_COLUMNS)}, checksum FROM attributions WHERE role = ? AND name = ?",
                (role, name),
            ).fetchone()
        if row is None or not self._trusted(_ATTRIBUTION_KINDS, row):
            return None
        try:
            return Attribution.load(io.BytesIO(row[2])), row
        except Exception:  # noqa: BLE001 - any failure to decode stored bytes means the row is damaged
            self.dropped["damaged"] += 1
            return None

    def reference(self) -> Attribution | None:
        """The stored ground truth, if any (and intact)."""
        found = self._attribution("reference", "exact_shapley")
        return found[0] if found is not None else None

    def explainer(self, name: str) -> StoredExplainer:
        """The stored attribution and finished (status ok) metric cells of ``name`` that can be trusted.

        A damaged attribution, or one written by another configuration, counts as missing,
        together with its cells (they are recomputed from the recomputed attribution).
        """
        found = self._attribution("explainer", name)
        if found is None:
            return StoredExplainer(attribution=None, results={})
        attribution, row = found
        with self._sql("reading cells") as connection:
            lines = connection.execute(
                f"SELECT {', '.join(_CELL_COLUMNS)}, checksum FROM cells "
                "WHERE explainer = ? AND status = 'ok' AND metric != ''",
                (name,),
            ).fetchall()
        results = {}
        for line in lines:
            if self._trusted(_CELL_KINDS, line):
                result = decode_cell(line, attribution.values.shape[0])
                if result is None:
                    self.dropped["damaged"] += 1
                else:
                    results[result.name] = result
        return StoredExplainer(
            attribution=attribution,
            fit_seconds=np.nan if row[3] is None else row[3],
            fit_model_rows=row[4],
            seed=row[5],
            results=results,
        )

    def warn_dropped(self) -> None:
        """One :class:`~agnostic_xai.exceptions.StoreWarning` saying which stored rows were not used, if any."""
        parts = [f"{n} {'was' if n == 1 else 'were'} {why}" for why, n in (
            ("damaged (checksum or contents)", self.dropped["damaged"]),
            ("written by another configuration", self.dropped["another configuration"]),
        ) if n]
        if parts:
            warnings.warn(
                f"Of the stored results in {str(self.path)!r}, {' and '.join(parts)}; they were not used and are "
                "recomputed.",
                StoreWarning,
                stacklevel=3,
            )

    def counts(self) -> dict[str, int]:
        """Numbers of stored attributions, finished cells and failed cells."""
        with self._sql("counting its rows") as connection:
            attributions = connection.execute("SELECT COUNT(*) FROM attributions WHERE role = 'explainer'").fetchone()
            ok = connection.execute("SELECT COUNT(*) FROM cells WHERE status = 'ok'").fetchone()
            failed = connection.execute("SELECT COUNT(*) FROM cells WHERE status = 'failed'").fetchone()
        return {"attributions": attributions[0], "cells": ok[0], "failed": failed[0]}

    def close(self) -> None:
        """Close the connection (the data is already committed) and release the lock."""
        try:
            if self._connection is not None:
                self._connection.close()
                self._connection = None
        finally:
            if self._lock is not None:
                self._lock.release()
                self._lock = None

    def __enter__(self) -> ResultStore:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __getstate__(self) -> dict[str, Any]:
        # Worker processes reopen the file (connections do not cross processes) and write
        # under the parent's fingerprint, without the lock the parent holds for them.
        return {"path": self.path, "fingerprint": self.fingerprint}

    def __setstate__(self, state: dict[str, Any]) -> None:
        attached = ResultStore._attach(state["path"], state.get("fingerprint"))
        self.__dict__.update(attached.__dict__)
        attached.__dict__.clear()
