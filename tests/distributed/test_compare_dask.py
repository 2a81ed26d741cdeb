"""compare(backend="dask") gives the local backend's table, on a 2-worker LocalCluster."""

from __future__ import annotations

import sqlite3
import sys
import time

import numpy as np
import pandas as pd
import pytest
import torch

from agnostic_xai import FeatureGroups, compare, wrap
from agnostic_xai.comparison import ResultStore
from agnostic_xai.exceptions import InvalidInputError
from agnostic_xai.explainers.base import Explanation
from agnostic_xai.testing import make_mlp

import doubles
from doubles import Picky

distributed = pytest.importorskip("dask.distributed")
cloudpickle = pytest.importorskip("cloudpickle")

# The explainers travel to the workers by value (pytest imports these modules under names
# the worker processes cannot import).
cloudpickle.register_pickle_by_value(sys.modules[__name__])
cloudpickle.register_pickle_by_value(doubles)

SCORES = ["explainer", "metric", "row", "score", "seed"]


class Slow(Picky):
    """Picky, but sleeping ``seconds`` instead of raising on rows past the limit."""

    name = "slow"

    def __init__(self, limit: float = 50.0, seconds: float = 3.0) -> None:
        self.limit = limit
        self.seconds = seconds

    def _explain(self, X: np.ndarray, target: np.ndarray) -> Explanation:
        if (X[:, 0] > self.limit).any():
            time.sleep(self.seconds)
        return Explanation(values=X - self.background_.mean(axis=0), base_values=np.zeros(X.shape[0]))


@pytest.fixture(scope="module")
def task():
    rng = np.random.default_rng(5)
    names = [f"f{i}" for i in range(6)]
    adapter = wrap(make_mlp(6, 2, (12,), seed=4, dtype=torch.float64), output="logit", feature_names=names)
    return adapter, pd.DataFrame(rng.normal(size=(14, 6)), columns=names)


def test_dask_backend_equals_local(client):
    rng = np.random.default_rng(0)
    names = [f"f{i}" for i in range(6)]
    adapter = wrap(make_mlp(6, 2, (16,), seed=3, dtype=torch.float64), output="logit", feature_names=names)
    X = pd.DataFrame(rng.normal(size=(12, 6)), columns=names)
    groups = FeatureGroups.from_dict({"g01": ["f0", "f1"]}, names)
    options = dict(
        explainers={"smoothgrad": {"n_samples": 8}, "integrated_gradients": {}, "feature_ablation": {},
                    "exact_shapley": {}, "random": {}},
        metrics=["deletion_auc", "faithfulness_correlation", "shapley_error", "sparseness"],
        seed=4, progress=False,
    )
    local = compare(adapter, X, **options)
    remote = compare(adapter, X, backend="dask", client=client, **options)
    columns = ["explainer", "metric", "row", "score", "seed"]
    pd.testing.assert_frame_equal(local.table[columns], remote.table[columns])
    for name, attribution in local.attributions.items():
        np.testing.assert_array_equal(attribution.values, remote.attributions[name].values)
    assert remote.config["backend"] == "dask" and local.config["backend"] == "local"
    grouped = compare(adapter, X, backend="dask", client=client, feature_groups=groups,
                      explainers=["exact_shapley", "random"], metrics=["deletion_auc"], progress=False)
    assert grouped.attributions["exact_shapley"].feature_names == ("g01", "f2", "f3", "f4", "f5")


def test_backend_arguments_are_checked():
    adapter = wrap(make_mlp(3, 2, (4,), seed=0, dtype=torch.float64), output="logit")
    X = np.zeros((3, 3)) + np.arange(3)
    with pytest.raises(InvalidInputError, match="backend must be"):
        compare(adapter, X, backend="spark", explainers=["random"], metrics=["sparseness"], progress=False)
    with pytest.raises(InvalidInputError, match="client is used by backend='dask' only"):
        compare(adapter, X, client=object(), explainers=["random"], metrics=["sparseness"], progress=False)


