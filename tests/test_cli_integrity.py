"""The command line's data integrity: one writer per store, damaged stores detected, explain
never destroys its input, and nothing is written through a link in --out.

Every refusal is one line on stderr and exit code 2, and leaves the files it was protecting
byte for byte as they were.
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

from agnostic_xai.cli import STORE_NAME, main
from agnostic_xai.testing import LogisticModel

ROOT = Path(__file__).resolve().parents[1]
SCORES = ["explainer", "metric", "row", "score", "seed"]
QUICK = ["--explainers", "kernel_shap,feature_ablation,random", "--metrics", "deletion_gap,sparseness",
         "--rows", "6", "--background", "8"]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A numeric CSV (one binary column), the same rows as Parquet, and a TorchScript logistic model."""
    directory = tmp_path_factory.mktemp("integrity")
    rng = np.random.default_rng(2)
    frame = pd.DataFrame(rng.normal(size=(40, 4)), columns=["a", "b", "c", "d"])
    frame["d"] = (frame["d"] > 0).astype(float)
    frame["label"] = (frame["a"] - frame["b"] > 0).astype(int)
    frame.to_csv(directory / "data.csv", index=False)
    frame.drop(columns="label").to_parquet(directory / "rows.parquet", row_group_size=16)
    weights = np.zeros((4, 2))
    weights[:, 1] = [0.8, -0.6, 0.3, 0.1]
    model = torch.jit.trace(LogisticModel(weights, bias=np.zeros(2)), torch.zeros(1, 4, dtype=torch.float64))
    torch.jit.save(model, directory / "model.pt")
    return directory


def compare_argv(files, out, *extra):
    return ["compare", "--model", str(files / "model.pt"), "--data", str(files / "data.csv"), "--target", "label",
            "--out", str(out), "--no-progress", "--output", "logit", *QUICK, *extra]


def explain_argv(files, data, out):
    return ["explain", "--model", str(files / "model.pt"), "--data", str(data), "--out", str(out),
            "--explainer", "exact_shapley", "--output", "logit"]


def one_error_line(err):
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("agnostic-xai: error: "), err
    return lines[0]


@pytest.fixture(scope="module")
def fresh(files, tmp_path_factory):
    out = tmp_path_factory.mktemp("fresh")
    assert main(compare_argv(files, out)) == 0
    return pd.read_csv(out / "table.csv")[SCORES]


