import numpy as np
import pytest
from scipy import stats

from agnostic_xai import Attribution
from agnostic_xai.exceptions import InvalidInputError
from agnostic_xai.review import Policy, cohort_analysis, file_sha256


def test_policy_from_mapping_and_required_work():
    policy = Policy.from_mapping(
        {"explainer": "lime", "reference": "kernel_shap", "thresholds": {"agreement": 0.5, "shapley_error": 0.1}}
    )
    assert policy.reference == ("kernel_shap",) and policy.agreement == 0.5 and policy.shapley_error == 0.1
    assert policy.required_explainers() == ["lime", "kernel_shap", "surrogate_tree", "random"]
    assert policy.required_metrics() == ["deletion_auc", "seed_stability", "randomization_sanity", "shapley_error"]


@pytest.mark.parametrize(
    "data, match",
    [
        ({"thresholds": {}}, "must name the explainer"),
        ({"explainer": "lime", "thresholds": {"agreemnt": 0.5}}, "Unknown policy thresholds"),
        ({"explainer": "lime", "colour": "red"}, "Unknown policy keys"),
        ({"explainer": "lime", "thresholds": {"agreement": "high"}}, "must be a number"),
        ({"explainer": "lime", "thresholds": {"agreement_k": 0}}, "positive int"),
    ],
)
def test_bad_policies(data, match):
    with pytest.raises(InvalidInputError, match=match):
        Policy.from_mapping(data)


def test_cohort_analysis_matches_scipy_and_holm(rng):
    n, m = 60, 3
    values = rng.normal(size=(n, m))
    cohorts = np.array(["a", "b", "c"] * 20)
    values[cohorts == "c", 0] *= 4  # feature 0 matters more in cohort c
    attribution = Attribution(values, np.zeros(n), rng.normal(size=(n, m)), np.zeros(n, int), ["f0", "f1", "f2"], "t")
    result = cohort_analysis(attribution, cohorts)
    for j, feature in enumerate(["f0", "f1", "f2"]):
        expected = stats.kruskal(*(np.abs(values[cohorts == c, j]) for c in "abc"))
        assert result.loc[feature, "p_value"] == pytest.approx(expected.pvalue, rel=1e-12)
        assert result.loc[feature, "mean |φ| (c)"] == pytest.approx(np.abs(values[cohorts == "c", j]).mean())
    p = result["p_value"].to_numpy()
    order = np.argsort(p)
    holm = np.maximum.accumulate(np.minimum(1, (m - np.arange(m)) * p[order]))
    np.testing.assert_allclose(result["p_holm"].to_numpy()[order], holm)
    assert result.loc["f0", "differs"] and result.attrs["cohort_sizes"] == {"a": 20, "b": 20, "c": 20}
    with pytest.raises(InvalidInputError, match="single value"):
        cohort_analysis(attribution, np.array(["a"] * n))


def test_file_sha256(tmp_path):
    import hashlib

    path = tmp_path / "f.bin"
    path.write_bytes(b"x" * 3_000_000)
    assert file_sha256(path) == hashlib.sha256(b"x" * 3_000_000).hexdigest()
