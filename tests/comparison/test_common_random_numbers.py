"""Common random numbers in ``compare``: stochastic metrics draw the same numbers for every explainer.

A stochastic metric inside ``compare`` is seeded by (root seed, what it draws) and draws
per row, never per explainer (agnostic_xai.metrics._rng). So identical explanations get
bitwise-identical scores, explanations with the same ranking get identical scores on
ranking-only metrics, and an explainer's scores do not depend on its label or on the other
explainers in the run.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from agnostic_xai import compare, metrics, wrap
from agnostic_xai.exceptions import InvalidInputError
from agnostic_xai.explainers.base import Explainer, Explanation
from agnostic_xai.explainers.gradients import InputXGradient
from agnostic_xai.metrics._rng import metric_seed, row_random

D = 5
#: Every stochastic metric, with small budgets so that a comparison takes a second.
STOCHASTIC = {
    "pgi": {"k": 2, "n_perturbations": 8},
    "pgu": {"k": 2, "n_perturbations": 8},
    "infidelity": {"n_perturbations": 8},
    "faithfulness_correlation": {"n_subsets": 6},
    "monotonicity": {},
    "max_sensitivity": {"n_perturbations": 3},
    "relative_input_stability": {"n_perturbations": 3},
    "randomization_sanity": {},
}


class SoftmaxHead(torch.nn.Module):
    """A third-party style classifier: the softmax is applied functionally in ``forward``."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(3)
        self.hidden = torch.nn.Linear(D, 8)
        self.out = torch.nn.Linear(8, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.softmax(self.out(torch.tanh(self.hidden(x))), dim=-1)


class Powered(Explainer):
    """``sign(w)·|w|**power`` on every row: the same |φ| ranking for every power, other magnitudes."""

    name = "powered"

    def __init__(self, power: float = 1.0) -> None:
        self.power = power

    def _explain(self, X: np.ndarray, target: np.ndarray) -> Explanation:
        w = np.array([3.0, -2.0, 0.9, 0.4, -0.1])
        values = np.sign(w) * np.abs(w) ** self.power * (1.0 + 0.01 * X)  # row-dependent, order kept
        return Explanation(values=values, base_values=np.zeros(X.shape[0]))


@pytest.fixture(scope="module")
def data() -> tuple[SoftmaxHead, np.ndarray]:
    rng = np.random.default_rng(11)
    return SoftmaxHead(), rng.normal(size=(12, D))


def _run(model, X, explainers, metric_spec=None, **options):
    return compare(model, X, explainers=explainers, metrics=metric_spec or STOCHASTIC, seed=5, progress=False,
                   n_background=8, **options)


def test_identical_explanations_get_bitwise_identical_scores(data):
    model, X = data
    comparison = _run(model, X, {"a": InputXGradient(), "b": InputXGradient()}, row_chunk=5)
    assert comparison.failures.empty, comparison.failures
    np.testing.assert_array_equal(comparison.attributions["a"].values, comparison.attributions["b"].values)
    for metric in STOCHASTIC:
        scores = comparison.scores(metric)
        np.testing.assert_array_equal(scores["a"].to_numpy(), scores["b"].to_numpy(), err_msg=metric)


def test_same_ranking_gets_identical_scores_on_ranking_only_metrics(data):
    """PGI/PGU (top-k by |φ|) and monotonicity (Spearman of |φ|) see only the ranking; positive
    rescaling leaves the scale-free faithfulness_correlation (Pearson) and normalised
    infidelity (optimal β) unchanged up to rounding."""
    model, X = data
    explainers = {"p1": Powered(power=1.0), "p3": Powered(power=3.0), "half": Powered(power=0.5)}
    comparison = _run(model, X, explainers, {m: STOCHASTIC[m] for m in ("pgi", "pgu", "monotonicity")})
    for metric in ("pgi", "pgu", "monotonicity"):
        scores = comparison.scores(metric)
        for other in ("p3", "half"):
            np.testing.assert_array_equal(scores["p1"].to_numpy(), scores[other].to_numpy(), err_msg=metric)


class ScaledInputXGradient(InputXGradient):
    """Input × gradient times a positive constant."""

    name = "input_x_gradient"

    def __init__(self, factor: float = 1.0) -> None:
        super().__init__()
        self.factor = factor

    def _explain(self, X: np.ndarray, target: np.ndarray) -> Explanation:
        explanation = super()._explain(X, target)
        return Explanation(values=explanation.values * self.factor, base_values=explanation.base_values)


def test_positive_rescaling_keeps_scale_free_scores(data):
    model, X = data
    spec = {"faithfulness_correlation": STOCHASTIC["faithfulness_correlation"], "infidelity": STOCHASTIC["infidelity"]}
    comparison = _run(model, X, {"one": ScaledInputXGradient(1.0), "seven": ScaledInputXGradient(7.0)}, spec)
    for metric in spec:
        scores = comparison.scores(metric)
        np.testing.assert_allclose(scores["seven"].to_numpy(), scores["one"].to_numpy(), rtol=1e-9, atol=1e-12)


def test_an_explainers_scores_do_not_depend_on_its_label_or_the_others(data):
    model, X = data
    both = _run(model, X, {"a": InputXGradient(), "b": Powered(power=2.0)})
    alone = _run(model, X, {"renamed": Powered(power=2.0)})
    more = _run(model, X, {"z": Powered(power=0.7), "b": Powered(power=2.0), "a": InputXGradient()})
    for metric in STOCHASTIC:
        reference = both.scores(metric)["b"].to_numpy()
        np.testing.assert_array_equal(alone.scores(metric)["renamed"].to_numpy(), reference, err_msg=metric)
        np.testing.assert_array_equal(more.scores(metric)["b"].to_numpy(), reference, err_msg=metric)
        np.testing.assert_array_equal(more.scores(metric)["a"].to_numpy(), both.scores(metric)["a"].to_numpy())


class OnlyFirstColumn:
    """A plain function of the first column only (the others are ignored exactly)."""

    def __call__(self, X: np.ndarray) -> np.ndarray:
        return np.tanh(np.asarray(X, dtype=np.float64)[:, :1] * 1.7)


class Top(Explainer):
    """All attribution on one column."""

    name = "top"

    def __init__(self, column: int = 0) -> None:
        self.column = column

    def _explain(self, X: np.ndarray, target: np.ndarray) -> Explanation:
        values = np.zeros_like(X)
        values[:, self.column] = 1.0
        return Explanation(values=values, base_values=np.zeros(X.shape[0]))


def test_pgi_and_pgu_share_their_draws_in_compare():
    """With f depending on column 0 only, PGI of "top = column 0" and PGU of "top = column 1"
    both perturb column 0 (and PGU also columns the model ignores): equal iff the noise is shared."""
    X = np.random.default_rng(2).normal(size=(10, 4))
    adapter = wrap(OnlyFirstColumn(), task="regression")
    comparison = compare(adapter, X, explainers={"first": Top(column=0), "second": Top(column=1)},
                         metrics={"pgi": {"k": 1, "n_perturbations": 7}, "pgu": {"k": 1, "n_perturbations": 7}},
                         seed=9, progress=False, n_background=10)
    pgi_first = comparison.scores("pgi")["first"].to_numpy()
    pgu_second = comparison.scores("pgu")["second"].to_numpy()
    assert np.all(pgi_first > 0)
    np.testing.assert_array_equal(pgi_first, pgu_second)
    assert metric_seed(9, metrics.get("pgi")) == metric_seed(9, metrics.get("pgu", k=3))


@pytest.mark.parametrize(
    "name, params",
    [("pgi", {}), ("pgu", {}), ("infidelity", {}), ("infidelity", {"perturbation": "removal"}),
     ("faithfulness_correlation", {}), ("max_sensitivity", {}), ("relative_input_stability", {})],
)
def test_a_rows_draws_do_not_depend_on_the_rows_after_it(data, name, params):
    model, X = data
    adapter = wrap(model)
    background = X[:6]
    explainer = InputXGradient().fit(adapter, background)
    full = explainer.explain(X)
    head = explainer.explain(X[:4])
    options = {"explainer": explainer} if name in ("max_sensitivity", "relative_input_stability") else {}
    metric = metrics.get(name, **params, random_state=13)
    np.testing.assert_array_equal(
        metric(head, adapter, background, **options).scores, metric(full, adapter, background, **options).scores[:4]
    )


def test_row_random_is_one_seed_sequence_per_row():
    draws = row_random(21, 3).standard_normal((3, 4, 2))
    for i in range(3):
        expected = np.random.default_rng(np.random.SeedSequence([21, i])).standard_normal((4, 2))
        np.testing.assert_array_equal(draws[i], expected)
    # Draws made in turn continue each row's stream, as with one generator.
    rows = row_random(21, 3)
    first, second = rows.random((3, 2)), rows.integers(5, size=(3, 6))
    for i in range(3):
        generator = np.random.default_rng(np.random.SeedSequence([21, i]))
        np.testing.assert_array_equal(first[i], generator.random(2))
        np.testing.assert_array_equal(second[i], generator.integers(5, size=6))
    # A Generator gives reproducible streams from its state; a given RowRandom is used as it is.
    a = row_random(np.random.default_rng(4), 2).random((2, 3))
    b = row_random(np.random.default_rng(4), 2).random((2, 3))
    np.testing.assert_array_equal(a, b)
    rows = row_random(1, 2)
    assert row_random(rows, 2) is rows


@pytest.mark.parametrize("bad", [-1, True, "seed", 1.5])
def test_row_random_refuses_bad_seeds(bad):
    with pytest.raises(InvalidInputError, match="random_state"):
        row_random(bad, 3)


def test_row_random_refuses_shapes_not_led_by_the_rows():
    rows = row_random(0, 3)
    with pytest.raises(InvalidInputError, match="first axis"):
        rows.standard_normal((4, 3))
    with pytest.raises(InvalidInputError, match="3 rows, not 2"):
        row_random(rows, 2)
