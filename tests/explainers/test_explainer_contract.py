"""One contract, every registered explainer (in the spirit of scikit-learn's parametrize_with_checks).

Small budgets keep the suite fast; correctness against oracles lives in each module's tests.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression

from agnostic_xai import Attribution, FeatureGroups, wrap
from agnostic_xai._params import clone
from agnostic_xai.exceptions import IncompatibleModelError, InvalidInputError, NotFittedError
from agnostic_xai.explainers import available, get, get_class
from agnostic_xai.testing import make_mlp

# Budgets small enough for a contract test, large enough to be meaningful.
FAST = {
    "integrated_gradients": {"n_steps": 8},
    "smoothgrad": {"n_samples": 8},
    "expected_gradients": {"n_samples": 16},
    "kernel_shap": {"n_samples": 20},  # below the 2**5 - 2 coalitions, so it samples
    "gradient_shap": {"n_samples": 16},
    "permutation_shap": {"max_evals": 40},
    "lime": {"n_samples": 200},
    "sampling_shapley": {"n_permutations": 8},
    "surrogate_tree": {"n_samples": 200},
}
NAMES = available()
D = 5
FEATURES = [f"f{i}" for i in range(D)]


def make(name: str, **params):
    return get(name, **{**FAST.get(name, {}), **params})


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(7)
    return rng.normal(size=(6, D)), rng.normal(size=(12, D))


@pytest.fixture(scope="module")
def models():
    return {
        "multiclass": wrap(make_mlp(D, 3, (8,), seed=1, dtype=torch.float64), output="logit", feature_names=FEATURES),
        "binary": wrap(
            make_mlp(D, 1, (8,), seed=2, dtype=torch.float64), task="classification", feature_names=FEATURES
        ),
        "regression": wrap(make_mlp(D, 1, (8,), seed=3, dtype=torch.float64), feature_names=FEATURES),
    }


def test_registry_lists_every_explainer_of_the_issue():
    expected = {
        "saliency", "input_x_gradient", "integrated_gradients", "smoothgrad", "expected_gradients", "deep_lift",
        "feature_ablation", "kernel_shap", "deep_shap", "gradient_shap", "permutation_shap", "exact_shap",
        "exact_shapley", "sampling_shapley", "lime", "surrogate_tree", "random",
    }
    assert set(NAMES) == expected


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("task", ["multiclass", "binary", "regression"])
def test_shapes_types_names_and_costs(name, task, models, data):
    X, background = data
    adapter = models[task]
    X_before, background_before = X.copy(), background.copy()
    explainer = make(name).fit(adapter, background)
    result = explainer.explain(X)
    assert isinstance(result, Attribution) and result.method == name
    assert result.values.shape == (6, D) and result.values.dtype == np.float64
    assert result.base_values.shape == (6,) and np.isfinite(result.values).all()
    assert result.feature_names == tuple(FEATURES) and result.output == adapter.output
    np.testing.assert_array_equal(result.data, X)
    expected_target = adapter.predict(X).argmax(1) if adapter.task == "classification" else np.zeros(6)
    np.testing.assert_array_equal(result.target, expected_target)
    # A surrogate spends its model rows in fit; every explainer evaluates the model somewhere.
    assert result.seconds > 0 and result.model_rows >= 0
    assert result.model_rows + explainer.fit_model_rows_ > 0
    np.testing.assert_array_equal(X, X_before)
    np.testing.assert_array_equal(background, background_before)


@pytest.mark.parametrize("name", NAMES)
def test_targets_int_and_per_row(name, models, data):
    X, background = data
    explainer = make(name).fit(models["multiclass"], background)
    per_row = np.array([0, 1, 2, 2, 1, 0])
    np.testing.assert_array_equal(explainer.explain(X, target=per_row).target, per_row)
    np.testing.assert_array_equal(explainer.explain(X, target=2).target, np.full(6, 2))
    with pytest.raises(InvalidInputError, match="out of range"):
        explainer.explain(X, target=3)


@pytest.mark.parametrize("name", NAMES)
def test_seeds(name, models, data):
    X, background = data
    cls = get_class(name)
    first = make(name, **({"random_state": 11} if cls.is_stochastic else {})).fit(models["multiclass"], background)
    again = clone(first).fit(models["multiclass"], background)
    np.testing.assert_array_equal(first.explain(X).values, again.explain(X).values)
    if cls.is_stochastic:
        other = make(name, random_state=12).fit(models["multiclass"], background)
        assert not np.array_equal(first.explain(X).values, other.explain(X).values)
    else:
        assert "random_state" not in first.get_params()


@pytest.mark.parametrize("name", NAMES)
def test_clone_and_params_round_trip(name):
    explainer = make(name)
    copy = clone(explainer)
    assert type(copy) is type(explainer) and copy is not explainer
    assert copy.get_params().keys() == explainer.get_params().keys()
    for key, value in explainer.get_params().items():
        assert copy.get_params()[key] == value or (value is None and copy.get_params()[key] is None)
    with pytest.raises(InvalidInputError, match="no parameters"):
        explainer.set_params(not_a_parameter=1)
    with pytest.raises(NotFittedError):
        make(name).explain(np.zeros((1, D)))


@pytest.mark.parametrize("name", NAMES)
def test_groups_are_honoured_or_refused_clearly(name, models, data):
    X, background = data
    groups = FeatureGroups.from_dict({"g01": ["f0", "f1"], "g34": ["f3", "f4"]}, FEATURES)
    explainer = make(name)
    if not get_class(name).supports_groups:
        with pytest.raises(IncompatibleModelError, match="groups"):
            explainer.fit(models["multiclass"], background, groups=groups)
        return
    result = explainer.fit(models["multiclass"], background, groups=groups).explain(X)
    assert result.values.shape == (6, 3) and result.feature_names == ("g01", "f2", "g34")
    assert result.groups == groups and result.data.shape == (6, D)


@pytest.mark.parametrize("name", NAMES)
def test_scikit_learn_models(name, data):
    X, background = data
    y = (X[:, 0] > 0).astype(int)
    rng = np.random.default_rng(0)
    train = rng.normal(size=(40, D))
    model = wrap(LogisticRegression().fit(train, (train[:, 0] + train[:, 1] > 0).astype(int)))
    explainer = make(name)
    if get_class(name).requires_gradients:
        with pytest.raises(IncompatibleModelError, match="gradients"):
            explainer.fit(model, background)
        return
    result = explainer.fit(model, background).explain(X)
    assert result.values.shape == (6, D) and np.isfinite(result.values).all()
    assert y.shape == (6,)


@pytest.mark.parametrize("name", NAMES)
def test_bad_input_is_refused_before_work(name, models, data):
    X, background = data
    explainer = make(name).fit(models["multiclass"], background)
    with pytest.raises(InvalidInputError, match="NaN"):
        explainer.explain(np.where(np.eye(6, D) > 0, np.nan, X))
    with pytest.raises(InvalidInputError, match="columns"):
        explainer.explain(X[:, :3])
    with pytest.raises(InvalidInputError, match="background"):
        make(name).fit(models["multiclass"], background[:, :3])
