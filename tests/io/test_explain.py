"""agnostic_xai.explain: partition-invariant values, local vs Dask, Parquet/CSV end to end, failures."""

from __future__ import annotations

import pickle
import sys
import threading

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from agnostic_xai import explain, wrap
from agnostic_xai.adapters.callable_adapter import CallableAdapter
from agnostic_xai.exceptions import IncompatibleModelError, InvalidInputError
from agnostic_xai.explainers import get
from agnostic_xai.groups import FeatureGroups
from agnostic_xai.io.portable import ScriptedModel, portable_model
from agnostic_xai.testing import LinearModel, linear_shapley, make_mlp

distributed = pytest.importorskip("dask.distributed")
cloudpickle = pytest.importorskip("cloudpickle")

# Functions defined here travel to the workers by value (pytest imports this file under a
# name the worker processes cannot import).
cloudpickle.register_pickle_by_value(sys.modules[__name__])

D = 6
MARKER = 999.0


@pytest.fixture(scope="module")
def setup():
    rng = np.random.default_rng(0)
    model = make_mlp(D, 3, (8,), seed=1, dtype=torch.float64)
    X = rng.normal(size=(40, D))
    background = rng.normal(size=(8, D))
    return model, X, background


def small(name: str):
    budgets = {"kernel_shap": {"n_samples": 20}, "lime": {"n_samples": 40}, "smoothgrad": {"n_samples": 4}}
    return get(name, **budgets.get(name, {}))


def marker_model(X: np.ndarray) -> np.ndarray:
    """A regression function that raises on rows carrying the marker value."""
    if np.any(X[:, 0] == MARKER):
        raise ValueError("marker row reached the model")
    return X @ np.arange(1.0, X.shape[1] + 1)


# ------------------------------------------------------------------ values
def test_values_are_the_closed_form_shapley_values():
    rng = np.random.default_rng(1)
    weights = rng.normal(size=D)
    X, background = rng.normal(size=(10, D)), rng.normal(size=(6, D))
    result = explain(
        LinearModel(weights), X, explainer="exact_shapley", background=background, partition_rows=4, row_chunk=2
    )
    assert result.ok and result.n_explained == 10 and result.n_partitions == 3
    np.testing.assert_allclose(result.attribution.values, linear_shapley(weights, X, background), atol=1e-10)
    np.testing.assert_array_equal(result.row_ids, np.arange(10))
    np.testing.assert_array_equal(result.attribution.data, X)


@pytest.mark.parametrize("name", ["kernel_shap", "lime", "saliency"])
def test_values_do_not_depend_on_partitioning(setup, name):
    model, X, background = setup
    runs = [
        explain(model, X, explainer=small(name), background=background, seed=3, row_chunk=8, partition_rows=rows)
        for rows in (16, 24, 40)  # 3, 2 and 1 partitions of the same 8-row chunks
    ]
    assert [r.n_partitions for r in runs] == [3, 2, 1]
    for other in runs[1:]:
        np.testing.assert_array_equal(other.attribution.values, runs[0].attribution.values)
        np.testing.assert_array_equal(other.attribution.base_values, runs[0].attribution.base_values)


def test_seed_and_row_chunk_change_stochastic_values(setup):
    model, X, background = setup
    base = explain(model, X, explainer=small("kernel_shap"), background=background, seed=3, row_chunk=8)
    reseeded = explain(model, X, explainer=small("kernel_shap"), background=background, seed=4, row_chunk=8)
    rechunked = explain(model, X, explainer=small("kernel_shap"), background=background, seed=3, row_chunk=5)
    assert not np.array_equal(base.attribution.values, reseeded.attribution.values)
    assert not np.array_equal(base.attribution.values, rechunked.attribution.values)


