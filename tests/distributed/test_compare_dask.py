"""compare(backend="dask") gives the local backend's table, on a 2-worker LocalCluster."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from agnostic_xai import FeatureGroups, compare, wrap
from agnostic_xai.exceptions import InvalidInputError
from agnostic_xai.testing import make_mlp


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
