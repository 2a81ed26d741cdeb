"""DeepLIFT with the rescale rule, against one reference input (Shrikumar et al. 2017).

DeepLIFT explains the difference ``f_t(x) - f_t(x')`` between the row and a reference
``x'`` by propagating *multipliers* ``m = ∂Δout/∂Δin`` backwards through the network, layer
by layer, and returns ``φ_i = m_i (x_i - x'_i)``:

* affine layers (``Linear``, the package's ``Standardize``, ``BatchNorm1d`` in eval mode,
  ``Identity``, ``Dropout`` in eval mode, ``Flatten``) pass multipliers as their gradient
  does, ``m_in = Wᵀ m_out``;
* an elementwise nonlinearity ``y = g(z)`` (``ReLU``, ``LeakyReLU``, ``ELU``, ``Sigmoid``,
  ``Tanh``, ``Softplus``, ``GELU``, ...) gets the rescale rule
  ``m_in = m_out · (g(z) - g(z')) / (z - z')``, falling back to ``g'(z)`` where
  ``|z - z'| <= eps^(2/3) (1 + |z|)`` (``eps`` of the model's dtype: about 4e-11 in float64,
  2.5e-5 in float32, where the quotient would be mostly rounding error);
* a final softmax (in the module, or applied by the adapter for ``output="probability"``)
  gets the *centred rescale* rule described below.

Every rule preserves ``Σ m_in Δin = Σ m_out Δout``, so the values add up to
``f_t(x) - f_t(x')`` exactly (summation-to-delta); ``extras["convergence_delta"]`` reports
the floating-point remainder.

Softmax. DeepLIFT has no rescale rule for a vector nonlinearity. The paper (Sec. 3.6)
advises explaining the logits and centring their contributions across classes; captum
applies an elementwise rescale to the softmax, ``m_z = m_p Δp / Δz``, then subtracts the
mean multiplier — computed over the whole batch, so a row's values depend on the rows
explained with it, and the values do not sum to ``Δp_t``. Here, because a softmax is
unchanged when a constant is added to all logits, the logit differences are centred,
``Δz̃ = Δz - mean(Δz)``, and the target probability is rescaled against its centred logit::

    m_z = (Δp_t / Δz̃_t) · (e_t - 1/k)

This has the same direction as captum's multiplier for a row explained alone (captum's values
are these times ``Δz̃_t / Δz_t``), it sums exactly to ``Δp_t``, and for two classes it equals the
rescale rule of the equivalent sigmoid on the logit margin. Where ``Δz̃_t`` is tiny the
softmax gradient is used.

Models are followed layer by layer, so only ``nn.Sequential`` models (possibly nested) of
the layers above are supported; any other layer raises
:class:`~agnostic_xai.exceptions.IncompatibleModelError`, as does a module whose forward is
not the plain chain of its layers (checked on background rows at ``fit``).

TorchScript. ``torch.jit.script`` of such a ``Sequential`` (the README's safe model format,
also after ``torch.jit.save``/``load``) is followed the same way: a scripted submodule keeps
the qualified name of the class it was compiled from (``__torch__.torch.nn.modules.linear.
Linear``), and a layer is given a rule only when that name is exactly one of the classes
above; a scripted subclass or a user class of the same short name has another qualified name
and is refused. Each scripted layer is then called as it is (its own compiled forward, with
autograd), so nothing of the model is rebuilt. A traced module (``torch.jit.trace``) keeps no
layer structure that can be trusted to be the plain chain, and is refused unless the
layer-by-layer check at ``fit`` reproduces its output.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from .._torch_models import Standardize
from ..exceptions import IncompatibleModelError
from .base import Explanation
from .gradients import _baseline_row, _GradientExplainer, _to_numpy, _values_to_numpy

__all__ = ["DeepLift"]

# Layers that are affine maps of their input in eval mode: multipliers pass as gradients. (A
# BatchNorm1d without running statistics normalises by the batch even in eval mode; the
# adapter's one-row probe already refuses it.)
_AFFINE = (nn.Linear, nn.Identity, nn.Dropout, nn.AlphaDropout, nn.Flatten, nn.BatchNorm1d, Standardize)
# Elementwise nonlinearities: the rescale rule applies.
_ELEMENTWISE = (
    nn.ReLU,
    nn.ReLU6,
    nn.LeakyReLU,
    nn.PReLU,
    nn.ELU,
    nn.SELU,
    nn.CELU,
    nn.GELU,
    nn.SiLU,
    nn.Mish,
    nn.Sigmoid,
    nn.Tanh,
    nn.Softplus,
    nn.Softsign,
    nn.Hardtanh,
    nn.Hardsigmoid,
    nn.Hardswish,
    nn.LogSigmoid,
    nn.Tanhshrink,
    nn.Hardshrink,
    nn.Softshrink,
    nn.Threshold,
)
_SUPPORTED = (
    "Linear, Standardize, BatchNorm1d (with running statistics), Identity, Dropout, Flatten, the elementwise "
    "activations " + ", ".join(c.__name__ for c in _ELEMENTWISE) + ", and a final Softmax/Sigmoid/LogSoftmax"
)


#: Scripted modules by the qualified name of the class they were compiled from.
_SCRIPTED_CLASSES = {
    f"__torch__.{cls.__module__}.{cls.__qualname__}": cls
    for cls in (*_AFFINE, *_ELEMENTWISE, nn.Sequential, nn.Softmax, nn.LogSoftmax)
}


def _layer_class(layer: nn.Module) -> type | None:
    """The class DeepLIFT reads ``layer`` as: its own, or for a scripted module the known class it was compiled from.

    None for a scripted module compiled from anything else (its forward is unknown code).
    """
    if not isinstance(layer, torch.jit.ScriptModule):
        return type(layer)
    compiled = getattr(layer, "_c", None)
    name = compiled._type().qualified_name() if compiled is not None else ""
    # TorchScript numbers the types of same-named classes that differ (``___torch_mangle_3``).
    return _SCRIPTED_CLASSES.get(re.sub(r"\.___torch_mangle_\d+(?=\.)", "", name))


def _is(layer: nn.Module, classes: type | tuple[type, ...]) -> bool:
    cls = _layer_class(layer)
    return cls is not None and issubclass(cls, classes)


def _leaves(module: nn.Module) -> list[nn.Module]:
    """The layers of a (nested, possibly scripted) ``nn.Sequential``, in order; a bare layer is its own list."""
    if _is(module, nn.Sequential):
        return [leaf for child in module.children() for leaf in _leaves(child)]
    return [module]


def _unsupported(layer: nn.Module, position: int, why: str = "") -> IncompatibleModelError:
    return IncompatibleModelError(
        f"deep_lift has no rule for layer {position} ({layer!r}){why}. It supports nn.Sequential models built "
        f"from {_SUPPORTED}. Use integrated_gradients or expected_gradients, which apply to any differentiable model."
    )


@dataclass(frozen=True)
class _Network:
    """The model as DeepLIFT follows it: layers, then how the adapter's output is read off them."""

    layers: tuple[nn.Module, ...]
    kinds: tuple[str, ...]  # "affine" or "elementwise", per layer
    #: "select": output t of the last layer; "binary_logit": [-z, z]; "binary_probability":
    #: [1 - p, p]; "softmax": softmax of the last layer's output.
    head: str


