"""Reading tables: encoding, feature groups, shared encodings, and one clear error per bad file."""

from __future__ import annotations

import gzip

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agnostic_xai.exceptions import AgnosticXAIError, InvalidInputError, NotFittedError
from agnostic_xai.io import Table, TableEncoder, encode_like, load_table, read_frame

DATA = "age,city,smoker,income,label\n30,Rome,True,1.5,yes\n40,Oslo,False,2.5,no\n50,Rome,True,3.0,no\n"


def _write(tmp_path, name, content):
    path = tmp_path / name
    if isinstance(content, str):
        content = content.encode()
    path.write_bytes(gzip.compress(content) if name.endswith(".gz") else content)
    return path


@pytest.mark.parametrize("name", ["data.csv", "data.csv.gz", "data.parquet"])
def test_categorical_column_is_one_hot_encoded_as_one_group(tmp_path, name):
    if name.endswith(".parquet"):
        path = tmp_path / name
        pd.read_csv(_write(tmp_path, "raw.csv", DATA)).to_parquet(path)
    else:
        path = _write(tmp_path, name, DATA)
    table = load_table(path, target="label")
    assert table.feature_names == ("age", "city=Oslo", "city=Rome", "smoker", "income")
    assert table.groups.names == ("age", "city", "smoker", "income")
    assert table.groups.indices == ((0,), (1, 2), (3,), (4,))
    assert table.source_columns == ("age", "city", "smoker", "income")
    assert table.encoding == {"city": ["Oslo", "Rome"]}
    assert all(dtype == np.float64 for dtype in table.X.dtypes)
    expected = np.array([[30, 0, 1, 1, 1.5], [40, 1, 0, 0, 2.5], [50, 0, 1, 1, 3.0]], dtype=float)
    np.testing.assert_array_equal(table.X.to_numpy(), expected)
    assert table.classes == ("no", "yes")
    np.testing.assert_array_equal(table.y, [1, 0, 0])
    assert table.target == "label" and "label" not in table.X.columns


def test_numeric_target_is_kept_as_is(tmp_path):
    table = load_table(_write(tmp_path, "d.csv", "a,y\n1,0.5\n2,1.5\n"), target="y")
    np.testing.assert_array_equal(table.y, [0.5, 1.5])
    assert table.classes is None and table.feature_names == ("a",)


def test_columns_selects_and_orders_features(tmp_path):
    table = load_table(_write(tmp_path, "d.csv", DATA), target="label", columns=["income", "city"])
    assert table.feature_names == ("income", "city=Oslo", "city=Rome")
    with pytest.raises(InvalidInputError, match=r"columns \['nope'\] are not in the table"):
        load_table(_write(tmp_path, "e.csv", DATA), columns=["nope"])
    with pytest.raises(InvalidInputError, match="cannot also be a feature"):
        load_table(_write(tmp_path, "f.csv", DATA), target="label", columns=["label", "age"])


def test_background_is_encoded_like_the_data_even_without_some_levels(tmp_path):
    data = load_table(_write(tmp_path, "data.csv", DATA), target="label")
    background = load_table(_write(tmp_path, "bg.csv", "age,city,smoker,income\n35,Rome,False,2.0\n"), like=data)
    assert background.feature_names == data.feature_names  # 'city=Oslo' kept, all zeros
    np.testing.assert_array_equal(background.X.to_numpy(), [[35, 0, 1, 0, 2.0]])
    assert background.y is None and background.groups == data.groups
    frame = pd.DataFrame({"income": [1.0], "city": ["Oslo"], "smoker": [True], "age": [20]})
    np.testing.assert_array_equal(encode_like(frame, data).X.to_numpy(), [[20, 1, 0, 1, 1.0]])
    with pytest.raises(InvalidInputError, match=r"levels \['Paris'\].*fit\(data, background\)"):
        load_table(_write(tmp_path, "bg2.csv", "age,city,smoker,income\n35,Paris,False,2.0\n"), like=data)
    with pytest.raises(InvalidInputError, match=r"lacks the feature columns \['income'\]"):
        load_table(_write(tmp_path, "bg3.csv", "age,city,smoker\n35,Rome,False\n"), like=data)
    with pytest.raises(InvalidInputError, match="cannot be changed"):
        load_table(_write(tmp_path, "bg4.csv", DATA), like=data, impute="mean")


