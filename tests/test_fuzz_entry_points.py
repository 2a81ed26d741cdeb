"""Property-based fuzzing of the public entry points: the only outcomes allowed are a correct
result or a project error (never a raw numpy/torch/pandas exception, never a hang)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from agnostic_xai import compare, wrap
from agnostic_xai.cli import main
from agnostic_xai.exceptions import AgnosticXAIError, AgnosticXAIWarning
from agnostic_xai.explainers import get as get_explainer
from agnostic_xai.metrics import get as get_metric
from agnostic_xai.testing import LinearModel

FUZZ = settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))

VALUES = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True, width=64),
    st.sampled_from([0.0, 1e308, -1e308, 1e-308, 3.0]),
)
DTYPES = st.sampled_from([np.float64, np.float32, np.int64, np.int8, np.bool_, np.complex128, np.uint8])


@st.composite
def matrices(draw, max_rows=5, max_cols=4):
    dtype = draw(DTYPES)
    shape = draw(st.tuples(st.integers(0, max_rows), st.integers(0, max_cols)) | st.tuples(st.integers(0, 4)))
    if np.issubdtype(dtype, np.floating) or np.issubdtype(dtype, np.complexfloating):
        elements = VALUES.map(lambda v: float(np.clip(v, -3e38, 3e38)) if dtype == np.float32 and np.isfinite(v) else v)
    else:
        elements = None
    return draw(hnp.arrays(dtype, shape, elements=elements))


def linear_function(X):
    return X @ np.arange(1.0, X.shape[1] + 1.0)


def outcome(function):
    """Run ``function``; return "ok" or "error" for a project error; anything else fails the test."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AgnosticXAIWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            function()
        except AgnosticXAIError:
            return "error"
    return "ok"


@FUZZ
@given(X=matrices())
def test_wrap_and_predict(X):
    adapter = wrap(linear_function, feature_names=["a", "b", "c"])
    if outcome(lambda: adapter.predict(X)) == "ok":
        assert X.shape[1] == 3 and np.isfinite(adapter.predict(X)).all()
    torch_adapter = wrap(LinearModel([1.0, -1.0, 2.0]))
    outcome(lambda: torch_adapter.predict(X))
    outcome(lambda: torch_adapter.gradient(X, target=0))


@FUZZ
@given(
    X=matrices(), background=matrices(), name=st.sampled_from(["feature_ablation", "kernel_shap", "saliency", "lime"])
)
def test_explainers(X, background, name):
    explainer = get_explainer(name, **({"n_samples": 16} if name == "kernel_shap" else {}))
    model = LinearModel([1.0, -1.0, 2.0])

    def run():
        attribution = explainer.fit(model, background).explain(X)
        assert attribution.values.shape == (X.shape[0], 3) and np.isfinite(attribution.values).all()

    outcome(run)


@FUZZ
@given(values=matrices(), name=st.sampled_from(["deletion_gap", "sparseness", "infidelity", "complexity"]))
def test_metrics_on_fuzzed_attributions(values, name):
    model = LinearModel([1.0, -1.0, 2.0])
    rng = np.random.default_rng(0)
    X, background = rng.normal(size=(4, 3)), rng.normal(size=(6, 3))
    attribution = get_explainer("feature_ablation").fit(model, background).explain(X)

    def run():
        fuzzed = type(attribution)(**{**attribution.__dict__, "values": values})
        result = get_metric(name)(fuzzed, wrap(model), background)
        assert result.scores.shape == (X.shape[0],)

    outcome(run)


@FUZZ
@given(X=matrices(max_rows=6), seed=st.integers(0, 3), target=st.sampled_from([None, 0, 1, -1]))
def test_compare(X, seed, target):
    def run():
        comparison = compare(linear_function, X, explainers=["feature_ablation", "random"], metrics=["deletion_gap"],
                             seed=seed, target=target, progress=False)
        assert set(comparison.table["explainer"]) <= {"feature_ablation", "random"}

    outcome(run)


# ---------------------------------------------------------------------------------- CLI files
FRAGMENTS = st.sampled_from(
    [b"a,b,c\n", b"a,a,b\n", b"1,2,3\n", b"1,2\n", b"1,2,3,4\n", b"x,y,z\n", b"1e400,2,3\n", b"-1e999,0,1\n",
     b"\xff\xfe,\xe9,3\n", b"NaN,1,2\n", b"\n", b'"unterminated,1,2\n', b"9" * 400 + b",1,2\n", b",,\n", b"\x00,1,2\n",
     b"label\n", b"0,1,0\n", b"true,false,1\n"]
)


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("fuzz") / "model.pt"
    torch.jit.save(torch.jit.trace(LinearModel([1.0, -1.0]), torch.zeros(1, 2, dtype=torch.float64)), path)
    return path


def run_cli(model_file, data, out, capsys):
    code = main(["compare", "--model", str(model_file), "--data", str(data), "--out", str(out), "--no-progress",
                 "--explainers", "feature_ablation", "--metrics", "sparseness", "--rows", "3", "--background", "3"])
    captured = capsys.readouterr()
    assert code in (0, 2, 3)
    assert "Traceback" not in captured.err
    if code == 2:
        errors = [line for line in captured.err.splitlines() if line.startswith("agnostic-xai: error:")]
        assert len(errors) == 1
    return code


@FUZZ
@given(parts=st.lists(FRAGMENTS, max_size=8), header=st.sampled_from([b"a,b\n", b"a,b,label\n", b"", b"a,a\n"]))
def test_cli_on_malformed_csv(model_file, tmp_path_factory, capsys, parts, header):
    directory = tmp_path_factory.mktemp("csv")
    data = directory / "data.csv"
    data.write_bytes(header + b"".join(parts))
    run_cli(model_file, data, directory / "out", capsys)


PARQUET_FRAMES = [
    pd.DataFrame({"a": [], "b": []}),  # header only
    pd.DataFrame({"a": [1.0], "b": [2.0]}),  # one row
    pd.DataFrame({"a": [1e308, -1e308, 1.0], "b": [1.0, 2.0, 3.0]}),  # huge numbers
    pd.DataFrame({"a": ["x", "y", "z"], "b": [1.0, 2.0, 3.0]}),  # text column: one-hot, then a width mismatch
    pd.DataFrame({"a": [np.nan, 1.0, 2.0], "b": [1.0, 2.0, 3.0]}),  # missing value
    pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [1.0, 1.0, 1.0], "c": [4, 5, 6]}),  # extra column
    pd.DataFrame({"a": [1.0, 1.0, 1.0], "b": [2.0, 2.0, 2.0]}),  # all constant
    pd.DataFrame({"a": pd.to_datetime(["2020-01-01"] * 3), "b": [1.0, 2.0, 3.0]}),  # dates
]


@pytest.mark.parametrize("index", range(len(PARQUET_FRAMES)))
def test_cli_on_awkward_parquet(model_file, tmp_path, capsys, index):
    data = tmp_path / "data.parquet"
    PARQUET_FRAMES[index].to_parquet(data)
    run_cli(model_file, data, tmp_path / "out", capsys)


@FUZZ
@given(content=st.binary(max_size=200))
def test_cli_on_corrupt_parquet(model_file, tmp_path_factory, capsys, content):
    directory = tmp_path_factory.mktemp("pq")
    data = directory / "data.parquet"
    data.write_bytes(b"PAR1" + content + b"PAR1")
    assert run_cli(model_file, data, directory / "out", capsys) == 2
