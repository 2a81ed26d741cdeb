"""The model's own output is explained: functional heads, TorchScript, torch.export, probing.

Reference for every case: the same weights written with ``nn.Softmax``/``nn.Sigmoid`` (whose
detection predates these tests) and the module's own outputs.
"""

import textwrap
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from agnostic_xai import explainers, wrap
from agnostic_xai.adapters.heads import read_head
from agnostic_xai.exceptions import HeadProbeWarning, IncompatibleModelError, InvalidInputError
from agnostic_xai.io.models import load_model

D = 6


def body(k=3, seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(D, 16), nn.Tanh(), nn.Linear(16, k)).double()


class Functional(nn.Module):
    """A third-party style classifier: ``forward`` ends in ``F.softmax`` (subclasses: other heads)."""

    outputs = 3

    def __init__(self, seed=0):
        super().__init__()
        self.body = body(self.outputs, seed)

    def forward(self, x):
        return F.softmax(self.body(x), dim=1)


class TorchSoftmax(Functional):
    def forward(self, x):
        return torch.softmax(self.body(x), -1)


class TensorSoftmax(Functional):
    def forward(self, x):
        return self.body(x).softmax(1)


class LogSoftmax(Functional):
    def forward(self, x):
        return F.log_softmax(self.body(x), dim=1)


class Sigmoid(Functional):
    outputs = 1

    def forward(self, x):
        return torch.sigmoid(self.body(x))


class SigmoidSqueezed(Sigmoid):
    def forward(self, x):
        return torch.sigmoid(self.body(x)).squeeze(1)


HEADS = {
    Functional: "probability", TorchSoftmax: "probability", TensorSoftmax: "probability",
    LogSoftmax: "log_probability", Sigmoid: "probability", SigmoidSqueezed: "probability",
}


class Branchy(nn.Module):
    """Data-dependent control flow (fx cannot trace it) before a softmax, or before raw logits."""

    softmax: torch.jit.Final[bool]  # a constant when scripted: the graph keeps only the data-dependent if

    def __init__(self, k=3, softmax=True):
        super().__init__()
        self.body, self.softmax = body(k), softmax

    def forward(self, x):
        z = self.body(x)
        if bool((x.abs().sum(dim=1) > 1e12).any()):
            z = z.clamp(-30, 30)
        return torch.softmax(z, dim=1) if self.softmax else z


def own_probabilities(module, X):
    """What the module itself returns, presented as the adapter presents probabilities."""
    with torch.no_grad():
        out = module(torch.as_tensor(X)).numpy()
    out = out[:, None] if out.ndim == 1 else out
    return np.hstack([1 - out, out]) if out.shape[1] == 1 else out


@pytest.fixture
def X(rng):
    return rng.uniform(size=(12, D))


@pytest.mark.parametrize("cls", list(HEADS), ids=lambda c: c.__name__)
@pytest.mark.parametrize("compiled", ["eager", "script", "trace"])
def test_functional_heads_are_detected_and_not_applied_twice(cls, compiled, X):
    module = cls()
    expected = own_probabilities(module, X)
    if HEADS[cls] == "log_probability":
        expected = np.exp(expected)
    if compiled == "script":
        module = torch.jit.script(module)
    elif compiled == "trace":
        module = torch.jit.trace(module, torch.as_tensor(X[:2]))
    adapter = wrap(module)
    source = {"eager": "graph", "script": "torchscript", "trace": "torchscript"}[compiled]
    assert (adapter.task, adapter.output, adapter.head, adapter.head_source) == (
        "classification", "probability", HEADS[cls], source
    )
    np.testing.assert_allclose(adapter.predict(X), expected, rtol=0, atol=1e-12)


def test_exported_program_is_wrapped_through_its_module(X):
    module = Functional()
    program = torch.export.export(module, (torch.as_tensor(X[:2]),), dynamic_shapes=({0: torch.export.Dim("b")},))
    adapter = wrap(program)
    assert (adapter.head, adapter.head_source) == ("probability", "graph")
    np.testing.assert_allclose(adapter.predict(X), own_probabilities(module, X), rtol=0, atol=1e-12)


