"""Column types inferred from the background, and perturbations that respect them."""

from __future__ import annotations

import numpy as np
import pytest

from agnostic_xai.columns import ColumnTypes, perturb
from agnostic_xai.exceptions import InvalidInputError, UnknownNameError
from agnostic_xai.groups import FeatureGroups

NAMES = ["age", "smoker", "visits", "city_a", "city_b", "city_c", "sex_f", "sex_m", "scaled"]


def table(n=200, seed=0):
    rng = np.random.default_rng(seed)
    city = rng.integers(0, 3, n)
    sex = rng.integers(0, 2, n)
    return np.column_stack([
        rng.normal(40, 10, n),                      # continuous
        (rng.random(n) < 0.3).astype(float),        # binary 0/1
        rng.poisson(3, n).astype(float),            # integer
        np.eye(3)[city],                            # one-hot, 3 categories
        np.eye(2)[sex],                             # one-hot, 2 categories
        np.where(rng.random(n) < 0.5, 0.0, rng.uniform(size=n)),  # MinMax-scaled, half zeros
    ])


GROUPS = FeatureGroups.from_dict({"city": NAMES[3:6], "sex": NAMES[6:8]}, NAMES)


def test_types_are_inferred_from_the_background():
    types = ColumnTypes.infer(table(), GROUPS)
    assert types.to_dict() == {
        "columns": {
            "age": "continuous", "smoker": "binary", "visits": "integer", "city_a": "onehot", "city_b": "onehot",
            "city_c": "onehot", "sex_f": "onehot", "sex_m": "onehot", "scaled": "continuous",
        },
        "onehot": {"city": ["city_a", "city_b", "city_c"], "sex": ["sex_f", "sex_m"]},
    }
    # Without groups a one-hot column is a binary column of its own.
    assert ColumnTypes.infer(table(), feature_names=NAMES).kinds[3:8] == ("binary",) * 5


def test_a_dropped_first_category_is_an_all_zero_category():
    X = table()
    X[:, 3] = 0.0  # city_a dropped: rows of city a are all zero in the other two columns
    types = ColumnTypes.infer(X[:, [0, 4, 5]], FeatureGroups.from_dict({"city": ["b", "c"]}, ["x", "b", "c"]))
    assert types.onehot == ((1, 2),) and types.onehot_none == (True,)


def test_overrides_and_their_errors():
    X = table()
    types = ColumnTypes.infer(X, GROUPS, {"visits": "continuous", "sex": "independent", "smoker": "continuous"})
    assert types.kinds[:3] == ("continuous", "continuous", "continuous")
    assert types.kinds[6:8] == ("binary", "binary") and types.onehot == ((3, 4, 5),)
    # A column of a one-hot group dissolves the group.
    assert ColumnTypes.infer(X, GROUPS, {"city_a": "binary"}).onehot == ((6, 7),)
    with pytest.raises(UnknownNameError, match="nope"):
        ColumnTypes.infer(X, GROUPS, {"nope": "binary"})
    with pytest.raises(InvalidInputError, match="binary"):
        ColumnTypes.infer(X, GROUPS, {"visits": "binary"})
    with pytest.raises(InvalidInputError, match="integer"):
        ColumnTypes.infer(X, GROUPS, {"age": "integer"})
    with pytest.raises(InvalidInputError, match="onehot"):
        ColumnTypes.infer(X, GROUPS, {"age": "onehot"})
    with pytest.raises(InvalidInputError):
        ColumnTypes.infer(np.full((3, 9), np.nan), GROUPS)
    bad = X.copy()
    bad[0, 3:6] = 1.0
    assert ColumnTypes.infer(bad, GROUPS).onehot == ((6, 7),)
    with pytest.raises(InvalidInputError, match="one-hot"):
        ColumnTypes.infer(bad, GROUPS, {"city": "onehot"})


