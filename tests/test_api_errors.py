"""Issue 13: wrong arguments of the Python API get project errors, early.

Each test names a promise: the error class (``InvalidTypeError`` is both an
``InvalidInputError`` and a ``TypeError``; ``RowIndexError`` is also an ``IndexError``), the
argument named in the message, and, for data, that the model is not called before the
input is refused. The models are third-party style: a functional softmax head, a pipeline
that writes into its input, MinMax-scaled one-hot tables with more than 20 groups.
"""

from __future__ import annotations

import io
import os

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from agnostic_xai import Attribution, FeatureGroups, compare, explainers, metrics, wrap
from agnostic_xai.exceptions import InvalidInputError, InvalidTypeError, RowIndexError, UnknownNameError

FAST = dict(explainers=["feature_ablation", "random"], metrics=["deletion_gap"], progress=False)


class CountingSoftmax(nn.Module):
    """A classifier whose head is ``F.softmax`` in ``forward`` (no nn.Softmax to detect); counts its calls."""

    def __init__(self, d: int = 4, k: int = 3) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.linear = nn.Linear(d, k)
        self.calls = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        return F.softmax(self.linear(x), dim=1)


class InPlaceScaler(nn.Module):
    """A pipeline that scales its input in place before a linear layer (writes into what it gets)."""

    def __init__(self, d: int = 4) -> None:
        super().__init__()
        torch.manual_seed(1)
        self.linear = nn.Linear(d, 1)
        self.calls = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        x.mul_(2.0)
        return self.linear(x)


def linear(X: np.ndarray) -> np.ndarray:
    return X @ np.arange(1.0, X.shape[1] + 1.0)


@pytest.fixture
def data(rng):
    return rng.normal(size=(6, 4)), rng.normal(size=(5, 4))


@pytest.fixture(scope="module")
def comparison():
    rng = np.random.default_rng(3)
    # Two candidates (random is a reference, never a candidate of significance tests).
    explainers = ["feature_ablation", "exact_shapley", "random"]
    return compare(linear, rng.normal(size=(8, 3)), **{**FAST, "explainers": explainers})


def minmax_onehot_table(rng, n_groups=24, levels=3, n_rows=10):
    """A MinMax-scaled table of ``n_groups`` one-hot categoricals (zero-heavy) and one numeric column."""
    codes = rng.integers(0, levels, size=(n_rows, n_groups))
    onehot = np.concatenate([np.eye(levels)[codes[:, g]] for g in range(n_groups)], axis=1)
    numeric = rng.normal(size=(n_rows, 1))
    numeric = (numeric - numeric.min()) / (numeric.max() - numeric.min())
    names = [f"c{g}_{level}" for g in range(n_groups) for level in range(levels)] + ["amount"]
    return np.concatenate([onehot, numeric], axis=1), names


# ---------------------------------------------------------------------------- the exception classes
def test_invalid_type_error_is_both_a_project_value_error_and_a_type_error():
    error = InvalidTypeError("x")
    assert isinstance(error, InvalidInputError) and isinstance(error, TypeError) and isinstance(error, ValueError)
    assert issubclass(RowIndexError, IndexError) and issubclass(RowIndexError, InvalidInputError)


# ---------------------------------------------------------------------------- registries
@pytest.mark.parametrize("name", explainers.available())
def test_explainer_registry_refuses_unknown_parameters_naming_the_allowed_ones(name):
    with pytest.raises(InvalidTypeError, match=r"no parameter \['bogus'\]; its parameters are") as info:
        explainers.get(name, bogus=1)
    for parameter in explainers.get_class(name)()._param_names():
        assert repr(parameter) in str(info.value)


@pytest.mark.parametrize("name", metrics.available())
def test_metric_registry_refuses_unknown_parameters_naming_the_allowed_ones(name):
    with pytest.raises(InvalidTypeError, match=r"no parameter \['bogus'\]"):
        metrics.get(name, bogus=1)


@pytest.mark.parametrize("name", [None, 5, ["kernel_shap"], {"a": 1}])
def test_registry_names_must_be_strings(name):
    with pytest.raises(InvalidTypeError, match="named by a string"):
        explainers.get(name)
    with pytest.raises(InvalidTypeError, match="named by a string"):
        metrics.get(name)


def test_metric_family_must_exist():
    with pytest.raises(UnknownNameError, match="families"):
        metrics.available("faithfulnes")


