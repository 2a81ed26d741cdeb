"""compare explains rows in chunks of row_chunk: seeds per chunk, the same on every backend."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from agnostic_xai import compare, plan, wrap
from agnostic_xai._params import derive_seed
from agnostic_xai.comparison import ResultStore
from agnostic_xai.comparison.chunks import DEFAULT_ROW_CHUNK, row_chunks
from agnostic_xai.exceptions import InvalidInputError
from agnostic_xai.explainers import get
from agnostic_xai.testing import make_mlp

from doubles import Picky

SCORES = ["explainer", "metric", "row", "score", "seed"]


@pytest.fixture(scope="module")
def task():
    rng = np.random.default_rng(7)
    names = [f"f{i}" for i in range(6)]
    adapter = wrap(make_mlp(6, 2, (12,), seed=2, dtype=torch.float64), output="logit", feature_names=names)
    return adapter, pd.DataFrame(rng.normal(size=(10, 6)), columns=names)


def run(task, **options):
    adapter, X = task
    settings = dict(seed=3, progress=False, n_background=8, metrics=["deletion_auc"])
    settings.update(options)
    return compare(adapter, X, **settings)


STOCHASTIC = {"sampling_shapley": {"n_permutations": 4}, "kernel_shap": {"n_samples": 20}, "lime": {"n_samples": 40}}


def test_each_chunk_is_one_explain_call_seeded_from_the_root_seed_and_its_first_row(task):
    adapter, X = task
    comparison = run(task, explainers=STOCHASTIC, row_chunk=4)
    targets = comparison.attributions["lime"].target
    assert row_chunks(10, 4) == [(0, 4), (4, 8), (8, 10)]
    for name, params in STOCHASTIC.items():
        explainer = get(name, **params, random_state=derive_seed(3, name)).fit(adapter, comparison.background)
        chunks = [explainer.explain(X.iloc[:4], target=targets[:4]).values]
        for start, stop in [(4, 8), (8, 10)]:
            explainer.set_params(random_state=derive_seed(3, name, str(start)))
            chunks.append(explainer.explain(X.iloc[start:stop], target=targets[start:stop]).values)
        np.testing.assert_array_equal(comparison.attributions[name].values, np.concatenate(chunks))
    # The chunking does change a stochastic explainer's draws (so the test above can fail).
    whole = run(task, explainers=STOCHASTIC, row_chunk=None)
    for name in STOCHASTIC:
        assert not np.array_equal(whole.attributions[name].values[4:], comparison.attributions[name].values[4:])
    # Per-row extras are joined across chunks, costs are summed.
    sampling = comparison.attributions["sampling_shapley"]
    assert sampling.extras["standard_error"].shape == (10, 6) and sampling.extras["n_permutations"] == 4
    assert sampling.model_rows == whole.attributions["sampling_shapley"].model_rows


def test_comparisons_within_one_chunk_keep_their_values(task):
    explainers = {**STOCHASTIC, "exact_shapley": {}}
    assert DEFAULT_ROW_CHUNK >= 10
    default = run(task, explainers=explainers, metrics=["deletion_auc", "faithfulness_correlation"])
    whole = run(task, explainers=explainers, metrics=["deletion_auc", "faithfulness_correlation"], row_chunk=None)
    exact = run(task, explainers=explainers, metrics=["deletion_auc", "faithfulness_correlation"], row_chunk=10)
    pd.testing.assert_frame_equal(default.table[SCORES], whole.table[SCORES])
    pd.testing.assert_frame_equal(default.table[SCORES], exact.table[SCORES])
    for name in explainers:
        np.testing.assert_array_equal(default.attributions[name].values, whole.attributions[name].values)
    assert default.config["row_chunk"] == DEFAULT_ROW_CHUNK and whole.config["row_chunk"] is None


def test_deterministic_explainers_do_not_depend_on_the_chunks(task):
    explainers = ["exact_shapley", "feature_ablation", "integrated_gradients", "deep_lift"]
    metrics = ["deletion_auc", "sparseness"]
    chunked = run(task, explainers=explainers, metrics=metrics, row_chunk=3)
    whole = run(task, explainers=explainers, metrics=metrics, row_chunk=None)
    for name in explainers:
        # Row-independent maths: equal up to float64 rounding of differently batched products.
        np.testing.assert_allclose(chunked.attributions[name].values, whole.attributions[name].values, rtol=0, atol=1e-12)
        np.testing.assert_array_equal(chunked.attributions[name].base_values, whole.attributions[name].base_values)
    np.testing.assert_allclose(chunked.table["score"], whole.table["score"], rtol=1e-9, atol=1e-12)


def test_parallel_processes_explain_the_same_chunks(task):
    explainers = {"sampling_shapley": {"n_permutations": 4}, "kernel_shap": {"n_samples": 20}}
    metrics = ["deletion_auc", "max_sensitivity"]
    one = run(task, explainers=explainers, metrics=metrics, row_chunk=4)
    two = run(task, explainers=explainers, metrics=metrics, row_chunk=4, n_jobs=2)
    pd.testing.assert_frame_equal(one.table[SCORES], two.table[SCORES])
    for name in explainers:
        np.testing.assert_array_equal(one.attributions[name].values, two.attributions[name].values)


@pytest.mark.parametrize("bad", [0, -3, True, 2.5, "8"])
def test_row_chunk_is_checked(task, bad):
    with pytest.raises(InvalidInputError, match="row_chunk must be a positive int"):
        run(task, explainers=["random"], row_chunk=bad)


def test_a_failing_chunk_fails_its_explainer_and_names_its_rows(task):
    adapter, X = task
    X = X.copy()
    X.iloc[5, 0] = 100.0
    options = dict(explainers={"picky": Picky(), "random": {}}, metrics=["deletion_auc", "sparseness"], seed=3,
                   progress=False, background=X.iloc[:4])
    comparison = compare(adapter, X, row_chunk=4, **options)
    failure = comparison.failures.set_index("explainer").loc["picky"]
    assert (failure["stage"], failure["error"]) == ("explain", "ValueError")
    assert failure["message"].startswith("rows 4-7: a row past the limit")
    assert "picky" not in comparison.attributions and set(comparison.table["explainer"]) == {"random"}
    assert comparison.costs.set_index("explainer").loc["picky", "status"] == "failed"
    whole = compare(adapter, X, row_chunk=None, **options)
    assert whole.failures.set_index("explainer").loc["picky", "message"].startswith("a row past the limit")


def test_row_chunk_is_part_of_the_store_fingerprint_when_it_splits_the_rows(task, tmp_path):
    path = tmp_path / "results.sqlite"
    explainers = {"sampling_shapley": {"n_permutations": 4}}
    first = run(task, explainers=explainers, row_chunk=4, store=path)
    with pytest.raises(InvalidInputError, match="different configuration"):
        run(task, explainers=explainers, row_chunk=5, store=path, resume=True)
    again = run(task, explainers=explainers, row_chunk=4, store=path, resume=True)
    assert again.config["resumed_cells"] == 2
    pd.testing.assert_frame_equal(first.table[SCORES], again.table[SCORES])
    # Chunks of at least the 10 rows all explain them in one call: the same values, the same store.
    run(task, explainers=explainers, row_chunk=None, store=path)
    with ResultStore(path) as store:
        assert store.counts()["cells"] == 1
    for chunk in (10, 64, DEFAULT_ROW_CHUNK):
        assert run(task, explainers=explainers, row_chunk=chunk, store=path, resume=True).config["resumed_cells"] == 2


def test_the_plan_counts_each_chunk_s_fixed_cost(task):
    # integrated_gradients evaluates the baseline once per explain call.
    for chunk in (3, None):
        adapter, X = task
        calibrated = plan(adapter, X, seed=3, n_background=8, metrics=["deletion_auc"],
                          explainers=["integrated_gradients"], row_chunk=chunk)
        comparison = run(task, explainers=["integrated_gradients"], row_chunk=chunk)
        planned = calibrated.cells.set_index(["explainer", "metric"])["model_rows"]
        assert planned[("integrated_gradients", "")] == comparison.costs["model_rows"].iloc[0]
    assert (run(task, explainers=["integrated_gradients"], row_chunk=3).costs["model_rows"].iloc[0]
            == comparison.costs["model_rows"].iloc[0] + 3)