# Explainers that need no import heavier than torch on the workers: smoothgrad is
# stochastic, the two others deterministic. shap and lime take seconds to import in each
# worker process, so they are checked in the one test marked slow below.
@pytest.mark.parametrize("name", ["smoothgrad", "integrated_gradients", "feature_ablation"])
def test_dask_gives_the_local_values(setup, client, name):
    model, X, background = setup
    kwargs = dict(explainer=small(name), background=background, seed=5, row_chunk=8)
    local = explain(model, X, partition_rows=40, **kwargs)
    remote = explain(model, X, backend="dask", client=client, partition_rows=16, **kwargs)
    assert remote.backend == "dask" and remote.n_partitions == 3 and remote.ok
    np.testing.assert_array_equal(remote.attribution.values, local.attribution.values)
    np.testing.assert_array_equal(remote.attribution.base_values, local.attribution.base_values)
    np.testing.assert_array_equal(remote.attribution.target, local.attribution.target)
    np.testing.assert_array_equal(remote.row_ids, local.row_ids)
    assert client.status == "running"  # the caller's client is left open


@pytest.mark.slow
@pytest.mark.parametrize("name", ["kernel_shap", "lime"])
def test_dask_gives_the_local_values_for_sampling_explainers(setup, client, name):
    model, X, background = setup
    kwargs = dict(explainer=small(name), background=background, seed=5, row_chunk=8)
    local = explain(model, X, partition_rows=40, **kwargs)
    remote = explain(model, X, backend="dask", client=client, partition_rows=16, **kwargs)
    np.testing.assert_array_equal(remote.attribution.values, local.attribution.values)
    np.testing.assert_array_equal(remote.attribution.base_values, local.attribution.base_values)


@pytest.mark.slow  # starts a second cluster
def test_one_worker_gives_the_two_worker_values(setup, client):
    model, X, background = setup
    kwargs = dict(explainer=small("smoothgrad"), background=background, seed=7, row_chunk=8, backend="dask")
    two = explain(model, X, client=client, partition_rows=8, **kwargs)
    one = explain(model, X, n_workers=1, partition_rows=24, **kwargs)  # a LocalCluster started and closed here
    np.testing.assert_array_equal(one.attribution.values, two.attribution.values)


def test_per_row_target_and_groups(setup, client):
    model, X, background = setup
    target = np.arange(X.shape[0]) % 3
    groups = FeatureGroups.from_dict({"ab": [0, 1], "cde": [2, 3, 4]}, [f"x{i}" for i in range(D)])
    kwargs = dict(explainer="feature_ablation", background=background, target=target, feature_groups=groups)
    local = explain(model, X, partition_rows=16, row_chunk=8, **kwargs)
    remote = explain(model, X, partition_rows=8, row_chunk=8, backend="dask", client=client, **kwargs)
    assert local.attribution.feature_names == ("ab", "cde", "x5")
    np.testing.assert_array_equal(local.attribution.target, target)
    np.testing.assert_array_equal(remote.attribution.values, local.attribution.values)


# ------------------------------------------------------------------ files
def test_parquet_larger_than_a_partition_end_to_end(setup, client, tmp_path):
    model, X, background = setup
    names = [f"f{i}" for i in range(D)]
    frame = pd.DataFrame(X, columns=names)
    frame.insert(0, "loan_id", 1000 + 3 * np.arange(len(frame)))
    frame["label"] = 1  # a column the model does not use is ignored
    source = tmp_path / "big.parquet"
    frame.to_parquet(source, row_group_size=7, index=False)  # row groups straddle partitions
    adapter = wrap(model, feature_names=names)
    out = tmp_path / "out" / "attributions.parquet"
    kwargs = dict(explainer=small("smoothgrad"), background=background, seed=2, row_chunk=8, id_column="loan_id")
    result = explain(adapter, source, backend="dask", client=client, partition_rows=16, out=out, **kwargs)
    assert result.path == out and result.n_partitions == 3 and result.n_explained == len(frame) and result.ok
    written = pd.read_parquet(out)
    assert list(written.columns) == ["row_id", *names, "base_value", "target"]
    np.testing.assert_array_equal(written["row_id"], frame["loan_id"])
    in_memory = explain(adapter, frame, partition_rows=40, **kwargs)
    np.testing.assert_array_equal(written[names].to_numpy(), in_memory.attribution.values)
    np.testing.assert_array_equal(written["base_value"], in_memory.attribution.base_values)
    np.testing.assert_array_equal(in_memory.row_ids, frame["loan_id"])
    assert in_memory.attribution is not None and result.attribution is None