def test_tabular_perturbation_keeps_every_column_in_its_type():
    X = table()
    types = ColumnTypes.infer(X, GROUPS)
    rows, before = X[:20].copy(), X[:20].copy()
    K, p = 2000, 0.2
    scale = 0.3 * X.std(axis=0)
    out = perturb(np.random.default_rng(1), rows, K, types, scale=scale, flip_probability=p)
    np.testing.assert_array_equal(rows, before)
    assert out.shape == (20, K, 9)
    # binary: only its two values, flipped with probability p (4 sigma of a binomial share)
    flipped = out[:, :, 1] != rows[:, None, 1]
    assert set(np.unique(out[:, :, 1])) <= {0.0, 1.0}
    assert abs(flipped.mean() - p) < 4 * np.sqrt(p * (1 - p) / flipped.size)
    # integer: integral, within the background's range, mean change = the noise's (stochastic rounding)
    visits = out[:, :, 2]
    assert np.all(visits == np.round(visits)) and visits.min() >= X[:, 2].min() and visits.max() <= X[:, 2].max()
    np.testing.assert_allclose(np.abs(visits - rows[:, None, 2]).mean(), np.sqrt(2 / np.pi) * scale[2], rtol=0.1)
    # one-hot: a valid category in every draw; switched with probability p, to each other category equally often
    for cols in ([3, 4, 5], [6, 7]):
        block = out[:, :, cols]
        assert np.all(block.sum(axis=2) == 1) and set(np.unique(block)) <= {0.0, 1.0}
        switched = np.any(block != rows[:, None, cols], axis=2)
        assert abs(switched.mean() - p) < 4 * np.sqrt(p * (1 - p) / switched.size)
    first_row_city = out[0, :, 3:6].argmax(axis=1)
    current = rows[0, 3:6].argmax()
    others = [c for c in range(3) if c != current]
    counts = np.array([(first_row_city == c).sum() for c in others])
    assert abs(counts[0] - counts[1]) < 4 * np.sqrt(counts.sum())
    # continuous: Gaussian noise of the given scale
    np.testing.assert_allclose((out[:, :, 0] - rows[:, None, 0]).std(), scale[0], rtol=0.05)


def test_continuous_kind_is_gaussian_noise_on_every_column():
    X = table()
    types = ColumnTypes.infer(X, GROUPS)
    scale = 0.1 * X.std(axis=0)
    out = perturb(np.random.default_rng(5), X[:4], 7, types, scale=scale, flip_probability=0.5, kind="continuous")
    expected = X[:4, None, :] + np.random.default_rng(5).standard_normal((4, 7, 9)) * scale
    np.testing.assert_array_equal(out, expected)
    # On a table of continuous columns, "tabular" draws the same rows.
    cont = np.random.default_rng(2).normal(size=(30, 3))
    ct = ColumnTypes.infer(cont)
    a = perturb(np.random.default_rng(3), cont[:5], 4, ct, scale=np.ones(3), flip_probability=0.3)
    b = perturb(np.random.default_rng(3), cont[:5], 4, ct, scale=np.ones(3), flip_probability=0.3, kind="continuous")
    np.testing.assert_array_equal(a, b)


def test_openxai_kind_flips_every_discrete_column_on_its_own():
    X = table()
    types = ColumnTypes.infer(X, GROUPS)
    out = perturb(np.random.default_rng(0), X[:20], 2000, types, scale=np.full(9, 0.05), flip_probability=0.3,
                  kind="openxai")
    # one-hot columns flip independently, so some draws have zero or two hot cities
    hot = out[:, :, 3:6].sum(axis=2)
    assert np.any(hot != 1)
    assert set(np.unique(out[:, :, 3:8])) <= {0.0, 1.0}
    # integer columns get the absolute noise and are not rounded
    assert not np.all(out[:, :, 2] == np.round(out[:, :, 2]))
    np.testing.assert_allclose((out[:, :, 0] - X[:20, None, 0]).std(), 0.05, rtol=0.05)


def test_only_selected_columns_move_and_a_partial_onehot_group_stays():
    X = table()
    types = ColumnTypes.infer(X, GROUPS)
    columns = np.zeros((5, 9), dtype=bool)
    columns[:, [0, 3, 4]] = True  # city only partly selected
    mask_before = columns.copy()
    out = perturb(np.random.default_rng(0), X[:5], 50, types, scale=X.std(axis=0), flip_probability=1.0,
                  columns=columns)
    np.testing.assert_array_equal(columns, mask_before)
    np.testing.assert_array_equal(out[:, :, 1:], np.broadcast_to(X[:5, None, 1:], (5, 50, 8)))
    assert np.all(out[:, :, 0] != X[:5, None, 0])


def test_perturb_errors():
    X = table()
    types = ColumnTypes.infer(X, GROUPS)
    rng = np.random.default_rng(0)
    with pytest.raises(InvalidInputError, match="perturbation"):
        perturb(rng, X[:2], 3, types, scale=np.ones(9), flip_probability=0.1, kind="nope")
    with pytest.raises(InvalidInputError, match="flip_probability"):
        perturb(rng, X[:2], 3, types, scale=np.ones(9), flip_probability=1.5)
    with pytest.raises(InvalidInputError, match="columns"):
        perturb(rng, X[:2, :5], 3, types, scale=np.ones(5), flip_probability=0.1)
