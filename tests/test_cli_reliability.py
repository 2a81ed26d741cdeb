"""The command line under interruption, limits and repeated runs: kill and resume, --plan,
--max-model-rows, --out checks, determinism across seeds and --jobs."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from agnostic_xai.cli import STORE_NAME, main
from agnostic_xai.testing import LogisticModel

ROOT = Path(__file__).resolve().parents[1]
SCORES = ["explainer", "metric", "row", "score", "seed"]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A numeric CSV and a TorchScript logistic model over its four columns."""
    directory = tmp_path_factory.mktemp("reliab")
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(rng.normal(size=(40, 4)), columns=["a", "b", "c", "d"])
    frame["label"] = (frame["a"] - frame["b"] > 0).astype(int)
    data = directory / "data.csv"
    frame.to_csv(data, index=False)
    weights = np.zeros((4, 2))
    weights[:, 1] = [0.8, -0.6, 0.3, 0.1]
    model = LogisticModel(weights, bias=np.zeros(2))
    path = directory / "model.pt"
    torch.jit.save(torch.jit.trace(model, torch.zeros(1, 4, dtype=torch.float64)), path)
    return directory, data, path


def argv(files, out, *extra):
    directory, data, model = files
    return ["compare", "--model", str(model), "--data", str(data), "--target", "label", "--out", str(out),
            "--no-progress", "--output", "logit", *extra]


def table(out):
    return pd.read_csv(out / "table.csv")[SCORES]


def cells_in(path):
    try:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1)
        try:
            return connection.execute("SELECT COUNT(*) FROM cells WHERE status = 'ok'").fetchone()[0]
        finally:
            connection.close()
    except sqlite3.Error:
        return 0


@pytest.mark.slow
def test_sigkill_mid_run_then_resume_gives_the_uninterrupted_table(files, tmp_path):
    slow = ["--explainers", "exact_shapley,kernel_shap,permutation_shap,lime,feature_ablation,random",
            "--metrics", "deletion_auc,shapley_error,max_sensitivity", "--rows", "16", "--background", "10"]
    killed = tmp_path / "killed"
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen([sys.executable, "-m", "agnostic_xai.cli", *argv(files, killed, *slow)],
                               env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    store, total = killed / STORE_NAME, 6 * 3
    deadline = time.monotonic() + 300
    try:
        while time.monotonic() < deadline and process.poll() is None and cells_in(store) < 2:
            time.sleep(0.02)
        assert process.poll() is None, "the run finished (or failed) before it could be killed"
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    stored = cells_in(store)
    assert 2 <= stored < total
    assert not (killed / "table.csv").exists()  # nothing half-written: reports come at the end
    assert main(argv(files, killed, *slow, "--resume")) == 0
    assert main(argv(files, tmp_path / "whole", *slow)) == 0
    pd.testing.assert_frame_equal(table(killed), table(tmp_path / "whole"))
    # A resume with another configuration is refused, and says how to proceed.
    assert main(argv(files, killed, *slow, "--resume", "--seed", "7")) == 2


QUICK = ["--explainers", "kernel_shap,feature_ablation,random", "--metrics", "deletion_gap,sparseness",
         "--rows", "6", "--background", "8"]


def test_resume_message_and_no_rework(files, tmp_path, capsys):
    out = tmp_path / "o"
    assert main(argv(files, out, *QUICK)) == 0
    capsys.readouterr()
    assert main(argv(files, out, *QUICK, "--resume")) == 0
    assert "resumed 9 finished results" in capsys.readouterr().err


def test_plan_and_model_row_limit(files, tmp_path, capsys):
    assert main(argv(files, tmp_path / "p", *QUICK, "--plan")) == 0
    printed = capsys.readouterr().out
    assert "kernel_shap" in printed and "model rows" in printed
    assert not (tmp_path / "p" / "table.csv").exists()
    assert main(argv(files, tmp_path / "p", *QUICK, "--plan", "--max-model-rows", "10")) == 2
    assert "refused" in capsys.readouterr().out
    assert main(argv(files, tmp_path / "q", *QUICK, "--max-model-rows", "10")) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "biggest cells: kernel_shap" in err and "--force" in err
    assert main(argv(files, tmp_path / "q", *QUICK, "--max-model-rows", "10", "--force")) == 0


def test_out_must_be_a_directory_and_outputs_stay_inside(files, tmp_path, capsys):
    existing = tmp_path / "a_file"
    existing.write_text("keep me")
    assert main(argv(files, existing, *QUICK)) == 2
    assert "is an existing file" in capsys.readouterr().err and existing.read_text() == "keep me"
    out = tmp_path / "nested" / "out"
    before = set(tmp_path.rglob("*"))
    assert main(argv(files, out, *QUICK)) == 0
    created = set(tmp_path.rglob("*")) - before
    assert created and all(out in p.parents or p == out or p in out.parents for p in created)
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]


