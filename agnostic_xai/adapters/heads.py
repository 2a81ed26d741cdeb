"""What a torch module's ``forward`` returns: probabilities, log-probabilities or raw scores.

The torch adapter explains probabilities by default. When the module computes them itself
(``nn.Softmax``, or a functional head: ``F.softmax``, ``torch.softmax``, ``x.softmax(dim)``,
``torch.sigmoid``, ``F.log_softmax`` ...), a second softmax would explain a different,
flattened quantity: the ranking of features survives, their sizes, the base values and the
"probabilities" do not. So the head is read, in this order, from

1. ``"module"``: the last layer of (nested) ``nn.Sequential`` containers;
2. ``"torchscript"``: the operation producing the return value of a TorchScript graph
   (``torch.jit.script`` or ``torch.jit.trace``; both branches of an ``if`` must agree),
   else the class name its last layer was compiled from;
3. ``"graph"``: the last node of an fx graph — a ``torch.export`` module, or an fx trace
   of an eager module (tracing runs ``forward`` on symbolic proxies, buffers and parameters
   included: no tensor of the module is read or written);
4. ``"probe"``: where none of those names a head (data-dependent control flow, a hand-written
   ``exp(z) / exp(z).sum()``), the module's outputs on fixed probe rows. Every row a
   probability vector (non-negative, summing to 1) is evidence only a normalising head
   produces; a single output in [0, 1] is not (a raw score can be small), so one output is
   read as a probability only when the caller says the task is classification and the output
   stays in [0, 1] also on inputs 1,000 times the data's scale, where raw scores leave it.

Shape-only operations after the head (``squeeze``, ``view``, ``reshape``, ``to`` ...) are
looked through. A user's ``head=`` overrides everything (source ``"user"``).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

__all__ = ["HEADS", "HEAD_SOURCES", "HeadReading", "read_head", "probe_head", "scripted_name"]

#: What a module's forward can return, as the adapter names it.
HEADS = ("probability", "log_probability", "raw")
#: How the head was determined.
HEAD_SOURCES = ("module", "torchscript", "graph", "probe", "user")

_PROBABILITY_CLASSES = (nn.Softmax, nn.Sigmoid)
_LOG_PROBABILITY_CLASSES = (nn.LogSoftmax, nn.LogSigmoid)
# TorchScript keeps the eager class name (``original_name``).
_HEADS_BY_NAME = {
    "Softmax": "probability", "Sigmoid": "probability", "LogSoftmax": "log_probability", "LogSigmoid": "log_probability"
}
# Function, method and ATen operator names (``aten::softmax``, ``torch.ops.aten._softmax.default``).
_HEADS_BY_OPERATOR = {
    "softmax": "probability", "_softmax": "probability", "sigmoid": "probability", "expit": "probability",
    "special_expit": "probability", "log_softmax": "log_probability", "_log_softmax": "log_probability",
    "log_sigmoid": "log_probability", "logsigmoid": "log_probability",
}
_NORMALISING = {"softmax", "_softmax", "log_softmax", "_log_softmax"}
# Operations that change a tensor's shape, dtype or storage but not its values.
_TRANSPARENT = {
    "squeeze", "unsqueeze", "view", "_unsafe_view", "view_as", "reshape", "reshape_as", "flatten", "contiguous",
    "clone", "detach", "alias", "to", "_to_copy", "float", "double", "half", "type_as",
}

#: Rows of the probe batch that must give finite outputs for the probe to count as evidence.
_MIN_FINITE_ROWS = 8


@dataclass(frozen=True)
class HeadReading:
    """What was read about a module's head.

    Attributes
    ----------
    head : str or None
        One of :data:`HEADS`, or None when the module's code could not be read.
    source : str
        Where it was read (one of :data:`HEAD_SOURCES`).
    detail : str
        What was read, for messages: ``"aten::softmax"``, ``"fx tracing failed: TraceError"``.
    """

    head: str | None
    source: str
    detail: str


def scripted_name(module: nn.Module) -> str | None:
    """Class name of the eager module a TorchScript module was compiled from (None if not scripted)."""
    return getattr(module, "original_name", None) if isinstance(module, torch.jit.ScriptModule) else None


def _last_leaf(module: nn.Module) -> nn.Module:
    """The last layer of (possibly nested, possibly scripted) ``nn.Sequential`` containers."""
    while True:
        if isinstance(module, nn.Sequential) and len(module) > 0:
            module = module[len(module) - 1]
        elif scripted_name(module) == "Sequential" and len(module._modules) > 0:
            module = list(module._modules.values())[-1]
        else:
            return module


def _class_head(module: nn.Module) -> str | None:
    """The head named by a layer's class (eager or scripted), or None."""
    if isinstance(module, _PROBABILITY_CLASSES):
        return "probability"
    if isinstance(module, _LOG_PROBABILITY_CLASSES):
        return "log_probability"
    return _HEADS_BY_NAME.get(scripted_name(module) or "")


