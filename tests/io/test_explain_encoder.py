"""explain(encoder=...): raw tables with text columns and missing values, encoded in every partition."""

from __future__ import annotations

import sys
import threading

import numpy as np
import pandas as pd
import pytest

from agnostic_xai import explain
from agnostic_xai.exceptions import InvalidInputError, NotFittedError
from agnostic_xai.io import TableEncoder
from agnostic_xai.testing import LinearModel, linear_shapley

distributed = pytest.importorskip("dask.distributed")
cloudpickle = pytest.importorskip("cloudpickle")
cloudpickle.register_pickle_by_value(sys.modules[__name__])


def raw_table(n: int = 60, seed: int = 0) -> pd.DataFrame:
    """Rows with a numeric column with gaps, a text column whose levels look like numbers, and an id."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "loan_id": 5000 + np.arange(n),
            "income": rng.normal(50, 10, size=n),
            "grade": rng.choice(np.array(["1", "2", "A"], dtype=object), size=n),
            "age": rng.integers(20, 70, size=n).astype(float),
        }
    )
    frame.loc[rng.choice(n, 6, replace=False), "income"] = np.nan
    frame.loc[rng.choice(n, 5, replace=False), "grade"] = None
    frame.loc[0:15, "grade"] = frame.loc[0:15, "grade"].where(frame.loc[0:15, "grade"] != "A", "1")  # no "A" early
    return frame


@pytest.fixture(scope="module")
def setup():
    frame = raw_table()
    encoder = TableEncoder(columns=["income", "grade", "age"], impute="most_frequent").fit(frame)
    assert encoder.feature_names_out_ == ("income", "grade=1", "grade=2", "grade=A", "age")
    weights = np.array([0.5, -1.0, 2.0, 3.0, -0.25])
    return frame, encoder, LinearModel(weights), weights


def direct(model, frame, encoder, background, **kwargs):
    """The reference: explain the table encoded beforehand, in one piece."""
    X = encoder.transform(frame)[0]
    return explain(model, X, background=encoder.transform(background)[0], **kwargs)


def test_an_encoded_in_memory_table_gives_the_values_of_the_encoded_table(setup):
    frame, encoder, model, weights = setup
    before = frame.copy()
    background = frame.iloc[::6]
    kwargs = {"explainer": "exact_shapley", "row_chunk": 8}
    result = explain(
        model, frame, background=background, encoder=encoder, id_column="loan_id", partition_rows=16, **kwargs
    )
    reference = direct(model, frame, encoder, background, partition_rows=64, **kwargs)
    assert result.ok and result.n_explained == len(frame) and result.n_partitions == 4
    np.testing.assert_array_equal(result.row_ids, frame["loan_id"])
    np.testing.assert_array_equal(result.attribution.values, reference.attribution.values)
    X, B = encoder.transform(frame)[0].to_numpy(), encoder.transform(background)[0].to_numpy()
    np.testing.assert_allclose(result.attribution.values, linear_shapley(weights, X, B), atol=1e-10)
    assert result.attribution.feature_names == encoder.feature_names_out_
    pd.testing.assert_frame_equal(frame, before)  # the caller's table is left as it was


def test_files_on_dask_give_the_local_values_with_groups(setup, client, tmp_path):
    frame, encoder, model, _ = setup
    frame.to_parquet(tmp_path / "rows.parquet", row_group_size=11, index=False)
    frame.to_csv(tmp_path / "rows.csv", index=False)  # chunks of 16 rows: the first has no "A" grade
    background = frame.iloc[1::5]
    kwargs = {
        "explainer": "sampling_shapley",
        "background": background,
        "encoder": encoder,
        "feature_groups": encoder.groups_,
        "id_column": "loan_id",
        "seed": 3,
        "row_chunk": 8,
        "partition_rows": 16,
    }
    reference = direct(
        model,
        frame,
        encoder,
        background,
        **{k: v for k, v in kwargs.items() if k not in ("background", "encoder", "id_column")},
    )
    assert reference.attribution.feature_names == ("income", "grade", "age")
    for data in (tmp_path / "rows.parquet", tmp_path / "rows.csv"):
        result = explain(model, data, backend="dask", client=client, **kwargs)
        assert result.ok, result.summary()
        assert result.n_explained == len(frame) and result.n_partitions == 4
        np.testing.assert_array_equal(result.row_ids, frame["loan_id"])
        np.testing.assert_array_equal(result.attribution.values, reference.attribution.values)


def add_ratio(frame: pd.DataFrame) -> pd.DataFrame:
    """A function encoder: two numeric columns and their ratio."""
    out = frame[["income", "age"]].fillna(0.0)
    out["ratio"] = out["income"] / out["age"]
    return out.reset_index(drop=True)


def test_a_function_encoder_is_applied_on_the_workers(client):
    frame = raw_table(seed=1)
    model = LinearModel(np.array([1.0, 2.0, -3.0]))
    kwargs = {"explainer": "exact_shapley", "row_chunk": 8, "partition_rows": 16}
    result = explain(
        model, frame, background=frame.iloc[:10], encoder=add_ratio, backend="dask", client=client, **kwargs
    )
    reference = explain(model, add_ratio(frame), background=add_ratio(frame.iloc[:10]), **kwargs)
    assert result.attribution.feature_names == ("income", "age", "ratio")
    np.testing.assert_array_equal(result.attribution.values, reference.attribution.values)


def test_rows_the_encoder_cannot_encode_fail_their_partition_only(setup):
    frame, encoder, model, _ = setup
    strange = frame.copy()
    strange.loc[40, "grade"] = "Z"  # a level the encoder was not fitted on, in partition [32, 48)
    result = explain(
        model,
        strange,
        explainer="exact_shapley",
        background=frame.iloc[:10],
        encoder=encoder,
        partition_rows=16,
        row_chunk=8,
    )
    (failure,) = result.failures
    assert (failure.start, failure.stop, failure.error) == (32, 48, "InvalidInputError")
    assert "'Z'" in failure.message and result.n_explained == len(frame) - 16


def test_bad_encoders_are_refused_before_any_partition(setup):
    frame, encoder, model, _ = setup
    background = frame.iloc[:10]
    with pytest.raises(NotFittedError, match="not fitted"):
        explain(model, frame, explainer="exact_shapley", background=background, encoder=TableEncoder())
    with pytest.raises(InvalidInputError, match="fitted TableEncoder or a function"):
        explain(model, frame, explainer="exact_shapley", background=background, encoder="one-hot")
    with pytest.raises(InvalidInputError, match="named columns"):
        explain(model, np.zeros((4, 5)), explainer="exact_shapley", background=background, encoder=encoder)
    with pytest.raises(InvalidInputError, match="raw rows like the data"):
        explain(model, frame, explainer="exact_shapley", background=np.zeros((4, 5)), encoder=encoder)
    with pytest.raises(InvalidInputError, match=r"lacks the columns \['grade'\]"):
        explain(model, frame.drop(columns="grade"), explainer="exact_shapley", background=background, encoder=encoder)
    with pytest.raises(InvalidInputError, match="must return a DataFrame"):
        explain(model, frame, explainer="exact_shapley", background=background, encoder=lambda f: f.to_numpy())

    class Locked:
        """An encoder holding a lock, which does not pickle."""

        def __init__(self) -> None:
            self.lock = threading.Lock()

        def __call__(self, f: pd.DataFrame) -> pd.DataFrame:
            return add_ratio(f)

    with pytest.raises(InvalidInputError, match="cannot be sent to Dask workers"):
        explain(model, frame, explainer="exact_shapley", background=background, encoder=Locked(), backend="dask")