def _without_timings(value):
    if isinstance(value, dict):
        words = ("seconds", "generated", "time", "n_jobs", "versions", "cost_leader", "store")
        return {k: _without_timings(v) for k, v in value.items() if not any(word in k for word in words)}
    if isinstance(value, list):  # the headline's "cheapest" sentence quotes timings
        return [_without_timings(v) for v in value
                if not (isinstance(v, str) and " s and " in v)
                and not (isinstance(v, dict) and "seconds" in str(v.get("key")))]
    return value


@pytest.mark.slow
def test_same_seed_is_bitwise_identical_across_jobs_and_other_seeds_change_only_stochastic(files, tmp_path):
    assert main(argv(files, tmp_path / "one", *QUICK, "--jobs", "1")) == 0
    assert main(argv(files, tmp_path / "two", *QUICK, "--jobs", "2")) == 0
    assert main(argv(files, tmp_path / "other", *QUICK, "--jobs", "1", "--seed", "3")) == 0
    one, two = table(tmp_path / "one"), table(tmp_path / "two")
    pd.testing.assert_frame_equal(one, two, check_exact=True)
    reports = [json.loads((tmp_path / d / "report.json").read_text()) for d in ("one", "two")]
    assert _without_timings(reports[0]) == _without_timings(reports[1])
    # Another seed: the rows and background (sampled by seed) would differ too, so explain all
    # rows against a given background: then only stochastic explainers change.
    every = [*QUICK[:4], "--rows", "40", "--background", "8"]
    assert main(argv(files, tmp_path / "s3", *every, "--seed", "3", "--background-data", str(files[1]))) == 0
    assert main(argv(files, tmp_path / "s3b", *every, "--background-data", str(files[1]))) == 0
    a, b = table(tmp_path / "s3b"), table(tmp_path / "s3")
    same = (a["score"] == b["score"]) | (a["score"].isna() & b["score"].isna())
    by_explainer = same.groupby(a["explainer"]).all()
    # (kernel_shap's automatic budget enumerates all 2**4 coalitions here: deterministic too.)
    assert by_explainer["feature_ablation"] and by_explainer["kernel_shap"] and not by_explainer["random"]


def test_saturation_is_one_warning_line_and_an_error_stays_one_line(tmp_path, capsys):
    rng = np.random.default_rng(2)
    frame = pd.DataFrame(rng.normal(size=(20, 2)), columns=["a", "b"])
    data = tmp_path / "data.csv"
    frame.to_csv(data, index=False)
    weights = np.array([[-40.0, 40.0], [0.0, 0.0]])  # |logit| of 40: probabilities of exactly 0 or 1
    model = tmp_path / "model.pt"
    torch.jit.save(torch.jit.trace(LogisticModel(weights, bias=np.zeros(2)), torch.zeros(1, 2, dtype=torch.float64)),
                   model)
    base = ["compare", "--model", str(model), "--data", str(data), "--no-progress", "--rows", "10",
            "--metrics", "sparseness"]
    assert main([*base, "--out", str(tmp_path / "o"), "--explainers", "random"]) == 0
    warned = [line for line in capsys.readouterr().err.splitlines() if line.startswith("agnostic-xai: warning:")]
    assert len(warned) == 1 and "--output logit" in warned[0]
    assert main([*base, "--out", str(tmp_path / "o"), "--explainers", "no_such"]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_row_chunk_splits_the_explain_calls_and_bad_values_are_refused(files, tmp_path, capsys):
    quick = ["--explainers", "random,feature_ablation", "--metrics", "sparseness", "--rows", "10", "--background", "5"]
    assert main(argv(files, tmp_path / "chunked", *quick, "--row-chunk", "4")) == 0
    report = json.loads((tmp_path / "chunked" / "report.json").read_text())
    assert '"row_chunk": 4' in json.dumps(report)
    # random is stochastic: three chunks of 4, 4 and 2 rows draw from three seeds, not one.
    one = pd.read_csv(tmp_path / "chunked" / "table.csv")
    assert main(argv(files, tmp_path / "whole", *quick, "--row-chunk", "10")) == 0
    other = pd.read_csv(tmp_path / "whole" / "table.csv")
    first_chunk = (one["explainer"] == "random") & (one["row"] < 4)
    later = (one["explainer"] == "random") & (one["row"] >= 4)
    np.testing.assert_array_equal(one.loc[first_chunk, "score"], other.loc[first_chunk, "score"])
    assert not np.allclose(one.loc[later, "score"], other.loc[later, "score"])
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_info:
        main(argv(files, tmp_path / "bad", *quick, "--row-chunk", "0"))
    assert exit_info.value.code == 2 and "--row-chunk" in capsys.readouterr().err