def _operator_head(name: str, dim: Any) -> str:
    """Head of an operation by name; a softmax over the batch (dim 0) normalises no row."""
    head = _HEADS_BY_OPERATOR.get(name, "raw")
    if name in _NORMALISING and isinstance(dim, int) and dim not in (1, -1):
        return "raw"
    return head


# ------------------------------------------------------------------ fx graphs
def _fx_name(node: torch.fx.Node) -> str:
    target = node.target
    name = target if isinstance(target, str) else getattr(target, "__name__", str(target))
    return name.split(".")[0]


def _fx_dim(node: torch.fx.Node) -> Any:
    if "dim" in node.kwargs:
        return node.kwargs["dim"]
    return node.args[1] if len(node.args) > 1 else None


def _fx_head(graph: torch.fx.Graph, root: nn.Module, source: str) -> HeadReading:
    """Head of an fx graph of ``root``: what produces its only output, through shape-only operations."""
    outputs = [node for node in graph.nodes if node.op == "output"]
    returned: Any = outputs[0].args[0] if len(outputs) == 1 else None
    if isinstance(returned, (tuple, list)) and len(returned) == 1:
        returned = returned[0]
    while isinstance(returned, torch.fx.Node):
        if returned.op == "call_module":
            layer = root.get_submodule(str(returned.target))
            return HeadReading(_class_head(layer) or "raw", source, type(layer).__name__)
        if returned.op not in ("call_function", "call_method"):
            break
        name = _fx_name(returned)
        if name in _TRANSPARENT and returned.args and isinstance(returned.args[0], torch.fx.Node):
            returned = returned.args[0]
            continue
        return HeadReading(_operator_head(name, _fx_dim(returned)), source, name)
    return HeadReading("raw", source, "an output that is not one computed tensor")


def _traced_head(module: nn.Module) -> HeadReading:
    """fx trace of an eager module; ``head`` None when its forward cannot be traced.

    Buffers are traced as proxies too (``proxy_buffer_attributes``), so a forward that
    writes into its own buffers (``self.out.copy_(...)``, a call counter) records the write
    instead of doing it: the module is not changed by being read.
    """
    tracer = torch.fx.Tracer()
    tracer.proxy_buffer_attributes = True
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            graph = tracer.trace(module)
    except Exception as exc:  # data-dependent control flow, unsupported Python: nothing readable
        return HeadReading(None, "graph", f"fx tracing failed ({type(exc).__name__})")
    return _fx_head(graph, module, "graph")


# ------------------------------------------------------------------ TorchScript graphs
def _constant(value: Any) -> Any:
    node = value.node()
    return node.output().toIValue() if node.kind() == "prim::Constant" else None


def _torchscript_value_head(value: Any, depth: int = 0) -> str | None:
    """Head of the operation producing a TorchScript value; both branches of an ``if`` must agree."""
    node = value.node()
    kind = node.kind()
    if kind == "prim::If" and depth < 16:
        offset = value.offset()
        heads = {_torchscript_value_head(list(block.outputs())[offset], depth + 1) for block in node.blocks()}
        return heads.pop() if len(heads) == 1 else None
    if not kind.startswith("aten::"):
        return None
    name = kind[len("aten::"):]
    inputs = list(node.inputs())
    if name in _TRANSPARENT and inputs and depth < 64:
        return _torchscript_value_head(inputs[0], depth + 1)
    return _operator_head(name, _constant(inputs[1]) if len(inputs) > 1 else None)


def _torchscript_head(module: torch.jit.ScriptModule) -> HeadReading:
    try:
        graph = module.inlined_graph
        returned = list(graph.return_node().inputs())
    except Exception as exc:  # a module without a readable forward graph
        return HeadReading(None, "torchscript", f"its graph could not be read ({type(exc).__name__})")
    if len(returned) != 1:
        return HeadReading("raw", "torchscript", "more than one returned value")
    head = _torchscript_value_head(returned[0])
    kind = returned[0].node().kind()
    if head is None:
        return HeadReading(None, "torchscript", f"its last operation {kind} names no head")
    return HeadReading(head, "torchscript", kind)