def _compile(adapter: Any) -> _Network:
    """Read the module and the adapter's output head into a :class:`_Network`, or refuse.

    Runs one probe row through the layers: call it in eval mode, without autograd.
    """
    module = adapter.module
    layers = _leaves(module)
    if len(layers) == 1 and not _is(module, (nn.Sequential, *_AFFINE, *_ELEMENTWISE)):
        shown = getattr(module, "original_name", None) or type(module).__name__
        raise IncompatibleModelError(
            f"deep_lift follows nn.Sequential models (eager or scripted) layer by layer; {shown} is a custom module "
            "whose forward it cannot follow. Rewrite it as an nn.Sequential, or use integrated_gradients or "
            "expected_gradients, which apply to any differentiable model."
        )
    final = layers[-1]
    softmax_head = False
    if adapter.head == "probability" and _is(final, nn.Softmax):
        softmax_head, layers = True, layers[:-1]
    elif adapter.head == "log_probability" and adapter.output != "raw":  # raw: log-probabilities explained
        if _is(final, nn.LogSoftmax):
            softmax_head, layers = True, layers[:-1]
        elif _is(final, nn.LogSigmoid):
            layers = [*layers[:-1], nn.Sigmoid()]  # the adapter reads exp(log σ(z)) = σ(z)
        else:
            raise _unsupported(final, len(layers) - 1, " as the last layer")
    if softmax_head and final.dim not in (None, 1, -1):
        raise _unsupported(final, len(layers), " (softmax over a dimension other than the outputs)")

    kinds = []
    for position, layer in enumerate(layers):
        if _is(layer, _AFFINE):
            kinds.append("affine")
        elif _is(layer, _ELEMENTWISE):
            kinds.append("elementwise")
        else:
            vector = _is(layer, (nn.Softmax, nn.LogSoftmax))
            where = " before the last layer" if vector and position < len(layers) - 1 else ""
            raise _unsupported(layer, position, where)

    probe = torch.zeros((1, adapter.n_features), dtype=adapter.dtype, device=adapter.device)
    for layer in layers:
        probe = layer(probe)
    single = probe.shape[-1] == 1
    if softmax_head:
        head = "softmax"
    elif adapter.task == "regression" or adapter.output == "raw":
        head = "select"
    elif adapter.head != "raw":  # a final (Log)Sigmoid: probabilities already
        head = "binary_probability" if single else "select"
    elif adapter.output == "logit":
        head = "binary_logit" if single else "select"
    elif single:  # the adapter applies a sigmoid
        layers, kinds, head = [*layers, nn.Sigmoid()], [*kinds, "elementwise"], "binary_probability"
    else:  # the adapter applies a softmax
        head = "softmax"
    return _Network(tuple(layers), tuple(kinds), head)