# ---------------------------------------------------------------------------- compare's arguments
@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(explainers=None), InvalidTypeError, "explainers must be 'default'"),
        (dict(explainers=5), InvalidTypeError, "explainers must be"),
        (dict(explainers=[]), InvalidInputError, "explainers is empty"),
        (dict(explainers=[5]), InvalidTypeError, "got an entry 5"),
        (
            dict(explainers={"kernel_shap": 5}),
            InvalidTypeError,
            "parameters of explainer 'kernel_shap' must be a mapping",
        ),
        (dict(explainers={"kernel_shap": {"bogus": 1}}), InvalidTypeError, r"no parameter \['bogus'\]"),
        (dict(metrics=None), InvalidTypeError, "metrics must be"),
        (dict(metrics=(1, 2)), InvalidTypeError, "metrics must be"),
        (dict(metrics={"deletion_gap": {"nope": 1}}), InvalidTypeError, r"no parameter \['nope'\]"),
        (dict(exact_limit="x"), InvalidTypeError, "exact_limit must be a non-negative int"),
        (dict(exact_limit=None), InvalidTypeError, "exact_limit"),
        (dict(store=5), InvalidTypeError, "store must be a path"),
        (dict(progress="yes"), InvalidTypeError, "progress must be True or False"),
        (dict(seed=1.5), InvalidTypeError, "seed must be a non-negative int"),
        (dict(target="x"), InvalidTypeError, "target must be an int"),
        (dict(feature_groups=5), InvalidTypeError, "feature_groups must be a FeatureGroups"),
        (dict(y="abc"), InvalidTypeError, "y must be an array of labels"),
    ],
)
def test_compare_refuses_bad_arguments_naming_them(data, kwargs, error, match):
    X, background = data
    with pytest.raises(error, match=match):
        compare(linear, X, background=background, **{**FAST, **kwargs})


# ---------------------------------------------------------------------------- every input before the first model call
@pytest.mark.parametrize("model_class", [CountingSoftmax, InPlaceScaler])
@pytest.mark.parametrize(
    "case",
    ["nan_in_X", "inf_in_background", "bad_target", "negative_target", "bad_groups", "bogus_parameter", "bad_seed"],
)
def test_compare_checks_every_input_before_calling_the_model(data, model_class, case):
    X, background = data
    X = X.copy()
    kwargs = dict(FAST, background=background.copy())
    if case == "nan_in_X":
        X[2, 1] = np.nan
    elif case == "inf_in_background":
        kwargs["background"][0, 0] = np.inf
    elif case == "bad_target":
        kwargs["target"] = "first"
    elif case == "negative_target":
        kwargs["target"] = -1
    elif case == "bad_groups":
        kwargs["feature_groups"] = FeatureGroups.identity(["a", "b", "c"])
    elif case == "bogus_parameter":
        kwargs["explainers"] = {"feature_ablation": {"n_steps": 3}}
    else:
        kwargs["seed"] = -1
    X_before, background_before = X.copy(), kwargs["background"].copy()
    model = model_class()
    with pytest.raises(InvalidInputError):
        compare(model, X, **kwargs)
    assert model.calls == 0  # not even wrap()'s probe row
    np.testing.assert_array_equal(X, X_before)  # nothing the caller passed is changed
    np.testing.assert_array_equal(kwargs["background"], background_before)


@pytest.mark.parametrize("model_class", [CountingSoftmax, InPlaceScaler])
def test_explainer_fit_refuses_a_bad_background_before_calling_the_model(data, model_class):
    _, background = data
    background = background.copy()
    background[1, 3] = np.nan
    model = model_class()
    with pytest.raises(InvalidInputError, match="background contains NaN"):
        explainers.get("feature_ablation").fit(model, background)
    with pytest.raises(InvalidTypeError, match="groups must be a FeatureGroups"):
        explainers.get("feature_ablation").fit(model, background[2:], groups={"g": [0, 1]})
    assert model.calls == 0


def test_metric_refuses_a_bad_background_before_calling_the_model(data):
    X, background = data
    attribution = explainers.get("feature_ablation").fit(wrap(CountingSoftmax()), background).explain(X)
    model, bad = CountingSoftmax(), background.copy()
    bad[0, 0] = np.nan
    with pytest.raises(InvalidInputError, match="background contains NaN"):
        metrics.get("deletion_gap")(attribution, model, bad)
    assert model.calls == 0


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(task="classifier"), "task must be one of"),
        (dict(output="probabilities"), "output must be one of"),
        (dict(batch_size=0), "batch_size must be a positive int"),
        (dict(batch_size="64"), "batch_size must be a positive int"),
        (dict(feature_names=5), "feature_names must be a sequence"),
        (dict(device=5), "device must be a str or a torch.device"),
        (dict(device="gpu0"), "is not a torch device name"),
    ],
)
def test_wrap_refuses_bad_arguments_before_the_probe_row(kwargs, match):
    model = CountingSoftmax()
    with pytest.raises(InvalidInputError, match=match):
        wrap(model, **kwargs)
    assert model.calls == 0