def test_shapley_values_of_a_functional_softmax_equal_those_of_nn_softmax(X, rng):
    """exact_shapley of F.softmax in forward = of the same network ending in nn.Softmax (rtol 1e-10).

    Also against the closed-form base value: for interventional Shapley values it is the
    mean over the background of the module's own probability of the target class.
    """
    module = Functional()
    reference = wrap(nn.Sequential(module.body, nn.Softmax(dim=1)))
    background = rng.uniform(size=(15, D))
    expected = explainers.get("exact_shapley").fit(reference, background).explain(X, target=1)
    for candidate in (module, torch.jit.script(module), torch.jit.trace(module, torch.as_tensor(X[:2]))):
        got = explainers.get("exact_shapley").fit(wrap(candidate), background).explain(X, target=1)
        np.testing.assert_allclose(got.values, expected.values, rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(got.base_values, expected.base_values, rtol=1e-10)
    np.testing.assert_allclose(expected.base_values, own_probabilities(module, background)[:, 1].mean(), rtol=1e-12)
    # Efficiency against the module's own probabilities: base + sum(phi) = p(x).
    np.testing.assert_allclose(
        expected.base_values + expected.values.sum(axis=1), own_probabilities(module, X)[:, 1], rtol=0, atol=1e-12
    )


def test_kernel_shap_of_a_functional_softmax_equals_that_of_nn_softmax(X, rng):
    module = Functional()
    background = rng.uniform(size=(10, D))
    runs = [
        explainers.get("kernel_shap", n_samples=200, random_state=0).fit(wrap(m), background).explain(X[:4], target=0)
        for m in (module, nn.Sequential(module.body, nn.Softmax(dim=1)))
    ]
    np.testing.assert_allclose(runs[0].values, runs[1].values, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(runs[0].base_values, runs[1].base_values, rtol=1e-10)


def test_untraceable_softmax_is_found_by_probing_and_said(X):
    module = Branchy(softmax=True)
    with pytest.warns(HeadProbeWarning, match=r"probability vectors.*head='raw'"):
        adapter = wrap(module)
    assert (adapter.head, adapter.head_source) == ("probability", "probe")
    assert "fx tracing failed" in adapter.head_detail
    np.testing.assert_allclose(adapter.predict(X), own_probabilities(module, X), rtol=0, atol=1e-12)
    # Stated by the caller: no warning (warnings are errors here), same numbers.
    stated = wrap(module, head="probability")
    assert stated.head_source == "user"
    np.testing.assert_allclose(stated.predict(X), adapter.predict(X), rtol=0, atol=0)
    # Scripted, both branches of the if end in softmax: read from the graph.
    assert wrap(torch.jit.script(module)).head_source == "torchscript"


def test_normalisations_the_graph_cannot_name_are_decided_by_the_outputs():
    """A hand-written softmax reads as a division: its outputs decide. A softmax over the batch
    (dim 0) normalises no row: no head, and its rows are no probability vectors either."""
    class Manual(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = body(4)

        def forward(self, x):
            e = self.body(x).exp()
            return e / e.sum(dim=1, keepdim=True)

    with pytest.warns(HeadProbeWarning, match=r"last operation, truediv"):
        adapter = wrap(Manual())
    assert (adapter.head, adapter.head_source) == ("probability", "probe")

    class OverTheBatch(Functional):
        def forward(self, x):
            return F.softmax(self.body(x), dim=0)

    reading = read_head(OverTheBatch())
    assert (reading.head, reading.source) == ("raw", "graph")
    assert (wrap(OverTheBatch()).head, wrap(OverTheBatch()).head_source) == ("raw", "graph")


@pytest.mark.parametrize("seed", range(20))
def test_raw_logits_are_never_taken_for_probabilities(seed, X):
    """Untraceable modules returning raw scores (several scales, non-negative ReLU outputs too)."""
    module = Branchy(k=2 + seed % 3, softmax=False)
    with torch.no_grad():
        for p in module.parameters():
            p.mul_(0.05 + seed / 4)
    if seed % 2:
        module.body.append(nn.ReLU())
    adapter = wrap(module)  # a HeadProbeWarning would fail the test
    assert (adapter.head, adapter.head_source) == ("raw", "probe")
    with torch.no_grad():
        logits = module(torch.as_tensor(X))
    np.testing.assert_allclose(adapter.predict(X), torch.softmax(logits, 1).numpy(), rtol=0, atol=1e-12)


def test_single_output_needs_more_than_values_in_0_1():
    class Untraceable(nn.Module):
        def __init__(self, sigmoid):
            super().__init__()
            self.linear, self.sigmoid = nn.Linear(D, 1).double(), sigmoid
            with torch.no_grad():  # small logits: every output in [0, 1] on ordinary rows
                self.linear.weight.mul_(0.01)
                self.linear.bias.fill_(0.5)

        def forward(self, x):
            z = self.linear(x)
            if bool((z > 1e12).any()):
                z = z * 0
            return torch.sigmoid(z) if self.sigmoid else z

    # Not declared a classifier: one raw output is a regression (no probe conclusion).
    assert (wrap(Untraceable(True)).task, wrap(Untraceable(True)).head) == ("regression", "raw")
    # Declared a classifier, raw logits in [0, 1]: they leave [0, 1] at scale 1,000, so a sigmoid is applied.
    raw = wrap(Untraceable(False), task="classification")
    assert (raw.head, raw.head_source) == ("raw", "probe")
    with pytest.warns(HeadProbeWarning, match=r"single output stays in \[0, 1\]"):
        probability = wrap(Untraceable(True), task="classification")
    assert probability.head == "probability"


def test_head_override_and_bad_values(X):
    module = Branchy(softmax=True)
    forced = wrap(module, head="raw")  # the caller says: raw scores (a softmax is applied on top)
    assert (forced.head, forced.head_source) == ("raw", "user")
    np.testing.assert_allclose(
        forced.predict(X), torch.softmax(torch.as_tensor(own_probabilities(module, X)), 1).numpy(), atol=1e-12
    )
    with pytest.raises(InvalidInputError, match="head must be one of"):
        wrap(module, head="softmax")
    with pytest.raises(InvalidInputError, match="head applies to torch modules only"):
        wrap(lambda Z: Z.sum(axis=1), head="raw")
    with pytest.raises(InvalidInputError, match="cannot be changed"):
        wrap(forced, head="probability")


def test_logits_of_a_functional_softmax_are_refused_saying_how_it_was_read():
    with pytest.raises(IncompatibleModelError, match=r"fx graph: softmax.*logits are not available"):
        wrap(Functional(), output="logit")
    with pytest.raises(IncompatibleModelError, match=r"log-probabilities, not logits"):
        wrap(LogSoftmax(), output="logit")


def test_reading_the_head_changes_nothing_in_the_module():
    class Counting(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = body(2)
            self.register_buffer("calls", torch.zeros(()))

        def forward(self, x):
            self.calls.add_(1)
            return F.softmax(self.body(x), dim=1)

    module = Counting().train()
    before = {k: v.clone() for k, v in module.state_dict().items()}
    assert read_head(module).head == "probability"
    assert module.training and all(torch.equal(before[k], v) for k, v in module.state_dict().items())


def test_state_dict_and_torchscript_files_keep_the_functional_head(tmp_path, monkeypatch, X):
    name = f"user_heads_{tmp_path.name}"
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(
        f"""
        import torch
        import torch.nn.functional as F
        from torch import nn

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.body = nn.Sequential(nn.Linear({D}, 8), nn.ReLU(), nn.Linear(8, 3))

            def forward(self, x):
                return F.softmax(self.body(x), dim=1)
        """
    ))
    monkeypatch.syspath_prepend(str(tmp_path))
    module = __import__(name).Net()
    torch.save(module.state_dict(), tmp_path / "weights.pt")
    torch.jit.save(torch.jit.script(module), tmp_path / "scripted.pt")
    expected = own_probabilities(module, X.astype(np.float32))
    for adapter, source in ((load_model(tmp_path / "weights.pt", model_class=f"{name}:Net"), "graph"),
                            (load_model(tmp_path / "scripted.pt"), "torchscript")):
        assert (adapter.head, adapter.head_source) == ("probability", source)
        np.testing.assert_allclose(adapter.predict(X), expected, rtol=0, atol=1e-6)
    stated = load_model(tmp_path / "scripted.pt", head="probability")
    assert (stated.head, stated.head_source) == ("probability", "user")


def test_nn_softmax_detection_is_unchanged(mlp_classifier, X):
    adapter = wrap(nn.Sequential(mlp_classifier, nn.Softmax(dim=1)))
    assert (adapter.head, adapter.head_source) == ("probability", "module")
    plain = wrap(mlp_classifier)
    assert (plain.head, plain.head_source) == ("raw", "module")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        wrap(nn.Linear(D, 2))
