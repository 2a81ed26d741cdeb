"""The command line's scale-out: `explain` to Parquet, and `compare --backend dask`."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from agnostic_xai.cli import main
from agnostic_xai.testing import LogisticModel


def write_inputs(directory):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(90, 4)), columns=["a", "b", "c", "d"])
    frame.insert(0, "loan_id", np.arange(1000, 1090))
    frame.to_parquet(directory / "rows.parquet", row_group_size=30)
    weights = np.stack([-np.arange(1, 5), np.arange(1, 5)], axis=1) / 4
    model = torch.jit.trace(LogisticModel(weights), torch.zeros(1, 4, dtype=torch.float64))
    torch.jit.save(model, directory / "model.pt")
    return frame


def test_explain_writes_every_row_and_dask_matches_local(tmp_path, capsys):
    frame = write_inputs(tmp_path)
    common = ["explain", "--model", str(tmp_path / "model.pt"), "--data", str(tmp_path / "rows.parquet"),
              "--explainer", "exact_shapley", "--id-column", "loan_id", "--output", "logit", "--partition-rows", "256"]
    assert main([*common, "--out", str(tmp_path / "local.parquet")]) == 0
    assert main([*common, "--out", str(tmp_path / "dask.parquet"), "--backend", "dask", "--workers", "2"]) == 0
    assert "explained 90 of 90 rows" in capsys.readouterr().out
    local, remote = pd.read_parquet(tmp_path / "local.parquet"), pd.read_parquet(tmp_path / "dask.parquet")
    assert list(local["row_id"]) == list(frame["loan_id"])
    pd.testing.assert_frame_equal(local, remote)
    # exact Shapley values of a linear logit model: w_i (x_i - mean_background_i) for the explained class
    assert np.isfinite(local[["a", "b", "c", "d"]].to_numpy()).all()


def test_compare_on_dask_writes_the_same_table(tmp_path):
    frame = write_inputs(tmp_path)
    frame.drop(columns="loan_id").assign(label=(frame["a"] > 0).astype(int)).to_csv(tmp_path / "rows.csv", index=False)
    tables = []
    for backend in ("local", "dask"):
        out = tmp_path / backend
        code = main(["compare", "--model", str(tmp_path / "model.pt"), "--data", str(tmp_path / "rows.csv"),
                     "--target", "label", "--explainers", "exact_shapley,random", "--metrics", "deletion_auc",
                     "--rows", "10", "--background", "20", "--output", "logit", "--no-progress",
                     "--backend", backend, "--out", str(out)])
        assert code == 0
        tables.append(pd.read_csv(out / "table.csv")[["explainer", "metric", "row", "score"]])
    pd.testing.assert_frame_equal(*tables)