def test_row_chunks_and_metric_cells_are_tasks_with_the_local_values(client, task):
    adapter, X = task
    options = dict(
        # Stochastic (kernel_shap samples 20 of the 64 coalitions), shared-permutation and
        # deterministic explainers; 14 rows in chunks of 5 rows: 3 chunks each.
        explainers={"kernel_shap": {"n_samples": 20}, "lime": {"n_samples": 40},
                    "sampling_shapley": {"n_permutations": 4}, "exact_shapley": {}, "integrated_gradients": {}},
        # Deterministic, seeded (random_state), re-running (max_sensitivity) and re-fitting
        # (seed_stability) the explainer, and scored against the ground truth.
        metrics=["deletion_auc", "faithfulness_correlation", "max_sensitivity", "seed_stability", "shapley_error"],
        seed=9, progress=False, n_background=6, row_chunk=5,
    )
    local = compare(adapter, X, **options)
    with distributed.get_task_stream(client) as stream:
        remote = compare(adapter, X, backend="dask", client=client, **options)
    # Nothing failed; exact_shapley × shapley_error is skipped (the ground truth is not scored
    # against itself), on both backends alike.
    for comparison in (local, remote):
        assert list(comparison.failures[["explainer", "metric", "stage"]].itertuples(index=False, name=None)) == [
            ("exact_shapley", "shapley_error", "skipped")
        ]
    # Bit for bit: the same chunks, seeds, fits and metric seeds on both backends.
    pd.testing.assert_frame_equal(local.table[SCORES], remote.table[SCORES], check_exact=True)
    for name, mine in local.attributions.items():
        theirs = remote.attributions[name]
        for field in ("values", "base_values", "data", "target"):
            np.testing.assert_array_equal(getattr(mine, field), getattr(theirs, field))
        assert mine.extras.keys() == theirs.extras.keys() and mine.model_rows == theirs.model_rows
        for key, value in mine.extras.items():
            np.testing.assert_array_equal(value, theirs.extras[key])
    assert local.attributions["sampling_shapley"].extras["standard_error"].shape == (14, 6)
    columns = ["explainer", "status", "model_rows", "fit_model_rows", "seed"]
    pd.testing.assert_frame_equal(local.costs[columns], remote.costs[columns], check_exact=True)
    for key, result in local.metric_results.items():
        assert remote.metric_results[key].model_rows == result.model_rows
    assert remote.config["row_chunk"] == 5 and remote.config["backend"] == "dask"
    # Every chunk and every explainer x metric cell was its own task; chunks ran on both workers.
    tasks = pd.DataFrame(stream.data)
    tasks["kind"] = tasks["key"].str.rsplit("-", n=1).str[0]
    counts = tasks["kind"].value_counts()
    assert counts["compare-explain-chunk"] == 5 * 3 and counts["compare-metric"] == 5 * 5 - 1
    assert counts["compare-join"] == 5
    assert tasks.loc[tasks["kind"] == "compare-explain-chunk", "worker"].nunique() == 2


def test_a_failing_chunk_is_reported_and_the_other_explainers_come_back(client, task):
    adapter, X = task
    X = X.copy()
    X.iloc[12, 0] = 100.0  # in the third chunk
    # shapley_topk with k beyond the 6 features fails in every metric task, as it does locally.
    options = dict(explainers={"picky": Picky(), "sampling_shapley": {"n_permutations": 4}, "random": {}},
                   metrics={"shapley_topk": {"k": 99}, "deletion_auc": {}, "max_sensitivity": {}}, seed=2,
                   progress=False, background=X.iloc[:5], row_chunk=5)
    local = compare(adapter, X, **options)
    remote = compare(adapter, X, backend="dask", client=client, **options)
    failure = remote.failures.set_index("explainer").loc["picky"]
    assert (failure["stage"], failure["error"]) == ("explain", "ValueError")
    assert failure["message"].startswith("rows 10-13: a row past the limit")
    pd.testing.assert_frame_equal(local.failures, remote.failures)
    assert list(remote.failures["metric"]) == ["", "shapley_topk", "shapley_topk"]
    assert set(remote.attributions) == {"sampling_shapley", "random"}
    pd.testing.assert_frame_equal(local.table[SCORES], remote.table[SCORES], check_exact=True)
    assert remote.costs.set_index("explainer").loc["picky", "status"] == "failed"


def test_the_time_limit_applies_to_each_chunk_task(client, task):
    adapter, X = task
    X = X.copy()
    X.iloc[3, 0] = 100.0  # in the first chunk
    options = dict(explainers={"slow": Slow(), "random": {}}, metrics=["sparseness"], seed=2, progress=False,
                   background=X.iloc[5:], row_chunk=5, time_limit=1.0)
    for backend in ("local", "dask"):
        comparison = compare(adapter, X, backend=backend, client=client if backend == "dask" else None, **options)
        failure = comparison.failures.set_index("explainer").loc["slow"]
        assert failure["error"] == "CellTimeout", backend
        assert failure["message"].startswith("rows 0-4: ran past the time limit of 1 s"), backend
        assert set(comparison.attributions) == {"random"}


def test_store_and_resume_on_dask_with_row_chunks(client, task, tmp_path):
    adapter, X = task
    path = tmp_path / "results.sqlite"
    options = dict(explainers={"sampling_shapley": {"n_permutations": 4}, "kernel_shap": {"n_samples": 20}},
                   metrics=["deletion_auc", "seed_stability"], seed=1, progress=False, n_background=6, row_chunk=5)
    full = compare(adapter, X, **options)
    first = compare(adapter, X, backend="dask", client=client, store=path, **options)
    with ResultStore(path) as store:
        assert store.counts() == {"attributions": 2, "cells": 4, "failed": 0}
    connection = sqlite3.connect(path)
    connection.execute("DELETE FROM cells WHERE explainer = 'sampling_shapley' AND metric = 'seed_stability'")
    connection.execute("DELETE FROM cells WHERE explainer = 'kernel_shap'")
    connection.execute("DELETE FROM attributions WHERE name = 'kernel_shap'")
    connection.commit()
    connection.close()
    resumed = compare(adapter, X, backend="dask", client=client, store=path, resume=True, **options)
    # sampling_shapley: its attribution and deletion_auc read back, seed_stability re-run
    # (re-fitting it in the metric task); kernel_shap: explained again, chunk by chunk.
    assert resumed.config["resumed_cells"] == 2
    for comparison in (first, resumed):
        pd.testing.assert_frame_equal(full.table[SCORES], comparison.table[SCORES], check_exact=True)
    with ResultStore(path) as store:
        assert store.counts() == {"attributions": 2, "cells": 4, "failed": 0}
