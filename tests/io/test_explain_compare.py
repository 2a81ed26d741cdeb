"""explain ≡ compare: the same seed gives bitwise-identical attributions through either door.

Both explain rows in the row chunks of agnostic_xai.comparison.chunks, seeded the same way
(fit with derive_seed(seed, name), chunk s > 0 with derive_seed(seed, name, str(s))). 300
rows use the chunks starting at rows 0, 128 and 256 of the default row_chunk; explain's
partitions (256 rows) put two chunks in the first partition and the third in the second.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from agnostic_xai import compare, explain, explainers
from agnostic_xai.comparison.chunks import DEFAULT_ROW_CHUNK
from agnostic_xai.testing import make_mlp

D = 4
N_ROWS = 300

#: Small budgets (the same in both calls) to keep the test fast; anything else runs with its defaults.
BUDGETS = {
    "kernel_shap": {"n_samples": D + 2},
    "lime": {"n_samples": 20},
    "smoothgrad": {"n_samples": 2},
    "expected_gradients": {"n_samples": 2},
    "gradient_shap": {"n_samples": 2},
    "permutation_shap": {"max_evals": 2 * D + 1},
    "sampling_shapley": {"n_permutations": 2},
    "surrogate_tree": {"n_samples": 40},
}
#: Those that take more than a few seconds for 300 rows, even with these budgets (shap's loops).
SLOW = {"kernel_shap", "permutation_shap", "gradient_shap"}

STOCHASTIC = [name for name in explainers.available() if explainers.get_class(name).is_stochastic]


@pytest.fixture(scope="module")
def setup():
    rng = np.random.default_rng(0)
    model = make_mlp(D, 3, (8,), seed=1, dtype=torch.float64)  # torch: the gradient explainers are included
    return model, rng.normal(size=(N_ROWS, D)), rng.normal(size=(4, D))


def test_the_registry_has_the_stochastic_explainers_this_file_covers():
    assert set(BUDGETS) <= set(STOCHASTIC) and {"random", "smoothgrad", "kernel_shap"} <= set(STOCHASTIC)
    assert N_ROWS > 2 * DEFAULT_ROW_CHUNK  # three chunks


@pytest.mark.parametrize(
    "name", [pytest.param(n, marks=pytest.mark.slow) if n in SLOW else n for n in STOCHASTIC]
)
def test_explain_gives_compare_s_attributions_bit_for_bit(setup, name):
    model, X, background = setup
    params = BUDGETS.get(name, {})
    table = explain(model, X, explainer=explainers.get(name, **params), background=background, seed=0,
                    partition_rows=256)
    comparison = compare(model, X, background=background, explainers={name: params}, metrics=["sparseness"],
                         exact_limit=0, seed=0, progress=False)
    assert table.ok and table.n_partitions == 2 and table.row_chunk == DEFAULT_ROW_CHUNK
    through_compare = comparison.attributions[name]
    assert np.array_equal(table.attribution.values, through_compare.values)
    assert np.array_equal(table.attribution.base_values, through_compare.base_values)
    assert np.array_equal(table.attribution.target, through_compare.target)


def test_a_row_chunk_given_to_both_gives_the_same_attributions(setup):
    model, X, background = setup
    X = X[:40]
    kwargs = {"seed": 4, "row_chunk": 16}
    table = explain(model, X, explainer=explainers.get("sampling_shapley", n_permutations=2), background=background,
                    partition_rows=16, **kwargs)
    comparison = compare(model, X, background=background, explainers={"sampling_shapley": {"n_permutations": 2}},
                         metrics=["sparseness"], exact_limit=0, progress=False, **kwargs)
    default = explain(model, X, explainer=explainers.get("sampling_shapley", n_permutations=2), background=background,
                      seed=4)
    assert table.n_partitions == 3 and table.row_chunk == 16
    assert np.array_equal(table.attribution.values, comparison.attributions["sampling_shapley"].values)
    assert not np.array_equal(table.attribution.values, default.attribution.values)  # one chunk of 40 rows differs
