"""The command line's scale-out: `explain` to Parquet, and `compare --backend dask`."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
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


def test_explain_encodes_a_table_with_text_and_missing_values(tmp_path, capsys):
    """A raw table (a text column, gaps) is encoded in every partition like the sample, locally and on Dask."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from agnostic_xai import explain
    from agnostic_xai.io import TableEncoder

    skops_io = pytest.importorskip("skops.io")
    rng = np.random.default_rng(3)
    n = 300  # two partitions of 256 rows
    frame = pd.DataFrame({
        "loan_id": np.arange(7000, 7000 + n),
        "income": rng.normal(50, 10, size=n),
        "region": rng.choice(np.array(["north", "south", "east"], dtype=object), size=n),
        "age": rng.integers(20, 70, size=n).astype(float),
    })
    frame.loc[rng.choice(n, 20, replace=False), "income"] = np.nan
    frame.loc[rng.choice(n, 15, replace=False), "region"] = None
    frame.to_parquet(tmp_path / "rows.parquet", row_group_size=100, index=False)
    background = frame.iloc[::15].drop(columns="loan_id")
    background.to_csv(tmp_path / "background.csv", index=False)

    # The model is trained on the table encoded as the command encodes it: fitted on the background file.
    encoder = TableEncoder(columns=["income", "region", "age"], impute="mean").fit(background)
    X = encoder.transform(frame)[0]
    label = (X["income"] + 5 * X["region=south"] - 0.3 * X["age"] > 40).astype(int)
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(X.to_numpy(), label)
    skops_io.dump(model, tmp_path / "model.skops")

    common = ["explain", "--model", str(tmp_path / "model.skops"), "--data", str(tmp_path / "rows.parquet"),
              "--background-data", str(tmp_path / "background.csv"), "--background", str(len(background)),
              "--impute", "mean", "--explainer", "exact_shapley", "--id-column", "loan_id", "--class", "1",
              "--partition-rows", "256"]
    assert main([*common, "--out", str(tmp_path / "local.parquet")]) == 0
    assert main([*common, "--out", str(tmp_path / "dask.parquet"), "--backend", "dask", "--workers", "2"]) == 0
    printed = capsys.readouterr().out
    assert printed.count("explained 300 of 300 rows in 2 partitions") == 2
    local, remote = pd.read_parquet(tmp_path / "local.parquet"), pd.read_parquet(tmp_path / "dask.parquet")
    pd.testing.assert_frame_equal(local, remote)
    assert list(local.columns) == ["row_id", "income", "region", "age", "base_value", "target"]  # one per column
    np.testing.assert_array_equal(local["row_id"], frame["loan_id"])

    # The same numbers as explaining the encoded table directly, with the same groups.
    from agnostic_xai.io import load_model

    adapter = load_model(tmp_path / "model.skops", feature_names=list(encoder.feature_names_out_))
    direct = explain(adapter, X, explainer="exact_shapley", target=1, feature_groups=encoder.groups_,
                     background=encoder.transform(background)[0])
    # The command samples its background rows in another order: sums may differ in the last bits.
    np.testing.assert_allclose(local[["income", "region", "age"]].to_numpy(), direct.attribution.values,
                               rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(local["base_value"], direct.attribution.base_values, rtol=1e-9, atol=1e-12)