# ---------------------------------------------------------------------------- tensors as data
def test_bfloat16_tensor_is_read_exactly_as_its_float32_widening():
    model = CountingSoftmax()
    adapter = wrap(model)
    X = torch.randn(5, 4, generator=torch.Generator().manual_seed(0)).to(torch.bfloat16)
    np.testing.assert_array_equal(adapter.predict(X), adapter.predict(X.to(torch.float32)))
    exact = adapter.validate(X)
    np.testing.assert_array_equal(exact, X.to(torch.float64).numpy())  # bfloat16 -> float32 -> float64 is exact


@pytest.mark.parametrize(
    "tensor, error, match",
    [
        (torch.zeros(3, 4).to_sparse(), InvalidTypeError, "dense tensor"),
        (torch.zeros(3, 4, dtype=torch.bfloat16).to_sparse(), InvalidTypeError, "dense tensor"),
    ],
)
def test_tensors_numpy_cannot_hold_get_project_errors(tensor, error, match):
    with pytest.raises(error, match=match):
        wrap(CountingSoftmax()).predict(tensor)


def test_bfloat16_target_tensor_is_read(data):
    X, background = data
    explainer = explainers.get("feature_ablation").fit(wrap(CountingSoftmax()), background)
    attribution = explainer.explain(X, target=torch.ones(6, dtype=torch.bfloat16))
    np.testing.assert_array_equal(attribution.target, np.ones(6, dtype=np.int64))


# ---------------------------------------------------------------------------- FeatureGroups
@pytest.mark.parametrize(
    "groups, error, match",
    [
        ({"g": []}, InvalidInputError, "'g' is empty"),
        ({"g": 5}, InvalidTypeError, "'g' must be a list of column names or indices, got 5"),
        ({"g": "c0_0"}, InvalidTypeError, "must be a list of column names"),
        ({"g": [None]}, InvalidTypeError, "holds None"),
        ({"g": [True]}, InvalidTypeError, "holds True"),
        ({"g": [1.0]}, InvalidTypeError, "holds 1.0"),
        ({None: [0]}, InvalidTypeError, "group names must be strings"),
        (5, InvalidTypeError, "groups must be a mapping"),
        ([("g", [0])], InvalidTypeError, "groups must be a mapping"),
    ],
)
def test_from_dict_refuses_malformed_groups_on_a_wide_onehot_table(rng, groups, error, match):
    _, names = minmax_onehot_table(rng)
    with pytest.raises(error, match=match):
        FeatureGroups.from_dict(groups, names)


def test_from_dict_with_24_onehot_groups_builds_and_refuses_one_empty_group(rng):
    _, names = minmax_onehot_table(rng)
    mapping = {f"c{g}": [f"c{g}_{level}" for level in range(3)] for g in range(24)}
    groups = FeatureGroups.from_dict(mapping, names)
    assert groups.n_groups == 25 and groups.names[-1] == "amount"
    assert groups == FeatureGroups.from_prefixes(names)
    with pytest.raises(InvalidInputError, match="'c23' is empty"):
        FeatureGroups.from_dict({**mapping, "c23": []}, names)


@pytest.mark.parametrize(
    "build, error, match",
    [
        (lambda: FeatureGroups.identity(None), InvalidTypeError, "feature_names must be a sequence"),
        (lambda: FeatureGroups.identity(5), InvalidTypeError, "feature_names must be a sequence"),
        (lambda: FeatureGroups.identity("abc"), InvalidTypeError, "not a single string"),
        (lambda: FeatureGroups.from_prefixes(["a_1", "a_2"], sep=None), InvalidTypeError, "sep must be a string"),
        (lambda: FeatureGroups.from_function(["a", "b"], "a"), InvalidTypeError, "key must be callable"),
        (lambda: FeatureGroups(("g",), 5, ("a",)), InvalidTypeError, "indices must be a sequence of sequences"),
        (lambda: FeatureGroups(("g",), (("0",),), ("a",)), InvalidTypeError, "indices must be"),
        (lambda: FeatureGroups(None, ((0,),), ("a",)), InvalidTypeError, "names must be a sequence"),
        (lambda: FeatureGroups.identity(["a", "b"]).expand(5), InvalidInputError, "one entry per group"),
    ],
)
def test_other_group_constructors_refuse_wrong_types(build, error, match):
    with pytest.raises(error, match=match):
        build()