def _tolerance(dtype: torch.dtype) -> float:
    """Differences below ``_tolerance * (1 + |z|)`` use the derivative instead of a difference quotient."""
    return float(torch.finfo(dtype).eps) ** (2 / 3)


def _forward(network: _Network, x: torch.Tensor) -> list[torch.Tensor]:
    """Inputs of every layer and the last layer's output (no autograd)."""
    activations = [x]
    with torch.no_grad():
        for layer in network.layers:
            activations.append(layer(activations[-1].clone()))  # clone: in-place activations
    return activations


def _read_all(network: _Network, z: torch.Tensor) -> torch.Tensor:
    """The adapter's explained outputs ``(m, k)`` from the last layer's output."""
    if network.head == "softmax":
        return torch.softmax(z, dim=1)
    if network.head == "binary_logit":
        return torch.cat([-z, z], dim=1)
    if network.head == "binary_probability":
        return torch.cat([1 - z, z], dim=1)
    return z


def _rescale(layer: nn.Module, h: torch.Tensor, h_ref: torch.Tensor, y_ref: torch.Tensor) -> torch.Tensor:
    """``layer(h)`` in value, with the rescale multiplier as its derivative with respect to ``h``."""
    with torch.no_grad():
        z = h.detach()
        y = layer(z.clone())
        delta = z - h_ref
        small = delta.abs() <= _tolerance(z.dtype) * (1 + z.abs())
        ratio = (y - y_ref) / torch.where(small, torch.ones_like(delta), delta)
    if bool(small.any()):
        with torch.enable_grad():
            leaf = z.clone().requires_grad_(True)
            (slope,) = torch.autograd.grad(layer(leaf.clone()).sum(), leaf)
        ratio = torch.where(small, slope, ratio)
    linear = ratio * (h - h_ref)
    return y + (linear - linear.detach())  # exactly y; gradient ``ratio``


