"""Agreement metrics: loop references, scipy cross-checks and hypothesis properties."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.stats import spearmanr

from agnostic_xai import Attribution, metrics
from agnostic_xai.exceptions import InvalidInputError, UnknownNameError
from agnostic_xai.metrics.agreement import (
    agreement_matrix,
    feature_agreement,
    pairwise_rank_agreement,
    rank_agreement,
    rank_correlation,
    resolve_k,
    sign_agreement,
    signed_rank_agreement,
)

TOP_K = ["feature_agreement", "rank_agreement", "sign_agreement", "signed_rank_agreement"]
ALL = TOP_K + ["rank_correlation", "pairwise_rank_agreement"]


def make_attr(values: np.ndarray, method: str = "a") -> Attribution:
    values = np.asarray(values, dtype=np.float64)
    n, m = values.shape
    return Attribution(
        values=values,
        base_values=np.zeros(n),
        data=np.zeros((n, m)),
        target=np.zeros(n, dtype=int),
        feature_names=tuple(f"x{i}" for i in range(m)),
        method=method,
    )


# ---------------------------------------------------------------- independent references (plain loops)
def ref_order(row, k):
    return sorted(range(len(row)), key=lambda i: (-abs(row[i]), i))[:k]


def ref_sign(v):
    return int(v > 0) - int(v < 0)


def ref_topk(a, b, k, kind):
    out = []
    for ra, rb in zip(a, b):
        oa, ob = ref_order(ra, k), ref_order(rb, k)
        if kind == "feature_agreement":
            out.append(len(set(oa) & set(ob)) / k)
        elif kind == "rank_agreement":
            out.append(sum(x == y for x, y in zip(oa, ob)) / k)
        elif kind == "sign_agreement":
            out.append(sum(1 for f in set(oa) & set(ob) if ref_sign(ra[f]) == ref_sign(rb[f])) / k)
        else:
            out.append(sum(1 for x, y in zip(oa, ob) if x == y and ref_sign(ra[x]) == ref_sign(rb[y])) / k)
    return np.array(out)


def ref_pairwise(a, b):
    out = []
    for ra, rb in zip(a, b):
        pairs = list(itertools.combinations(range(len(ra)), 2))
        same = sum(
            ref_sign(abs(ra[i]) - abs(ra[j])) == ref_sign(abs(rb[i]) - abs(rb[j])) for i, j in pairs
        )
        out.append(same / len(pairs))
    return np.array(out)


def ref_spearman(a, b):
    out = []
    for ra, rb in zip(a, b):
        if np.ptp(np.abs(ra)) == 0 or np.ptp(np.abs(rb)) == 0:
            out.append(np.nan)
        else:
            out.append(spearmanr(np.abs(ra), np.abs(rb)).statistic)
    return np.array(out)


FUNCS = {
    "feature_agreement": feature_agreement,
    "rank_agreement": rank_agreement,
    "sign_agreement": sign_agreement,
    "signed_rank_agreement": signed_rank_agreement,
}

# Small integers give many ties and zeros, which is where tie-breaking and sign rules matter.
# No subnormals: scaling 5e-324 by 0.25 underflows to 0 and changes the order of |φ|, which
# no positive scaling of representable magnitudes does.
values_strategy = st.one_of(
    st.integers(-3, 3).map(float),
    st.floats(-100, 100, allow_nan=False, allow_infinity=False, allow_subnormal=False, width=64),
)


@st.composite
def pairs(draw):
    n = draw(st.integers(1, 5))
    m = draw(st.integers(2, 9))
    a = draw(arrays(np.float64, (n, m), elements=values_strategy))
    b = draw(arrays(np.float64, (n, m), elements=values_strategy))
    k = draw(st.integers(1, m))
    return a, b, k


# ---------------------------------------------------------------- against the references
@settings(max_examples=60, deadline=None)
@given(pairs())
def test_top_k_measures_match_loop_reference(data):
    a, b, k = data
    for name, func in FUNCS.items():
        np.testing.assert_allclose(func(a, b, k), ref_topk(a, b, k, name), rtol=0, atol=1e-12, err_msg=name)


@settings(max_examples=60, deadline=None)
@given(pairs())
def test_rank_measures_match_scipy_and_loops(data):
    a, b, _ = data
    np.testing.assert_allclose(rank_correlation(a, b), ref_spearman(a, b), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(pairwise_rank_agreement(a, b), ref_pairwise(a, b), rtol=0, atol=1e-12)


# ---------------------------------------------------------------- properties
@settings(max_examples=60, deadline=None)
@given(pairs(), st.sampled_from([0.25, 0.5, 2.0, 8.0, 1024.0]))
def test_symmetric_bounded_identity_and_scale_invariant(data, scale):
    a, b, k = data
    for name in ALL:
        params = {"k": k} if name in TOP_K else {}
        metric = metrics.get(name, **params)
        ab = metric(make_attr(a), make_attr(b)).scores
        ba = metric(make_attr(b), make_attr(a)).scores
        np.testing.assert_array_equal(ab, ba, err_msg=f"{name} is not symmetric")
        lower = -1.0 if name == "rank_correlation" else 0.0
        finite = ab[np.isfinite(ab)]
        assert np.all((finite >= lower - 1e-12) & (finite <= 1 + 1e-12)), name
        # Powers of two scale exactly, so the order of |φ| (ties included) is unchanged.
        np.testing.assert_array_equal(metric(make_attr(scale * a), make_attr(b)).scores, ab, err_msg=name)
        same = metric(make_attr(a), make_attr(a)).scores
        if name == "rank_correlation":
            constant = np.ptp(np.abs(a), axis=1) == 0
            assert np.all(np.isnan(same[constant]))
            np.testing.assert_allclose(same[~constant], 1.0, rtol=0, atol=1e-12)
        else:
            np.testing.assert_array_equal(same, 1.0, err_msg=name)


def test_ties_are_broken_by_column_index():
    a = np.array([[1.0, 1.0, 0.5]])  # x0 and x1 tie for first; x0 ranks first
    b = np.array([[0.0, 1.0, 0.5]])
    assert rank_agreement(a, b, 1)[0] == 0.0  # a: x0, b: x1
    assert feature_agreement(a, b, 2)[0] == 0.5  # a: {x0, x1}, b: {x1, x2}


def test_sign_measures_distinguish_sign_flips():
    a = np.array([[3.0, -2.0, 1.0]])
    b = np.array([[3.0, 2.0, 1.0]])
    assert feature_agreement(a, b, 2)[0] == 1.0
    assert sign_agreement(a, b, 2)[0] == 0.5
    assert signed_rank_agreement(a, b, 2)[0] == 0.5
    # Ranking ignores signs entirely.
    assert rank_correlation(a, b)[0] == pytest.approx(1.0)


def test_reversed_ranking_is_minus_one_and_no_pair_agrees():
    a = np.array([[1.0, 2.0, 3.0, 4.0]])
    b = a[:, ::-1]
    assert rank_correlation(a, b)[0] == pytest.approx(-1.0)
    assert pairwise_rank_agreement(a, b)[0] == 0.0


def test_feature_subset_restricts_the_comparison():
    a = np.array([[4.0, 3.0, 2.0, 1.0]])
    b = np.array([[4.0, 3.0, 1.0, 2.0]])
    assert pairwise_rank_agreement(a, b, features=[0, 1, 2])[0] == 1.0
    assert pairwise_rank_agreement(a, b)[0] == pytest.approx(5 / 6)
    assert rank_correlation(a, b, features=[0, 1])[0] == pytest.approx(1.0)
    with pytest.raises(InvalidInputError):
        pairwise_rank_agreement(a, b, features=[0])
    with pytest.raises(InvalidInputError):
        rank_correlation(a, b, features=[0, 7])


# ---------------------------------------------------------------- k and validation
def test_fractional_k():
    assert resolve_k(0.5, 6) == 3
    assert resolve_k(0.2, 30) == 6  # 0.2 * 30 is 6.000000000000001 in floating point
    assert resolve_k(0.01, 6) == 1
    assert resolve_k(1.0, 6) == 6


@pytest.mark.parametrize("k", [0, 7, -1, 1.5, 0.0, True, "3", float("nan")])
def test_k_out_of_range(k):
    a = np.ones((2, 6))
    with pytest.raises(InvalidInputError):
        metrics.get("feature_agreement", k=k)(make_attr(a), make_attr(a))


def test_default_k_covers_small_feature_sets_but_an_explicit_k_must_fit():
    a = np.arange(8.0).reshape(2, 4)
    np.testing.assert_array_equal(metrics.get("rank_agreement")(make_attr(a), make_attr(a)).scores, 1.0)
    with pytest.raises(InvalidInputError, match="k=5"):
        metrics.get("rank_agreement", k=5)(make_attr(a), make_attr(a))


@pytest.mark.parametrize("name", ALL)
def test_bad_inputs(name):
    metric = metrics.get(name, **({"k": 2} if name in TOP_K else {}))
    a = make_attr(np.arange(6.0).reshape(2, 3))
    with pytest.raises(InvalidInputError):
        metric(a, make_attr(np.arange(8.0).reshape(2, 4)))
    with pytest.raises(InvalidInputError):
        metric(a, np.arange(6.0).reshape(2, 3))
    with pytest.raises(InvalidInputError):
        FUNCS.get(name, rank_correlation)(np.array([[np.nan, 1.0, 2.0]]), np.ones((1, 3)))
    with pytest.raises(InvalidInputError):
        FUNCS.get(name, rank_correlation)(np.ones((1, 3)), np.ones((2, 3)))


def test_metadata():
    for name in ALL:
        cls = metrics.get_class(name)
        assert cls.family == "agreement" and cls.higher_is_better
    assert set(metrics.available("agreement")) == set(ALL)


# ---------------------------------------------------------------- agreement_matrix
def test_agreement_matrix():
    rng = np.random.default_rng(0)
    base = rng.normal(size=(6, 5))
    noisy = base + 0.5 * rng.normal(size=base.shape)
    records = {"a": make_attr(base), "b": make_attr(noisy), "c": make_attr(-2 * base)}
    table = agreement_matrix(records, "feature_agreement", k=2)
    assert isinstance(table, pd.DataFrame)
    assert list(table.index) == list(table.columns) == ["a", "b", "c"]
    np.testing.assert_array_equal(table.to_numpy(), table.to_numpy().T)
    np.testing.assert_array_equal(np.diag(table.to_numpy()), 1.0)
    assert table.loc["a", "c"] == 1.0  # same |φ| ranking
    expected = metrics.get("feature_agreement", k=2)(records["a"], records["b"]).value
    assert table.loc["a", "b"] == expected
    default = agreement_matrix(records)
    assert default.loc["a", "b"] == pytest.approx(rank_correlation(base, records["b"].values).mean())


def test_agreement_matrix_errors():
    record = {"a": make_attr(np.ones((1, 3)))}
    with pytest.raises(UnknownNameError):
        agreement_matrix(record, "nope")
    with pytest.raises(InvalidInputError):
        agreement_matrix(record, "sparseness")
    with pytest.raises(InvalidInputError):
        agreement_matrix({})
    with pytest.raises(InvalidInputError):
        agreement_matrix(record, metrics.get("feature_agreement", k=1), k=2)