# ---------------------------------------------------------------------------- Attribution
@pytest.fixture
def record(rng):
    return Attribution(values=rng.normal(size=(4, 3)), base_values=np.zeros(4), data=rng.normal(size=(4, 3)),
                       target=np.zeros(4, dtype=int), feature_names=("a", "b", "c"), method="test")


@pytest.mark.parametrize(
    "field, value, error, match",
    [
        ("values", "x", InvalidTypeError, "values must be a 2-D numeric array"),
        ("values", np.array([[object()] * 3] * 4), InvalidTypeError, "values must be numeric"),
        ("values", np.ones((4, 3), dtype=complex), InvalidTypeError, "real-valued"),
        ("target", np.full(4, 0.5), InvalidInputError, "whole numbers"),
        ("target", None, InvalidTypeError, "target must be"),
        ("feature_names", None, InvalidTypeError, "feature_names must be a sequence"),
        ("feature_names", 5, InvalidTypeError, "feature_names must be a sequence"),
        ("params", None, InvalidTypeError, "params must be a mapping"),
        ("extras", [], InvalidTypeError, "extras must be a mapping"),
        ("seconds", "x", InvalidTypeError, "seconds must be"),
        ("seconds", -1.0, InvalidInputError, "seconds must be"),
        ("model_rows", 2.5, InvalidTypeError, "model_rows must be a non-negative int"),
        ("groups", 5, InvalidTypeError, "groups must be a FeatureGroups"),
        ("method", None, InvalidTypeError, "method must be a string"),
    ],
)
def test_attribution_constructor_refuses_wrong_fields(record, field, value, error, match):
    fields = {k: getattr(record, k) for k in ("values", "base_values", "data", "target", "feature_names", "method")}
    with pytest.raises(error, match=match):
        Attribution(**{**fields, field: value})


def test_rows_are_selected_by_index_and_iteration_still_stops(record):
    with pytest.raises(InvalidTypeError, match="Rows are selected by"):
        record[2.5]
    with pytest.raises(InvalidTypeError, match="Rows are selected by"):
        record["a"]
    with pytest.raises(RowIndexError, match="out of range for 4 rows"):
        record[4]
    with pytest.raises(InvalidInputError, match="mask needs 4 entries"):
        record[np.array([True, False])]
    assert [part.n_rows for part in record] == [1, 1, 1, 1]  # IndexError ends the iteration
    assert record[[0, 2]].n_rows == 2 and record[torch.tensor([1, 3])].n_rows == 2


def test_concatenate_refuses_a_non_sequence(record):
    with pytest.raises(InvalidTypeError, match="takes a list of Attributions"):
        Attribution.concatenate(record)
    with pytest.raises(InvalidTypeError, match="takes a list of Attributions"):
        Attribution.concatenate(5)


def test_save_refuses_an_integer_instead_of_writing_to_that_file_descriptor(record, tmp_path):
    read, write = os.pipe()
    try:
        with pytest.raises(InvalidTypeError, match="path must be a path or a binary file object"):
            record.save(write)
        os.set_blocking(read, False)
        with pytest.raises(BlockingIOError):
            os.read(read, 1)  # nothing was written into the pipe
        os.fstat(write)  # and the descriptor is still open
    finally:
        os.close(read)
        try:
            os.close(write)
        except OSError:
            pass


def _real_file(record) -> bytes:
    buffer = io.BytesIO()
    record.save(buffer)
    return buffer.getvalue()


def _npz(**arrays) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def _header(text: bytes) -> np.ndarray:
    return np.frombuffer(text, dtype=np.uint8)