def _softmax_target(z: torch.Tensor, z_ref: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """``softmax(z)_t`` in value, with the centred rescale multiplier as its gradient (module docstring)."""
    column = target.view(-1, 1)
    with torch.no_grad():
        p = torch.softmax(z.detach(), dim=1).gather(1, column).squeeze(1)
        p_ref = torch.softmax(z_ref, dim=1)[0, target]
    step = z - z_ref
    centred = step.gather(1, column).squeeze(1) - step.mean(dim=1)
    scale = _tolerance(z.dtype) * (1 + z.detach().abs().amax(dim=1))
    small = centred.detach().abs() <= scale
    ratio = (p - p_ref) / torch.where(small, torch.ones_like(p), centred.detach())
    linear = ratio * centred
    surrogate = linear - linear.detach()  # zero in value; gradient ``ratio · ∂centred/∂z``
    if bool(small.any()):
        exact = torch.softmax(z, dim=1).gather(1, column).squeeze(1)
        surrogate = torch.where(small, exact - exact.detach(), surrogate)
    return p + surrogate


class DeepLift(_GradientExplainer):
    """DeepLIFT (rescale rule) against one reference input (Shrikumar et al. 2017).

    ``φ_i(x) = m_i (x_i - x'_i)`` with multipliers ``m`` propagated back from the explained
    output ``f_t`` by the linear rule through affine layers and the rescale rule
    ``Δg / Δz`` through elementwise activations (see the module docstring for the layers
    and the softmax rule). The values add up to ``f_t(x) - f_t(x')`` exactly: ``base_values``
    is ``f_t(x')`` and ``extras["convergence_delta"]`` the floating-point remainder
    ``Σ_i φ_i - (f_t(x) - f_t(x'))``. With feature groups, the values of a group's columns
    are summed (DeepLIFT's contribution of the group).

    One reference only: DeepSHAP (``deep_shap``) averages DeepLIFT over background rows.

    Parameters
    ----------
    baseline : array-like of shape (d,) or (1, d), optional
        The reference input ``x'``. Default: the per-column mean of the background.

    References
    ----------
    A. Shrikumar, P. Greenside, A. Kundaje. Learning important features through propagating
    activation differences. ICML 2017.
    """

    name: ClassVar[str] = "deep_lift"
    is_additive: ClassVar[bool] = True

    def __init__(self, *, baseline: Any = None) -> None:
        self.baseline = baseline

    def _fit(self) -> None:
        adapter = self.adapter_
        self.baseline_ = _baseline_row(self.baseline, self.background_)
        probe = adapter.to_tensor(self.background_[:16])
        with adapter.gradient_mode(), torch.no_grad():
            self.network_ = _compile(adapter)
            # The layer-by-layer pass must reproduce the model: a Sequential subclass with its
            # own forward, or a head read differently, would silently explain another function.
            ours = _read_all(self.network_, _forward(self.network_, probe)[-1])
            theirs = adapter.torch_output(probe)
        tolerance = float(torch.finfo(adapter.dtype).eps) ** 0.5
        if ours.shape != theirs.shape or not torch.allclose(ours, theirs, rtol=tolerance, atol=tolerance):
            raise IncompatibleModelError(
                f"deep_lift follows the layers of {type(adapter.module).__name__} one after another, but that does "
                "not reproduce the model's output: its forward is not the plain chain of its layers. Use "
                "integrated_gradients or expected_gradients, which apply to any differentiable model."
            )

    def _propagate(self, x: torch.Tensor, target: torch.Tensor, reference: list[torch.Tensor]) -> torch.Tensor:
        """``f_t(x)`` in value, with the DeepLIFT multipliers as its gradient with respect to ``x``."""
        network = self.network_
        h = x
        for i, (layer, kind) in enumerate(zip(network.layers, network.kinds)):
            h = layer(h) if kind == "affine" else _rescale(layer, h, reference[i], reference[i + 1])
        if network.head == "softmax":
            return _softmax_target(h, reference[-1], target)
        return _read_all(network, h).gather(1, target.view(-1, 1)).squeeze(1)

    def _explain(self, X: np.ndarray, target: np.ndarray) -> Explanation:
        adapter = self.adapter_
        n = X.shape[0]
        t = self._target_tensor(target)
        x_ref = adapter.to_tensor(self.baseline_)
        values, outputs = [], []
        with adapter.gradient_mode():
            reference = _forward(self.network_, x_ref)
            base = _read_all(self.network_, reference[-1])[0, t]
            for rows in self._row_blocks(n, 1):
                x = adapter.to_tensor(X[rows]).requires_grad_(True)
                out = self._propagate(x, t[rows], reference)
                (multipliers,) = torch.autograd.grad(out.sum(), x)
                values.append(multipliers * (x.detach() - x_ref))
                outputs.append(out.detach())
            phi = torch.cat(values)
            delta = phi.sum(dim=1) - (torch.cat(outputs) - base)
        return Explanation(
            values=self._group_sum(_values_to_numpy(phi)),
            base_values=_to_numpy(base),
            extras={"convergence_delta": _to_numpy(delta)},
            extra_model_rows=n + 1,
        )