# ------------------------------------------------------------------ one writer per store
def test_a_second_run_on_a_store_in_use_is_refused_naming_the_holder(files, tmp_path, capsys):
    out = tmp_path / "shared"
    out.mkdir()
    code = ("import time; from agnostic_xai.comparison import ResultStore; "
            f"s = ResultStore({str(out / STORE_NAME)!r}, {{'seed': 3}}); print('ready', flush=True); time.sleep(600)")
    holder = subprocess.Popen([sys.executable, "-c", code], env={**os.environ, "PYTHONPATH": str(ROOT)},
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ready"
        capsys.readouterr()
        for extra in ((), ("--resume",)):
            assert main(compare_argv(files, out, "--seed", "4", *extra)) == 2
            line = one_error_line(capsys.readouterr().err)
            assert f"is in use by pid {holder.pid} on host" in line and "since" in line
    finally:
        holder.kill()
        holder.wait(timeout=30)
    assert main(compare_argv(files, out, "--seed", "4")) == 0  # the lock died with its holder


# ------------------------------------------------------------------ damaged stores
def test_garbage_over_part_of_the_store_is_one_line_and_exit_2(files, tmp_path, capsys):
    out = tmp_path / "o"
    assert main(compare_argv(files, out)) == 0
    store = out / STORE_NAME
    with open(store, "r+b") as handle:
        handle.seek(store.stat().st_size // 2)
        handle.write(b"\xde\xad\xbe\xef" * 1024)
    capsys.readouterr()
    assert main(compare_argv(files, out, "--resume")) == 2
    assert "result store" in one_error_line(capsys.readouterr().err)


def test_a_flipped_bit_in_a_stored_score_is_recomputed_and_said_so(files, tmp_path, capsys, fresh):
    out = tmp_path / "o"
    assert main(compare_argv(files, out)) == 0
    store = out / STORE_NAME
    connection = sqlite3.connect(store)
    blobs = [row[0] for row in connection.execute("SELECT scores FROM cells WHERE metric = 'deletion_gap'")]
    connection.close()
    data = store.read_bytes()
    blob = next(b for b in blobs if data.count(b) == 1)  # a score vector found once in the file
    at = data.index(blob) + 13
    store.write_bytes(data[:at] + bytes([data[at] ^ 0x10]) + data[at + 1:])
    capsys.readouterr()
    assert main(compare_argv(files, out, "--resume")) == 0
    err = capsys.readouterr().err
    assert "agnostic-xai: warning: Of the stored results" in err and "1 was damaged" in err
    pd.testing.assert_frame_equal(pd.read_csv(out / "table.csv")[SCORES], fresh)


# ------------------------------------------------------------------ links in --out
@pytest.mark.parametrize("name", [STORE_NAME, f"{STORE_NAME}-wal", "report.html", "table.csv"])
def test_a_planted_link_in_out_is_refused_before_the_run(files, tmp_path, capsys, name):
    out, outside = tmp_path / "out", tmp_path / "outside"
    out.mkdir()
    outside.mkdir()
    (outside / "victim").write_text("keep me")
    (out / name).symlink_to(outside / "victim")
    (out / "other").symlink_to(outside / "created")  # dangling: whatever follows it would create the target
    capsys.readouterr()
    assert main(compare_argv(files, out)) == 2
    assert "is a symbolic link" in one_error_line(capsys.readouterr().err)
    assert (outside / "victim").read_text() == "keep me" and sorted(p.name for p in outside.iterdir()) == ["victim"]
    assert not (out / "table.csv").exists() or (out / "table.csv").is_symlink()


def test_a_report_file_is_never_written_through_a_link(tmp_path):
    from agnostic_xai.exceptions import InvalidInputError
    from agnostic_xai.reports._files import atomic_write_text, report_target

    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    link = tmp_path / "report.json"
    link.symlink_to(victim)
    for write in (report_target, lambda path: atomic_write_text(path, "new")):
        with pytest.raises(InvalidInputError, match="is a symbolic link"):
            write(link)
    assert victim.read_text() == "keep me"


# ------------------------------------------------------------------ explain keeps its input
def _same_file_cases(files, tmp_path):
    rows = tmp_path / "rows.parquet"
    rows.write_bytes((files / "rows.parquet").read_bytes())
    (tmp_path / "through-symlink.parquet").symlink_to(rows)
    os.link(rows, tmp_path / "through-hardlink.parquet")
    return rows, {
        "the input itself": rows,
        "the input by another spelling": tmp_path / "." / "rows.parquet",
        "a symbolic link to it": tmp_path / "through-symlink.parquet",
        "a hard link to it": tmp_path / "through-hardlink.parquet",
    }


def test_explain_refuses_an_output_that_is_its_input(files, tmp_path, capsys):
    rows, cases = _same_file_cases(files, tmp_path)
    before = rows.read_bytes()
    for case, out in cases.items():
        capsys.readouterr()
        assert main(explain_argv(files, rows, out)) == 2, case
        assert "is the input" in one_error_line(capsys.readouterr().err), case
        assert rows.read_bytes() == before, case
    # The other way round too: the data given through the link, the output by its real name.
    assert main(explain_argv(files, cases["a symbolic link to it"], rows)) == 2
    assert rows.read_bytes() == before


def test_explain_refuses_an_output_inside_its_data_directory_or_a_directory(files, tmp_path, capsys):
    parts = tmp_path / "parts"
    parts.mkdir()
    (parts / "a.parquet").write_bytes((files / "rows.parquet").read_bytes())
    capsys.readouterr()
    assert main(explain_argv(files, parts, parts / "attributions.parquet")) == 2
    assert "inside the input directory" in one_error_line(capsys.readouterr().err)
    assert sorted(p.name for p in parts.iterdir()) == ["a.parquet"]
    assert main(explain_argv(files, files / "rows.parquet", tmp_path)) == 2
    assert "is a directory" in one_error_line(capsys.readouterr().err)


def test_explain_replaces_an_output_link_instead_of_writing_through_it(files, tmp_path):
    victim = tmp_path / "victim.parquet"
    victim.write_bytes(b"keep me")
    out = tmp_path / "attributions.parquet"
    out.symlink_to(victim)
    assert main(explain_argv(files, files / "rows.parquet", out)) == 0
    assert victim.read_bytes() == b"keep me" and not out.is_symlink()
    written = pd.read_parquet(out)
    assert len(written) == 40 and list(written.columns)[:5] == ["row_id", "a", "b", "c", "d"]
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_explain_api_refuses_its_input_as_output(files, tmp_path):
    from agnostic_xai import explain, wrap
    from agnostic_xai.exceptions import InvalidInputError

    rows = tmp_path / "rows.parquet"
    rows.write_bytes((files / "rows.parquet").read_bytes())
    before = rows.read_bytes()
    model = wrap(LogisticModel(np.array([[0.0, 0.8], [0.0, -0.6], [0.0, 0.3], [0.0, 0.1]])), output="logit",
                 feature_names=["a", "b", "c", "d"])
    with pytest.raises(InvalidInputError, match="is the input"):
        explain(model, rows, explainer="exact_shapley", background=np.zeros((2, 4)), out=rows)
    assert rows.read_bytes() == before


def _cells_in(path):
    try:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1)
        try:
            return connection.execute("SELECT COUNT(*) FROM cells WHERE status = 'ok'").fetchone()[0]
        finally:
            connection.close()
    except sqlite3.Error:
        return 0


@pytest.mark.slow
def test_the_issues_race_a_second_seed_cannot_take_over_a_running_store(files, tmp_path, capsys):
    """``--seed 3 --out shared`` running, then ``--seed 4 --out shared``: the second is refused while the
    first writes; the first finishes intact; ``--seed 4 --resume`` then resumes nothing of seed 3."""
    import time

    slow = ["--explainers", "exact_shapley,kernel_shap,lime,feature_ablation,random", "--metrics",
            "deletion_auc,max_sensitivity", "--rows", "16", "--background", "10"]
    shared = tmp_path / "shared"
    argv = [a for a in compare_argv(files, shared) if a not in QUICK] + slow
    first = subprocess.Popen([sys.executable, "-m", "agnostic_xai.cli", *argv, "--seed", "3"],
                             env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and first.poll() is None and _cells_in(shared / STORE_NAME) < 1:
            time.sleep(0.02)
        assert first.poll() is None, "the first run finished before the second could start"
        capsys.readouterr()
        assert main([*argv, "--seed", "4"]) == 2
        assert f"in use by pid {first.pid}" in one_error_line(capsys.readouterr().err)
        assert first.wait(timeout=600) == 0
    finally:
        if first.poll() is None:
            first.kill()
    seed3 = pd.read_csv(shared / "table.csv")[SCORES]
    assert main([*argv, "--seed", "3", "--resume"]) == 0  # the first run's store is whole: all of it resumed
    assert "resumed 15 finished results" in capsys.readouterr().err
    pd.testing.assert_frame_equal(pd.read_csv(shared / "table.csv")[SCORES], seed3)
    assert main([*argv, "--seed", "4", "--resume"]) == 2  # another configuration: refused, not mixed
    assert "different configuration" in one_error_line(capsys.readouterr().err)