def test_encoder_fitted_on_data_and_background_shares_levels():
    data = pd.DataFrame({"c": ["a", "b"], "x": [1.0, 2.0]})
    background = pd.DataFrame({"c": ["c", "a"], "x": [3.0, 4.0]})
    encoder = TableEncoder().fit(data, background)
    X_data, _ = encoder.transform(data)
    X_background, _ = encoder.transform(background)
    assert list(X_data.columns) == list(X_background.columns) == ["c=a", "c=b", "c=c", "x"]
    np.testing.assert_array_equal(X_background.to_numpy(), [[0, 0, 1, 3], [1, 0, 0, 4]])
    with pytest.raises(NotFittedError):
        TableEncoder().transform(data)


def test_fixed_categories():
    frame = pd.DataFrame({"c": ["a", "a"]})
    X, _ = TableEncoder(categories={"c": ["a", "b", "z"]}).fit_transform(frame)
    assert list(X.columns) == ["c=a", "c=b", "c=z"]
    with pytest.raises(InvalidInputError, match="not in its fixed categories"):
        TableEncoder(categories={"c": ["b"]}).fit(frame)


def test_missing_values_error_names_columns_and_imputation_works(tmp_path):
    path = _write(tmp_path, "d.csv", "a,b,c,y\n1,,x,0\n,4,,1\n3,5,x,1\n7,6,z,0\n")
    with pytest.raises(InvalidInputError, match=r"\{'a': 1, 'b': 1, 'c': 1\}.*impute="):
        load_table(path, target="y")
    mean = load_table(path, target="y", impute="mean")
    np.testing.assert_allclose(mean.X["a"], [1, 11 / 3, 3, 7])
    np.testing.assert_allclose(mean.X["b"], [5, 4, 5, 6])
    np.testing.assert_array_equal(mean.X["c=x"], [1, 1, 1, 0])  # most frequent level
    median = load_table(path, target="y", impute="median")
    np.testing.assert_allclose(median.X["a"], [1, 3, 3, 7])
    # The data's statistics fill the background's gaps.
    background = load_table(_write(tmp_path, "bg.csv", "a,b,c\n,,\n"), like=mean)
    np.testing.assert_allclose(background.X.to_numpy(), [[11 / 3, 5, 1, 0]])
    with pytest.raises(InvalidInputError, match="impute must be one of"):
        load_table(path, impute="zero")
    with pytest.raises(InvalidInputError, match=r"Target column 'y' has 1 missing values"):
        load_table(_write(tmp_path, "t.csv", "a,y\n1,\n2,1\n"), target="y")


def test_boolean_columns_become_zero_one(tmp_path):
    table = load_table(_write(tmp_path, "d.csv", "flag,x\nTrue,1\nFalse,2\n,3\n"), impute="most_frequent")
    np.testing.assert_array_equal(table.X["flag"], [1, 0, 0])  # tie between True and False -> False
    assert table.groups.names == ("flag", "x")