# ------------------------------------------------------------------ reading
def read_head(module: nn.Module) -> HeadReading:
    """Read what ``module`` returns from its structure, without evaluating it on data.

    Parameters
    ----------
    module : torch.nn.Module
        Eager, TorchScript or fx (``torch.export``) module.

    Returns
    -------
    HeadReading
        ``head`` is None when nothing could be read; the caller then probes.
    """
    if isinstance(module, torch.fx.GraphModule):
        return _fx_head(module.graph, module, "graph")
    leaf = _last_leaf(module)
    if isinstance(module, torch.jit.ScriptModule):
        # The graph first: a scripted user class may carry a layer's name (``original_name``).
        reading = _torchscript_head(module)
        named = _class_head(leaf)
        if reading.head is None and named is not None:
            return HeadReading(named, "module", str(scripted_name(leaf)))
        return reading
    named = _class_head(leaf)
    if named is not None:
        return HeadReading(named, "module", type(leaf).__name__)
    if type(leaf).__module__.startswith("torch.nn.modules"):
        # A built-in layer that is no head (Linear, ReLU ...) closes the module: raw scores.
        return HeadReading("raw", "module", type(leaf).__name__)
    return _traced_head(module)


# ------------------------------------------------------------------ probing
def _probe_rows(n_features: int, dtype: torch.dtype, device: torch.device, extreme: bool) -> torch.Tensor:
    """Fixed rows: zeros, uniform [0, 1) (the range of MinMax-scaled tables), standard normal; and
    normal rows scaled by 1,000 when ``extreme``. Seeded by a private generator (global RNG untouched)."""
    generator = torch.Generator().manual_seed(0)
    parts = [
        torch.zeros(1, n_features, dtype=torch.float64),
        torch.rand(8, n_features, generator=generator, dtype=torch.float64),
        torch.randn(8, n_features, generator=generator, dtype=torch.float64),
    ]
    if extreme:
        parts.append(1e3 * torch.randn(8, n_features, generator=generator, dtype=torch.float64))
    return torch.cat(parts).to(device=device, dtype=dtype)


def probe_head(
    forward: Callable[[torch.Tensor], Any],
    n_features: int,
    dtype: torch.dtype,
    device: torch.device,
    *,
    single_is_classifier: bool,
) -> tuple[str | None, str]:
    """Decide from outputs alone whether the module returns (log-)probabilities.

    Parameters
    ----------
    forward : callable
        The module, called without autograd in eval mode.
    n_features, dtype, device
        The module's input width, dtype and device.
    single_is_classifier : bool
        The caller declared a classification task: only then may a single output be read as
        a probability (see the module docstring for why).

    Returns
    -------
    (str or None, str)
        ``"probability"``, ``"log_probability"`` or None (no evidence for either), and what was
        observed, for the message that says what was assumed.
    """
    rows = _probe_rows(n_features, dtype, device, extreme=False)
    try:
        out = forward(rows)
        single = isinstance(out, torch.Tensor) and (out.ndim == 1 or (out.ndim == 2 and out.shape[1] == 1))
        if single and single_is_classifier:
            extreme = _probe_rows(n_features, dtype, device, extreme=True)[rows.shape[0]:]
            out = torch.cat([out, forward(extreme)])
    except Exception as exc:  # the module may refuse rows outside its data's domain: no evidence
        return None, f"the module raised {type(exc).__name__} on the probe rows"
    if not isinstance(out, torch.Tensor) or out.ndim not in (1, 2):
        return None, "the probe output is not an (n, k) tensor"
    values = out.detach().to(device="cpu", dtype=torch.float64, copy=True)
    values = values[:, None] if values.ndim == 1 else values
    finite = values[torch.isfinite(values).all(dim=1)]
    n, k = finite.shape
    if n < _MIN_FINITE_ROWS:
        return None, f"only {n} probe rows gave finite outputs"
    eps = float(torch.finfo(dtype).eps) if dtype.is_floating_point else float(torch.finfo(torch.float32).eps)
    tolerance = min(1e-2, max(1e-6, 64 * k * eps))
    if k == 1:
        if single_is_classifier and bool(((finite >= 0) & (finite <= 1)).all()):
            return "probability", (
                f"its single output stays in [0, 1] on all {n} probe rows, also on rows 1,000 times the data's scale"
            )
        return None, f"its single output on {n} probe rows is not bounded to [0, 1]"
    if bool((finite >= -tolerance).all()) and bool(((finite.sum(dim=1) - 1).abs() <= tolerance).all()):
        return "probability", f"its outputs on {n} probe rows are probability vectors (non-negative, summing to 1)"
    if bool((finite <= tolerance).all()) and bool((finite.logsumexp(dim=1).abs() <= tolerance).all()):
        return "log_probability", f"its outputs on {n} probe rows are log-probability vectors (exp sums to 1)"
    return None, f"its outputs on {n} probe rows are not probability vectors"
