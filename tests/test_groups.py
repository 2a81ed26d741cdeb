import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from agnostic_xai import FeatureGroups
from agnostic_xai.datasets import load_breast_cancer
from agnostic_xai.exceptions import InvalidInputError


def test_from_prefixes_groups_only_shared_prefixes():
    groups = FeatureGroups.from_prefixes(["age", "purpose_car", "purpose_tv", "income_log", "sex_m", "sex_f"])
    assert groups.names == ("age", "purpose", "income_log", "sex")
    assert groups.indices == ((0,), (1, 2), (3,), (4, 5))
    np.testing.assert_array_equal(groups.expand([False, True, False, True]), [False, True, True, False, True, True])


def test_from_dict_fills_in_single_columns():
    groups = FeatureGroups.from_dict({"loc": ["lat", "lon"]}, ["x", "lat", "lon", "y"])
    assert groups.names == ("x", "loc", "y")
    assert groups.to_dict() == {"x": ["x"], "loc": ["lat", "lon"], "y": ["y"]}
    with pytest.raises(InvalidInputError, match="unknown column 'z'"):
        FeatureGroups.from_dict({"g": ["z"]}, ["x"])


def test_partition_is_enforced():
    with pytest.raises(InvalidInputError, match="more than one feature group"):
        FeatureGroups(("a", "b"), ((0, 1), (1,)), ("x", "y"))
    with pytest.raises(InvalidInputError, match="belong to no feature group"):
        FeatureGroups(("a",), ((0,),), ("x", "y"))
    with pytest.raises(InvalidInputError, match="empty"):
        FeatureGroups(("a", "b"), ((0, 1), ()), ("x", "y"))


def test_from_column_transformer_groups_one_hot_columns():
    frame = pd.DataFrame({"colour": ["r", "g", "b", "r"], "size": [1.0, 2.0, 3.0, 4.0], "kind": ["u", "v", "u", "v"]})
    transformer = ColumnTransformer(
        [("cat", OneHotEncoder(), ["colour", "kind"]), ("num", StandardScaler(), ["size"])]
    ).fit(frame)
    groups = FeatureGroups.from_column_transformer(transformer)
    assert groups.names == ("colour", "kind", "num__size")
    assert groups.indices == ((0, 1, 2), (3, 4), (5,))
    assert groups.n_features == transformer.transform(frame).shape[1]


def test_breast_cancer_has_ten_measurements_of_three_columns():
    X, y, groups = load_breast_cancer()
    assert X.shape == (569, 30) and y.shape == (569,)
    assert groups.n_groups == 10 and all(len(c) == 3 for c in groups.indices)
    assert groups.to_dict()["radius"] == ["mean radius", "radius error", "worst radius"]