BAD_FILES = [
    pytest.param("d.csv", b"", "is empty", id="empty"),
    pytest.param("d.csv", b"a,b\n", "header but no rows", id="header-only"),
    pytest.param("d.csv", b"a,b\n1,2\n3,4,5\n", "ragged rows: line 3 has 3", id="ragged-long"),
    pytest.param("d.csv", b"a,b\n1,2,3\n4,5,6\n", "ragged rows: line 2", id="ragged-every-row"),
    pytest.param("d.csv", b"a,b\n1,2\n3\n", "ragged rows: line 3 has 1", id="ragged-short"),
    pytest.param("d.csv", "a,b\ncaf\xe9,1\n".encode("latin1"), "not UTF-8.*0xe9.*expected encoding is UTF-8",
                 id="latin1"),
    pytest.param("d.csv", b"a,b,a\n1,2,3\n", r"duplicate column names \['a'\]", id="duplicate-header"),
    pytest.param("d.csv", b"a,b\n1,1e400\n2,3\n", "Column 'b' has infinite values or numbers too large",
                 id="overflow"),
    pytest.param("d.csv", b"a,b\n1,10" + b"0" * 400 + b"\n2,3\n", "'b' holds numbers too large", id="huge-int"),
    pytest.param("d.csv", b",a\n0,1\n", "no name.*index=False", id="unnamed-index"),
    pytest.param("d.csv", b"c,c=x\nx,1\ny,2\n", "clash", id="one-hot-name-clash"),
    pytest.param("d.csv", ("id,v\n" + "".join(f"u{i},{i}\n" for i in range(51))).encode(),
                 "'id' has 51 distinct values, more than max_levels=50", id="identifier-column"),
    pytest.param("d.csv.gz", None, "not a valid gzip", id="bad-gzip"),
    pytest.param("d.parquet", b"PAR1 not really", "could not be read as Parquet", id="bad-parquet"),
    pytest.param("d.xlsx", b"a\n1\n", "unknown extension '.xlsx'", id="unknown-extension"),
]


@pytest.mark.parametrize(("name", "content", "message"), BAD_FILES)
def test_bad_files_give_one_clear_error(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(b"a,b\n1,2\n" if content is None else content)  # .gz: plain text, not gzip
    with pytest.raises(InvalidInputError, match=message) as info:
        load_table(path)
    assert str(path) in str(info.value)


def test_missing_file_and_unknown_target(tmp_path):
    with pytest.raises(InvalidInputError, match="does not exist"):
        load_table(tmp_path / "nope.csv")
    with pytest.raises(InvalidInputError, match=r"Target column 'nope' is not in the table.*\['age'"):
        load_table(_write(tmp_path, "d.csv", DATA), target="nope")


def test_constant_column_and_bom_are_allowed(tmp_path):
    table = load_table(_write(tmp_path, "d.csv", b"\xef\xbb\xbfa,b\n1,2\n1,3\n"))
    assert table.feature_names == ("a", "b")
    np.testing.assert_array_equal(table.X["a"], [1, 1])


def test_dates_are_refused_with_the_fix(tmp_path):
    path = tmp_path / "d.parquet"
    pd.DataFrame({"when": pd.to_datetime(["2024-01-01"]), "x": [1.0]}).to_parquet(path)
    with pytest.raises(InvalidInputError, match="'when' holds dates.*columns="):
        load_table(path)
    assert load_table(path, columns=["x"]).feature_names == ("x",)


def test_read_frame_tsv_and_separator(tmp_path):
    assert list(read_frame(_write(tmp_path, "d.tsv", "a\tb\n1\t2\n")).columns) == ["a", "b"]
    assert list(read_frame(_write(tmp_path, "e.csv", "a;b\n1;2\n"), sep=";").columns) == ["a", "b"]
    with pytest.raises(InvalidInputError, match="sep must be"):
        read_frame(_write(tmp_path, "f.csv", "a\n1\n"), sep=";;")


def test_table_repr_is_short(tmp_path):
    table = load_table(_write(tmp_path, "d.csv", DATA), target="label")
    assert isinstance(table, Table)
    assert repr(table).startswith("Table(source=") and "rows=3" in repr(table)


CSV_ALPHABET = st.sampled_from(list(b'ab1,.;"\n\r\t -e+9xNA') + [0, 0xE9, 0xFF, 0xC3])


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(content=st.binary(max_size=80) | st.lists(CSV_ALPHABET, max_size=80).map(bytes))
def test_random_bytes_give_a_table_or_a_project_error(tmp_path, content):
    path = tmp_path / "fuzz.csv"
    path.write_bytes(content)
    try:
        table = load_table(path)
    except AgnosticXAIError:
        return
    assert isinstance(table, Table)
    assert all(dtype == np.float64 for dtype in table.X.dtypes)
    assert np.isfinite(table.X.to_numpy()).all()
