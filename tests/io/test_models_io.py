"""Loading models from files: formats, safety (refusing code-executing files), round trips."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

import agnostic_xai as ax

# torch 2.13 deprecates TorchScript; it stays a supported (and safe) file format here.
pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.*:DeprecationWarning")


def _mlp(head: nn.Module, k: int, d: int = 4) -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(d, 8), nn.ReLU(), nn.Sequential(nn.Linear(8, k), head))


HEADS = [
    pytest.param(nn.Softmax(dim=1), 3, "probability", id="softmax"),
    pytest.param(nn.LogSoftmax(dim=1), 3, "log_probability", id="log_softmax"),
    pytest.param(nn.Sigmoid(), 1, "probability", id="sigmoid"),
    pytest.param(nn.Identity(), 3, "raw", id="logits"),
]


def _exported(module: nn.Module, d: int = 4) -> nn.Module:
    batch = torch.export.Dim("batch")
    return torch.export.export(module, (torch.zeros(2, d),), dynamic_shapes=({0: batch},)).module()


@pytest.mark.parametrize("compile_", [torch.jit.script, _exported], ids=["torchscript", "export"])
@pytest.mark.parametrize(("head", "k", "kind"), HEADS)
def test_compiled_modules_keep_their_head_and_width(compile_, head, k, kind):
    # A compiled Softmax head must be seen, or the adapter would apply softmax a second time.
    module = _mlp(head, k)
    X = np.random.default_rng(0).normal(size=(6, 4))
    eager, compiled = ax.wrap(module), ax.wrap(compile_(module))
    assert compiled.head == eager.head == kind
    assert compiled.n_features == 4 and compiled.n_outputs == eager.n_outputs
    np.testing.assert_allclose(compiled.predict(X), eager.predict(X), rtol=0, atol=1e-6)
    np.testing.assert_allclose(compiled.gradient(X), eager.gradient(X), rtol=0, atol=1e-6)


def test_symbolically_traced_module_head_is_seen():
    traced = torch.fx.symbolic_trace(nn.Sequential(nn.Linear(3, 2), nn.Softmax(dim=1)))
    adapter = ax.wrap(traced)
    assert adapter.head == "probability" and adapter.n_features == 3
