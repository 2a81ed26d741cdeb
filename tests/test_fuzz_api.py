"""Property-based fuzzing of every public Python entry point with wrong types and shapes.

Complements ``test_fuzz_entry_points.py`` (which fuzzes the *data* arrays and the CLI's
files): here every other argument of ``explainers.get``/``metrics.get``, ``wrap``,
``compare``, ``explain``, the ``FeatureGroups`` constructors, ``Attribution`` (fields,
rows, ``concatenate``, ``load``, ``save``), the ``Comparison`` methods, ``removal`` and
``review`` gets values drawn from a pool of wrong types and shapes (None, bools, huge and
negative numbers, NaN, strings, bytes, containers, arrays of every dtype and rank, torch
tensors of bfloat16/complex/int dtypes, DataFrames with text, objects). The only outcomes
allowed are a result or an :class:`~agnostic_xai.exceptions.AgnosticXAIError`.

Each test is derandomized (the same examples on every run, for CI) and runs in a temporary
working directory, since a fuzzed path may be valid and written to.
"""

from __future__ import annotations

import contextlib
import inspect
import io
import tempfile
import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from agnostic_xai import Attribution, FeatureGroups, compare, explain, explainers, metrics, removal, review, wrap
from agnostic_xai.exceptions import AgnosticXAIError, AgnosticXAIWarning
from agnostic_xai.io import load_model, load_table
from agnostic_xai.testing import LinearModel

FUZZ = settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
FAST = dict(explainers=["feature_ablation", "random"], metrics=["deletion_gap"], progress=False)

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.sampled_from([-(10**12), 10**12, 2**63]),
    st.floats(allow_nan=True, allow_infinity=True, width=64),
    st.text(max_size=6),
    st.binary(max_size=6),
    st.just(object()),
    st.just(1j),
)


def _arrays() -> st.SearchStrategy:
    shapes = st.sampled_from([(), (0,), (3,), (0, 3), (3, 0), (2, 3), (4, 3), (6, 3), (2, 2, 3), (1, 1, 1, 1)])
    dtypes = st.sampled_from(
        [np.float64, np.float32, np.int64, np.int8, np.uint8, np.bool_, np.complex128, "U2", object]
    )

    @st.composite
    def build(draw):
        shape, dtype = draw(shapes), draw(dtypes)
        values = draw(st.sampled_from([0.0, 1.0, np.nan, np.inf, -2.5]))
        if dtype is object:
            return np.full(shape, None, dtype=object)
        if dtype == "U2":
            return np.full(shape, "ab")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return np.full(shape, values).astype(dtype)

    return build()


TENSORS = st.sampled_from(
    [torch.zeros(4, 3, dtype=torch.bfloat16), torch.zeros(4, 3, dtype=torch.complex64),
     torch.ones(4, 3, dtype=torch.int64), torch.zeros(2, 2, 3), torch.zeros(0, 3), torch.full((4, 3), float("nan")),
     torch.zeros(4, 3).to_sparse(), torch.ones(4, dtype=torch.int64)]
)
FRAMES = st.sampled_from(
    [pd.DataFrame({"a": ["x", "y", "z", "w"], "b": 1.0, "c": 2.0}), pd.DataFrame(), pd.DataFrame({"a": [1.0]}),
     pd.DataFrame(np.zeros((4, 3)), columns=["a", "a", "b"]),
     pd.DataFrame(np.zeros((4, 3)), columns=["x0", "x1", "x2"])]
)
CONTAINERS = st.one_of(
    st.lists(SCALARS, max_size=4),
    st.tuples(SCALARS, SCALARS),
    st.dictionaries(st.text(max_size=3), SCALARS, max_size=3),
    st.sets(st.integers(-2, 5), max_size=3),
    st.lists(st.lists(st.integers(-2, 5), max_size=3), max_size=3),
)
WRONG = st.one_of(SCALARS, CONTAINERS, _arrays(), TENSORS, FRAMES)