def test_parquet_directory_and_csv_give_the_array_values(setup, tmp_path):
    model, X, background = setup
    names = [f"f{i}" for i in range(D)]
    frame = pd.DataFrame(X, columns=names)
    folder = tmp_path / "parts"
    folder.mkdir()
    frame.iloc[:25].to_parquet(folder / "part-0.parquet", index=False)
    frame.iloc[25:].to_parquet(folder / "part-1.parquet", index=False)
    frame.to_csv(tmp_path / "big.csv", index=False)
    kwargs = dict(explainer=small("lime"), background=background, row_chunk=8, partition_rows=16)
    reference = explain(wrap(model, feature_names=names), X, **kwargs)
    for data in (folder, tmp_path / "big.csv"):
        result = explain(model, data, **kwargs)  # the model is wrapped with the file's column names
        assert result.attribution.feature_names == tuple(names)
        np.testing.assert_array_equal(result.attribution.values, reference.attribution.values)


# ------------------------------------------------------------------ failures
def test_a_failing_partition_is_reported_with_its_row_range(client, tmp_path):
    rng = np.random.default_rng(2)
    X = rng.normal(size=(40, D))
    X[19, 0] = MARKER  # in partition [16, 32), row chunk [16, 24)
    adapter = CallableAdapter(marker_model)
    kwargs = dict(explainer="feature_ablation", background=rng.normal(size=(5, D)), row_chunk=8, partition_rows=16)
    for backend, extra in (("local", {}), ("dask", {"client": client, "out": tmp_path / "a.parquet"})):
        result = explain(adapter, X, backend=backend, **kwargs, **extra)
        assert not result.ok and result.n_rows == 40 and result.n_explained == 32
        (failure,) = result.failures
        assert (failure.start, failure.stop, failure.error) == (16, 24, "ModelOutputError")
        assert "marker row" in failure.message
        assert "rows 16-23: ModelOutputError" in result.summary() and "explained 32 of 40 rows" in result.summary()
    written = pd.read_parquet(tmp_path / "a.parquet")
    np.testing.assert_array_equal(written["row_id"], np.r_[0:16, 24:40])


def test_a_model_that_does_not_pickle_travels_as_torchscript():
    class Locked(nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = nn.Linear(D, 2).double()
            self.lock = threading.Lock()  # makes the module unpicklable

        def forward(self, x):
            return self.linear(x)

    adapter = wrap(Locked(), output="logit")
    X = np.random.default_rng(3).normal(size=(6, D))
    portable = portable_model(adapter, X)
    assert isinstance(portable, ScriptedModel)
    rebuilt = pickle.loads(pickle.dumps(portable)).adapter()
    np.testing.assert_allclose(rebuilt.predict(X), adapter.predict(X), rtol=1e-12)
    assert (rebuilt.task, rebuilt.output) == (adapter.task, adapter.output)


# ------------------------------------------------------------------ bad input
def test_bad_input_is_refused_early(setup, tmp_path):
    model, X, background = setup
    cases = [
        dict(backend="spark"),
        dict(seed=-1),
        dict(partition_rows=0),
        dict(row_chunk=0),
        dict(target=np.zeros(3, dtype=int)),
        dict(target=5),
        dict(id_column="id"),
        dict(client=object()),
    ]
    for case in cases:
        with pytest.raises(InvalidInputError):
            explain(model, X, **{"explainer": "saliency", "background": background, **case})
    with pytest.raises(InvalidInputError, match="No such file"):
        explain(model, tmp_path / "missing.parquet", explainer="saliency", background=background)
    with pytest.raises(InvalidInputError, match="registry name or an Explainer"):
        explain(model, X, explainer=3, background=background)
    with pytest.raises(IncompatibleModelError, match="gradients"):
        explain(CallableAdapter(marker_model), X, explainer="saliency", background=background)
    with pytest.raises(InvalidInputError, match="clash"):
        explain(
            wrap(model, feature_names=["a", "b", "c", "d", "e", "target"]),
            X,
            explainer="saliency",
            background=background,
            out=tmp_path / "x.parquet",
        )
