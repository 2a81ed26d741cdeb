"""The result store's integrity: one writer at a time, per-row fingerprints and checksums,
damage detected (never trusted), nothing written through links.

Every resumed table is compared with the table of an uninterrupted run of the same
configuration: a resume may recompute, but it may never return a different table.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F

from agnostic_xai import compare, wrap
from agnostic_xai.comparison import ResultStore
from agnostic_xai.comparison.store import SCHEMA_VERSION
from agnostic_xai.exceptions import InvalidInputError, StoreError, StoreWarning

ROOT = Path(__file__).resolve().parents[2]
EXPLAINERS = {"kernel_shap": {"n_samples": 64}, "feature_ablation": {}, "random": {}}
METRICS = ["deletion_auc", "sparseness"]
N_CELLS = len(EXPLAINERS) * len(METRICS)


class ClampingSoftmaxNet(torch.nn.Module):
    """A third-party style model: clamps its input in place, softmax applied functionally."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.body = torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x.clamp_(-3.0, 3.0)
        return F.softmax(self.body(x), dim=1)


@pytest.fixture(scope="module")
def task():
    rng = np.random.default_rng(11)
    frame = pd.DataFrame(rng.normal(size=(6, 5)), columns=list("abcde"))
    frame["e"] = (frame["e"] > 0).astype(float)  # a binary column among the continuous ones
    return wrap(ClampingSoftmaxNet().double(), feature_names=list(frame.columns)), frame


def run(task, **kwargs):
    adapter, X = task
    options = dict(explainers=EXPLAINERS, metrics=METRICS, progress=False, seed=3, n_background=6)
    options.update(kwargs)
    return compare(adapter, X, **options)


def scores(comparison):
    return comparison.table[["explainer", "metric", "row", "score", "seed"]].reset_index(drop=True)


@pytest.fixture(scope="module")
def fresh(task):
    """The uninterrupted tables of seeds 3 and 4 (no store)."""
    return {seed: scores(run(task, seed=seed)) for seed in (3, 4)}


def connect(path):
    connection = sqlite3.connect(path, isolation_level=None)
    return connection


# ------------------------------------------------------------------ one writer
def test_a_second_run_is_refused_while_a_run_holds_the_store_naming_the_holder(task, tmp_path):
    path = tmp_path / "results.sqlite"
    holder = ResultStore(path, {"run": "first"})
    try:
        with pytest.raises(StoreError, match=rf"is in use by pid {os.getpid()} on host .* since 20"):
            run(task, store=path)
        with pytest.raises(StoreError, match="in use by"):
            run(task, store=path, resume=True)
        # The holder's store was not touched by the refused runs.
        assert holder.counts() == {"attributions": 0, "cells": 0, "failed": 0}
    finally:
        holder.close()
    run(task, store=path)  # released with the store