def only_project_errors(function, *args, **kwargs) -> str:
    """Run ``function`` in a scratch directory; "ok", "error" for a project error; anything else fails."""
    with tempfile.TemporaryDirectory() as scratch, contextlib.chdir(scratch), warnings.catch_warnings():
        warnings.simplefilter("ignore", AgnosticXAIWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            function(*args, **kwargs)
        except AgnosticXAIError:
            return "error"
    return "ok"


def linear(X: np.ndarray) -> np.ndarray:
    return X @ np.array([1.0, -2.0, 3.0])


def _parameters(cls) -> list[str]:
    return [p for p in inspect.signature(cls.__init__).parameters if p != "self"]


BFLOAT16 = torch.zeros(4, 3, dtype=torch.bfloat16)
RNG = np.random.default_rng(0)
X = RNG.normal(size=(6, 3))
BACKGROUND = RNG.normal(size=(5, 3))
ADAPTER = wrap(linear, feature_names=["x0", "x1", "x2"])
TORCH = wrap(LinearModel([1.0, -1.0, 2.0]))
RECORD = explainers.get("feature_ablation").fit(ADAPTER, BACKGROUND).explain(X)
RECORD_FIELDS = {k: getattr(RECORD, k) for k in ("values", "base_values", "data", "target", "feature_names", "method")}


@pytest.fixture(scope="module")
def comparison():
    return compare(ADAPTER, X, background=BACKGROUND, **FAST)




# ---------------------------------------------------------------------------------- registries
@FUZZ
@given(name=st.one_of(WRONG, st.sampled_from(explainers.available())), key=st.text(max_size=8), value=WRONG)
def test_explainer_registry(name, key, value):
    only_project_errors(explainers.get, name, **{key: value})


EXPLAINER_PARAMETERS = [(name, p) for name in explainers.available() for p in _parameters(explainers.get_class(name))]
PARAMETER_VALUES = st.one_of(
    SCALARS, st.lists(SCALARS, max_size=2), st.dictionaries(st.text(max_size=2), SCALARS, max_size=1)
)


@FUZZ
@given(pair=st.sampled_from(EXPLAINER_PARAMETERS), value=PARAMETER_VALUES)
@example(pair=("kernel_shap", "l1_reg"), value="x")  # reached scikit-learn's Lasso
@example(pair=("lime", "kernel_width"), value=[])  # numpy's "truth value of an empty array"
def test_explainer_parameters_fit_and_explain(pair, value):
    name, parameter = pair
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 64:
        value = 64  # a huge budget is the business of the limits (BudgetError), not of this test
    only_project_errors(lambda: explainers.get(name, **{parameter: value}).fit(TORCH, BACKGROUND).explain(X[:2]))


@FUZZ
@given(name=st.sampled_from([n for n in metrics.available() if n != "randomization_sanity"]), data=st.data())
def test_metric_parameters_and_call(name, data):
    cls = metrics.get_class(name)
    if not _parameters(cls):
        return
    parameter = data.draw(st.sampled_from(_parameters(cls)))
    value = data.draw(st.one_of(SCALARS, st.lists(SCALARS, max_size=2)))
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 64:
        value = 64  # as above: budgets are the limits' business
    fitted = explainers.get("feature_ablation").fit(TORCH, BACKGROUND)

    def run():
        metric = metrics.get(name, **{parameter: value})
        if cls.family == "agreement":
            metric(RECORD, RECORD)
        else:
            metric(RECORD, TORCH, BACKGROUND, explainer=fitted)

    only_project_errors(run)


@FUZZ
@given(position=st.sampled_from(["attribution", "adapter", "background", "explainer"]), value=WRONG,
       name=st.sampled_from(["deletion_gap", "sparseness", "infidelity", "max_sensitivity"]))
@example(position="background", value=BFLOAT16, name="deletion_gap")  # numpy has no bfloat16
def test_metric_call_arguments(position, value, name):
    arguments = {"attribution": RECORD, "adapter": ADAPTER, "background": BACKGROUND,
                 "explainer": explainers.get("feature_ablation").fit(ADAPTER, BACKGROUND)}
    arguments[position] = value
    only_project_errors(lambda: metrics.get(name)(arguments["attribution"], arguments["adapter"],
                                                  arguments["background"], explainer=arguments["explainer"]))


# ---------------------------------------------------------------------------------- adapters
@FUZZ
@given(keyword=st.sampled_from(["task", "output", "feature_names", "device", "batch_size"]), value=WRONG,
       model=st.sampled_from(["callable", "torch"]))
def test_wrap_arguments(keyword, value, model):
    target = linear if model == "callable" else LinearModel([1.0, -1.0, 2.0])
    only_project_errors(wrap, target, **{keyword: value})


@FUZZ
@given(value=WRONG, adapter=st.sampled_from([ADAPTER, TORCH]))
def test_predict_gradient_and_targets(value, adapter):
    only_project_errors(adapter.predict, value)
    only_project_errors(TORCH.gradient, X, target=value)
    only_project_errors(explainers.get("feature_ablation").fit(adapter, BACKGROUND).explain, X, target=value)


@FUZZ
@given(value=WRONG)
@example(value=BFLOAT16)
@example(value={"g": [0, 1]})
def test_fit_arguments(value):
    only_project_errors(explainers.get("feature_ablation").fit, value, BACKGROUND)
    only_project_errors(explainers.get("feature_ablation").fit, ADAPTER, value)
    only_project_errors(explainers.get("feature_ablation").fit, ADAPTER, BACKGROUND, groups=value)


# ---------------------------------------------------------------------------------- compare and explain
COMPARE_KEYWORDS = ["X", "background", "y", "explainers", "metrics", "target", "feature_groups", "seed", "n_jobs",
                    "progress", "time_limit", "n_background", "exact_limit", "memory_limit", "store", "resume",
                    "backend", "client", "max_model_rows", "force", "row_chunk"]


@FUZZ
@given(keyword=st.sampled_from(COMPARE_KEYWORDS), value=WRONG)
def test_compare_arguments(keyword, value):
    arguments = dict(FAST, background=BACKGROUND)
    if keyword == "X":
        only_project_errors(compare, ADAPTER, value, **arguments)
    else:
        if keyword in ("n_jobs", "n_background", "exact_limit") and isinstance(value, int) and value > 16:
            value = 17  # a thousand processes or 2**k coalitions is a limit, not a wrong type
        only_project_errors(compare, ADAPTER, X, **{**arguments, keyword: value})


EXPLAIN_KEYWORDS = ["data", "explainer", "background", "target", "seed", "backend", "partition_rows", "row_chunk",
                    "feature_groups", "id_column", "out", "retries", "encoder", "scheduler", "client"]


@FUZZ
@given(keyword=st.sampled_from(EXPLAIN_KEYWORDS), value=WRONG)
def test_explain_arguments(keyword, value):
    if keyword in ("partition_rows", "row_chunk") and isinstance(value, int) and value > 10**6:
        value = 10**6
    arguments = {"data": X, "explainer": "feature_ablation", "background": BACKGROUND, keyword: value}
    if keyword in ("scheduler", "client") and value is not None:
        arguments["backend"] = "local"  # never reach for a cluster
    only_project_errors(explain, ADAPTER, **arguments)


# ---------------------------------------------------------------------------------- feature groups
NAMES = ["c0_a", "c0_b", "c1_a", "c1_b", "amount"]


@FUZZ
@given(groups=st.one_of(WRONG, st.dictionaries(st.one_of(st.text(max_size=3), SCALARS), WRONG, max_size=3)),
       names=st.one_of(st.just(NAMES), WRONG))
def test_feature_group_constructors(groups, names):
    only_project_errors(FeatureGroups.from_dict, groups, names)
    only_project_errors(FeatureGroups.identity, names)
    only_project_errors(FeatureGroups.from_prefixes, names)
    only_project_errors(FeatureGroups.from_prefixes, NAMES, sep=groups)
    only_project_errors(FeatureGroups.from_function, names, str)
    only_project_errors(FeatureGroups.from_function, NAMES, groups)
    only_project_errors(FeatureGroups, names, groups, NAMES)
    only_project_errors(FeatureGroups.from_column_transformer, groups)
    only_project_errors(FeatureGroups.identity(NAMES).expand, groups)


# ---------------------------------------------------------------------------------- the Attribution record
@FUZZ
@given(field=st.sampled_from(["values", "base_values", "data", "target", "feature_names", "method", "params", "output",
                              "seconds", "model_rows", "extras", "groups"]), value=WRONG)
def test_attribution_fields(field, value):
    only_project_errors(Attribution, **{**RECORD_FIELDS, field: value})


@FUZZ
@given(value=WRONG)
def test_attribution_rows_concatenate_save_and_checks(value):
    only_project_errors(RECORD.__getitem__, value)
    only_project_errors(Attribution.concatenate, value)
    only_project_errors(Attribution.concatenate, [RECORD, value])
    only_project_errors(RECORD.save, value)
    only_project_errors(RECORD.additivity_gap, value)
    only_project_errors(Attribution.load, value)


def _saved() -> bytes:
    buffer = io.BytesIO()
    RECORD.save(buffer)
    return buffer.getvalue()


SAVED = _saved()


@FUZZ
@given(cut=st.integers(0, len(SAVED)), noise=st.binary(max_size=64), where=st.integers(0, len(SAVED)))
def test_attribution_load_of_damaged_files(cut, noise, where):
    damaged = SAVED[:where] + noise + SAVED[where + len(noise):]
    for content in (SAVED[:cut], damaged, noise):
        only_project_errors(Attribution.load, io.BytesIO(content))


# ---------------------------------------------------------------------------------- Comparison
@FUZZ
@given(method=st.sampled_from(["summary", "significance", "winner", "scores", "agreement", "pareto", "higher_is_better",
                               "to_html", "to_json"]),
       keyword=st.sampled_from(["first", "confidence", "n_resamples", "marked", "alpha", "exclude", "bogus"]),
       value=WRONG)
def test_comparison_methods(comparison, method, keyword, value):
    if keyword == "n_resamples" and isinstance(value, int) and value > 10**4:
        value = 10**4
    function = getattr(comparison, method)
    if keyword == "first":
        only_project_errors(function, value) if method != "summary" else None
        return
    signature = inspect.signature(function).parameters
    if keyword not in signature and "params" not in signature:
        return
    first = {"summary": (), "to_html": ("report.html",), "to_json": ("report.json",), "pareto": ()}.get(
        method, ("deletion_gap",) if method != "agreement" else ("rank_correlation",))
    only_project_errors(function, *first, **{keyword: value})


# ---------------------------------------------------------------------------------- removal, review, io
@FUZZ
@given(strategy=st.one_of(WRONG, st.sampled_from(["marginal", "mean", "baseline"])), value=WRONG)
def test_removal_reference_set(strategy, value):
    only_project_errors(removal.reference_set, strategy, value)
    only_project_errors(removal.reference_set, "baseline", BACKGROUND, value)


@FUZZ
@given(value=WRONG)
def test_review_and_io(comparison, value):
    only_project_errors(review.cohort_analysis, RECORD, value)
    only_project_errors(review.cohort_analysis, value, [0, 1] * 3)
    only_project_errors(review.cohort_analysis, RECORD, [0, 1] * 3, alpha=value)
    only_project_errors(review.run_checks, comparison, value)
    only_project_errors(review.run_checks, value, review.Policy(explainer="feature_ablation"))
    only_project_errors(review.Policy.from_mapping, value)
    only_project_errors(review.Policy.from_mapping, {"explainer": "feature_ablation", "thresholds": value})
    only_project_errors(load_table, value)
    only_project_errors(load_model, value)