GARBAGE = {
    "empty": lambda r: b"",
    "text": lambda r: b"garbage\n",
    "truncated": lambda r: _real_file(r)[: len(_real_file(r)) // 2],
    "npy array": lambda r: (lambda b: (np.save(b, np.zeros(3)), b.getvalue())[1])(io.BytesIO()),
    "header not json": lambda r: _npz(header=_header(b"{not json")),
    "header not utf-8": lambda r: _npz(header=_header(b"\xff\xfe")),
    "header a list": lambda r: _npz(header=_header(b"[1, 2]")),
    "header float": lambda r: _npz(header=np.zeros(3)),
    "header lacks keys": lambda r: _npz(header=_header(b'{"format": "agnostic-xai.attribution/1"}')),
    "arrays missing": lambda r: _npz(header=_header(
        b'{"format": "agnostic-xai.attribution/1", "feature_names": ["a"], "method": "m", "output": "raw", '
        b'"seconds": 0, "model_rows": 0, "params": {}, "extras": {}, "groups": null}')),
    "header wrong types": lambda r: _npz(values=np.zeros((1, 1)), base_values=np.zeros(1), data=np.zeros((1, 1)),
                                         target=np.zeros(1, dtype=int), header=_header(
        b'{"format": "agnostic-xai.attribution/1", "feature_names": "a", "method": 5, "output": "raw", '
        b'"seconds": "x", "model_rows": 0, "params": [], "extras": {}, "groups": 7}')),
    "pickled member": lambda r: _npz(header=np.array([object()], dtype=object)),
}


@pytest.mark.parametrize("kind", list(GARBAGE))
def test_load_of_a_garbage_file_is_a_project_error(record, tmp_path, kind):
    path = tmp_path / "record.npz"
    path.write_bytes(GARBAGE[kind](record))
    with pytest.raises(InvalidInputError, match="not an agnostic-xai attribution file|allow_pickle|Unsupported"):
        Attribution.load(path)
    with pytest.raises(InvalidInputError):
        Attribution.load(io.BytesIO(path.read_bytes()))


def test_load_of_a_missing_file_or_a_non_path(tmp_path):
    with pytest.raises(InvalidInputError, match="does not exist"):
        Attribution.load(tmp_path / "missing.npz")
    with pytest.raises(InvalidTypeError, match="path must be a path"):
        Attribution.load(None)


# ---------------------------------------------------------------------------- Comparison methods
@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda c: c.summary(confidence=2), InvalidInputError, r"confidence must be a number in \(0, 1\), got 2"),
        (lambda c: c.summary(confidence=0), InvalidInputError, "confidence must be"),
        (lambda c: c.summary(confidence=float("nan")), InvalidInputError, "confidence must be"),
        (lambda c: c.summary(confidence="95%"), InvalidTypeError, "confidence must be"),
        (lambda c: c.summary(n_resamples=0), InvalidInputError, "n_resamples must be a positive int"),
        (lambda c: c.summary(n_resamples=10.5), InvalidTypeError, "n_resamples must be a positive int"),
        (lambda c: c.summary(marked="no"), InvalidTypeError, "marked must be True or False"),
        (lambda c: c.significance("deletion_gap", alpha=2), InvalidInputError, "alpha must be"),
        (lambda c: c.significance("deletion_gap", alpha="x"), InvalidTypeError, "alpha must be"),
        (lambda c: c.significance("deletion_gap", exclude="random"), InvalidTypeError, "not a single string"),
        (lambda c: c.significance("deletion_gap", exclude=None), InvalidTypeError, "exclude must be a sequence"),
        (lambda c: c.significance(5), InvalidTypeError, "metric must be a string"),
        (lambda c: c.winner("deletion_gap", alpha=-1), InvalidInputError, "alpha must be"),
        (lambda c: c.scores(["deletion_gap"]), InvalidTypeError, "metric must be a string"),
        (lambda c: c.pareto(5), InvalidTypeError, "metric must be a string"),
        (lambda c: c.higher_is_better(None), InvalidTypeError, "metric must be a string"),
        (lambda c: c.agreement("rank_correlation", bogus=1), InvalidTypeError, r"no parameter \['bogus'\]"),
        (lambda c: c.agreement(None), InvalidTypeError, "named by a string"),
        (lambda c: c.to_html(5), InvalidTypeError, "path must be a path"),
        (lambda c: c.to_json(None), InvalidTypeError, "path must be a path"),
    ],
)
def test_comparison_methods_check_their_arguments(comparison, call, error, match):
    with pytest.raises(error, match=match):
        call(comparison)


def test_summary_accepts_valid_arguments_and_refuses_a_string_exclude(comparison):
    summary = comparison.summary(confidence=0.9, n_resamples=50, marked=False)
    assert ("deletion_gap", "mean") in summary.columns
    assert comparison.significance("deletion_gap", exclude=[]).shape[0] == 1  # the best against the other one
    with pytest.raises(InvalidTypeError, match="not a single string"):
        comparison.significance("deletion_gap", exclude="feature_ablation")  # was read as its letters