def test_the_lock_dies_with_its_process(task, tmp_path):
    path = tmp_path / "results.sqlite"
    code = ("import sys, time; from agnostic_xai.comparison import ResultStore; "
            f"s = ResultStore({str(path)!r}, {{'run': 'other'}}); print('ready', flush=True); time.sleep(600)")
    child = subprocess.Popen([sys.executable, "-c", code], env={**os.environ, "PYTHONPATH": str(ROOT)},
                             stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "ready"
        with pytest.raises(StoreError, match=rf"in use by pid {child.pid} on host"):
            run(task, store=path)
        child.kill()  # SIGKILL: no clean-up runs in the holder
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
    assert run(task, store=path).config["resumed_cells"] == 0


def test_worker_processes_write_under_the_runs_fingerprint_without_the_lock(task, tmp_path, fresh):
    path = tmp_path / "results.sqlite"
    first = run(task, store=path, n_jobs=2)
    connection = connect(path)
    (digest,) = connection.execute("SELECT fingerprint FROM config").fetchone()
    union = "SELECT fingerprint FROM cells UNION SELECT fingerprint FROM attributions"
    stamps = {row[0] for row in connection.execute(union)}
    connection.close()
    assert stamps == {digest}
    pd.testing.assert_frame_equal(scores(first), fresh[3])
    assert run(task, store=path, resume=True).config["resumed_cells"] == len(EXPLAINERS) + N_CELLS


def test_cells_written_under_another_configuration_are_never_resumed(task, tmp_path, fresh):
    """The issue's race without the lock (a lock file removed, a file system without flock):
    a seed-3 writer keeps committing cells after a seed-4 run emptied and re-bound the store."""
    other, path = tmp_path / "seed3.sqlite", tmp_path / "results.sqlite"
    run(task, store=other, seed=3)
    run(task, store=path, seed=4)
    connection = connect(path)
    connection.execute("ATTACH DATABASE ? AS other", (str(other),))
    moved = connection.execute("SELECT COUNT(*) FROM other.cells WHERE explainer != 'feature_ablation'").fetchone()[0]
    connection.execute("INSERT OR REPLACE INTO cells SELECT * FROM other.cells WHERE explainer != 'feature_ablation'")
    connection.execute(
        "INSERT OR REPLACE INTO attributions SELECT * FROM other.attributions WHERE name = 'kernel_shap'")
    connection.execute("DETACH DATABASE other")
    connection.close()
    with pytest.warns(StoreWarning, match=r"3 were written by another configuration; they were not used"):
        resumed = run(task, store=path, seed=4, resume=True)
    pd.testing.assert_frame_equal(scores(resumed), fresh[4])
    # kernel_shap's foreign attribution makes its own cells count as missing; random keeps
    # its attribution and its foreign cells are recomputed; feature_ablation is untouched.
    assert moved == 2 * len(METRICS)
    assert resumed.config["resumed_cells"] == 2 + len(METRICS)


# ------------------------------------------------------------------ damage
def test_garbage_over_part_of_the_file_is_refused_in_one_error(task, tmp_path):
    path = tmp_path / "results.sqlite"
    run(task, store=path)
    size = path.stat().st_size
    assert size > 3 * 4096
    with open(path, "r+b") as handle:  # one page of garbage in the middle of the file
        handle.seek(2 * 4096)
        handle.write(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    with pytest.raises(StoreError, match="damaged result store|not a usable result store") as raised:
        run(task, store=path, resume=True)
    assert "\n" not in str(raised.value) and "new --out or remove the file" in str(raised.value)


def _flip_bit(data: bytes, needle: bytes, bit: int = 3) -> bytes:
    assert data.count(needle) == 1
    at = data.index(needle) + len(needle) // 2
    return data[:at] + bytes([data[at] ^ (1 << bit)]) + data[at + 1:]


def test_one_flipped_bit_in_a_stored_score_is_detected_and_recomputed(task, tmp_path, fresh):
    path = tmp_path / "results.sqlite"
    run(task, store=path)
    connection = connect(path)
    (blob,) = connection.execute(
        "SELECT scores FROM cells WHERE explainer = 'kernel_shap' AND metric = 'deletion_auc'").fetchone()
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()
    path.write_bytes(_flip_bit(path.read_bytes(), blob))  # on disk, as a failing sector would
    with pytest.warns(StoreWarning, match=r"1 was damaged \(checksum or contents\)"):
        resumed = run(task, store=path, resume=True)
    pd.testing.assert_frame_equal(scores(resumed), fresh[3])
    assert resumed.config["resumed_cells"] == len(EXPLAINERS) + N_CELLS - 1


CELLS = [(e, m) for e in EXPLAINERS for m in METRICS]
JUNK_CELLS = [
    {
        "scores of the wrong length": "UPDATE cells SET scores = X'0102030405' WHERE {cell}",
        "scores zeroed": "UPDATE cells SET scores = zeroblob(length(scores)) WHERE {cell}",
        "detail not npz": "UPDATE cells SET detail = randomblob(64) WHERE {cell}",
        "value as text": "UPDATE cells SET value = 'abc' WHERE {cell}",
    },
    {
        "value changed": "UPDATE cells SET value = value + 1e-12 WHERE {cell}",
        "model rows as a blob": "UPDATE cells SET model_rows = X'00' WHERE {cell}",
        "family missing": "UPDATE cells SET family = NULL WHERE {cell}",
        "checksum dropped": "UPDATE cells SET checksum = '' WHERE {cell}",
    },
]
JUNK_ATTRIBUTIONS = {
    "kernel_shap": "UPDATE attributions SET record = randomblob(300) WHERE name = 'kernel_shap'",
    "feature_ablation": "UPDATE attributions SET record = substr(record, 1, 200) WHERE name = 'feature_ablation'",
    "random": "UPDATE attributions SET fit_seconds = 'x' WHERE name = 'random'",
}


@pytest.mark.parametrize("junk", JUNK_CELLS, ids=lambda junk: ", ".join(junk))
def test_junk_cell_contents_are_recomputed_never_trusted(task, tmp_path, fresh, junk):
    """Each kind of junk in another cell: every one is detected, none raises, the table is the fresh one."""
    path = tmp_path / "results.sqlite"
    run(task, store=path)
    connection = connect(path)
    for (explainer, metric), statement in zip(CELLS, junk.values()):
        connection.execute(statement.format(cell=f"explainer = '{explainer}' AND metric = '{metric}'"))
    connection.close()
    with pytest.warns(StoreWarning, match=rf"{len(junk)} were damaged \(checksum or contents\)"):
        resumed = run(task, store=path, resume=True)
    pd.testing.assert_frame_equal(scores(resumed), fresh[3])
    assert resumed.config["resumed_cells"] == len(EXPLAINERS) + N_CELLS - len(junk)


def test_junk_attributions_are_recomputed_with_their_cells(task, tmp_path, fresh):
    path = tmp_path / "results.sqlite"
    run(task, store=path)
    connection = connect(path)
    for statement in JUNK_ATTRIBUTIONS.values():
        connection.execute(statement)
    connection.close()
    with pytest.warns(StoreWarning, match=r"3 were damaged"):
        resumed = run(task, store=path, resume=True)
    pd.testing.assert_frame_equal(scores(resumed), fresh[3])
    assert resumed.config["resumed_cells"] == 0


def test_junk_under_a_forged_checksum_does_not_raise(task, tmp_path, fresh):
    """A row whose checksum was recomputed over junk (someone who read this code) is still
    refused by its contents: the bytes do not decode, so it is recomputed."""
    from agnostic_xai.comparison.store import _CELL_COLUMNS, _CELL_KINDS
    from agnostic_xai.comparison.store_codec import row_digest

    path = tmp_path / "results.sqlite"
    run(task, store=path)
    connection = connect(path)
    where = "explainer = 'kernel_shap' AND metric IN ('deletion_auc', 'sparseness')"
    connection.execute(f"UPDATE cells SET detail = randomblob(64) WHERE {where} AND metric = 'deletion_auc'")
    connection.execute(f"UPDATE cells SET scores = X'0011' WHERE {where} AND metric = 'sparseness'")
    for row in connection.execute(f"SELECT {', '.join(_CELL_COLUMNS)} FROM cells WHERE {where}").fetchall():
        connection.execute("UPDATE cells SET checksum = ? WHERE explainer = ? AND metric = ?",
                           (row_digest(_CELL_KINDS, row), row[0], row[1]))
    connection.close()
    with pytest.warns(StoreWarning, match="2 were damaged"):
        resumed = run(task, store=path, resume=True)
    pd.testing.assert_frame_equal(scores(resumed), fresh[3])


def test_a_store_of_the_previous_schema_is_refused_on_resume_and_replaced_otherwise(task, tmp_path, fresh):
    path = tmp_path / "results.sqlite"
    connection = connect(path)
    connection.executescript(
        "CREATE TABLE config (id INTEGER PRIMARY KEY, schema_version INTEGER, fingerprint TEXT, document TEXT);"
        "CREATE TABLE attributions (role TEXT, name TEXT, record BLOB, fit_seconds REAL, fit_model_rows INTEGER, "
        "seed INTEGER, PRIMARY KEY (role, name));"
        "CREATE TABLE cells (explainer TEXT, metric TEXT, status TEXT, family TEXT, higher_is_better INTEGER, "
        "scores BLOB, value REAL, seconds REAL, model_rows INTEGER, detail BLOB, stage TEXT, error TEXT, "
        "message TEXT, PRIMARY KEY (explainer, metric));"
        "INSERT INTO config VALUES (1, 1, 'x', '{}');")
    connection.close()
    with pytest.raises(StoreError, match=f"schema version 1, this version writes {SCHEMA_VERSION}.*drop --resume"):
        run(task, store=path, resume=True)
    pd.testing.assert_frame_equal(scores(run(task, store=path)), fresh[3])
    assert run(task, store=path, resume=True).config["resumed_cells"] == len(EXPLAINERS) + N_CELLS


# ------------------------------------------------------------------ links
@pytest.mark.parametrize("companion", ["", "-wal", "-shm", "-journal", ".lock"])
def test_a_planted_symlink_is_refused_and_nothing_is_written_at_its_target(task, tmp_path, companion):
    out, outside = tmp_path / "out", tmp_path / "outside"
    out.mkdir()
    outside.mkdir()
    target = outside / "planted"
    (out / f"results.sqlite{companion}").symlink_to(target)  # dangling: SQLite would create the target
    with pytest.raises(StoreError, match="is a symbolic link"):
        run(task, store=out / "results.sqlite")
    assert not target.exists() and list(outside.iterdir()) == []


def test_a_hard_linked_store_is_refused_and_its_other_name_kept(task, tmp_path):
    outside = tmp_path / "precious.db"
    connection = connect(outside)
    connection.execute("CREATE TABLE keep (x)")
    connection.close()
    before = outside.read_bytes()
    (tmp_path / "out").mkdir()
    os.link(outside, tmp_path / "out" / "results.sqlite")
    with pytest.raises(StoreError, match="hard links"):
        run(task, store=tmp_path / "out" / "results.sqlite")
    assert outside.read_bytes() == before


def test_a_store_opened_to_be_read_cannot_be_written(task, tmp_path):
    path = tmp_path / "results.sqlite"
    run(task, store=path)
    with ResultStore(path) as store, pytest.raises(StoreError, match="opened to be read"):
        store.put_failure({"explainer": "x", "metric": "", "stage": "explain", "error": "E", "message": "m"})
    assert isinstance(StoreError("x"), InvalidInputError)  # callers catching InvalidInputError keep working


def test_a_cell_whose_value_is_nan_is_resumed(task, tmp_path):
    """SQLite stores NaN as NULL: a metric undefined on every row (value NaN) comes back as NaN."""
    from agnostic_xai.metrics import Metric

    class Undefined(Metric):
        name = "undefined"
        family = "complexity"
        higher_is_better = False

        def __init__(self):
            pass

        def _score(self, attribution, adapter, background, explainer):
            return np.full(attribution.n_rows, np.nan), {}

    options = dict(explainers=["random"], metrics={Undefined(): None, "sparseness": None}, store=tmp_path / "r.sqlite")
    first = run(task, **options)
    resumed = run(task, resume=True, **options)
    assert resumed.config["resumed_cells"] == 3
    assert np.isnan(resumed.metric_results[("random", "undefined")].value)
    pd.testing.assert_frame_equal(scores(resumed), scores(first))
