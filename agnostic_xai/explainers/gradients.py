"""Gradient explainers: saliency, input × gradient, integrated gradients, SmoothGrad, expected gradients.

All five are written in torch against the differentiable :class:`~agnostic_xai.adapters.TorchAdapter`:
they explain exactly the adapter's explained output ``f_t`` (a probability or a logit, as the
adapter says) for the target ``t`` of each row. For each block of rows, every point the method
needs (interpolation steps, noisy copies, path samples) is built as one tensor on the adapter's
device, sent through one forward and one backward pass of at most ``adapter.batch_size`` rows,
and reduced there; only the final attributions come back to the host, as float64.

Random draws (SmoothGrad's noise, expected gradients' background rows and path positions) are
made with numpy from ``random_state`` in row order, so the values depend on the seed and the
rows only: not on the device, the model's dtype or ``batch_size``.

Cost accounting: one gradient evaluation counts as one model row (its backward pass is not
counted separately).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

import numpy as np
import torch

from .._checks import check_float, check_int
from ..exceptions import InvalidInputError, ModelOutputError, UnknownNameError
from ..removal import reference_set
from .base import Explainer, Explanation

__all__ = [
    "QUADRATURE_METHODS",
    "ExpectedGradients",
    "InputXGradient",
    "IntegratedGradients",
    "Saliency",
    "SmoothGrad",
    "quadrature",
]

#: Rules for the path integral of integrated gradients.
QUADRATURE_METHODS = ("gauss_legendre", "trapezoid", "riemann_right", "riemann_middle")


# ---------------------------------------------------------------------- parameter checks
def _baseline_row(baseline: Any, background: np.ndarray) -> np.ndarray:
    """The ``(1, d)`` reference row: the background mean when ``baseline`` is None."""
    if baseline is None:
        return background.mean(axis=0, keepdims=True)
    return reference_set("baseline", None, baseline, n_features=background.shape[1])


def quadrature(method: str, n_steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Positions ``α_k`` in [0, 1] and weights ``w_k`` with ``∫₀¹ g(α) dα ≈ Σ_k w_k g(α_k)``.

    Parameters
    ----------
    method : {"gauss_legendre", "trapezoid", "riemann_right", "riemann_middle"}
        ``"gauss_legendre"``: the ``n_steps``-point Gauss–Legendre rule, exact for
        polynomials of degree ``2 n_steps - 1`` (so for any linear model with one step).
        ``"trapezoid"``: ``n_steps`` equally spaced points including both ends, weights
        ``1 / (n_steps - 1)`` halved at the ends (needs ``n_steps >= 2``).
        ``"riemann_right"`` / ``"riemann_middle"``: ``n_steps`` equal cells, evaluated at
        their right end / centre, weights ``1 / n_steps``.
    n_steps : int
        Number of points.

    Returns
    -------
    (ndarray of shape (n_steps,), ndarray of shape (n_steps,))
        Positions and weights; the weights sum to 1.
    """
    if method not in QUADRATURE_METHODS:
        raise UnknownNameError(f"Unknown integration method {method!r}; choose one of {QUADRATURE_METHODS}.")
    n_steps = check_int(n_steps, "n_steps", minimum=2 if method == "trapezoid" else 1)
    if method == "gauss_legendre":
        nodes, weights = np.polynomial.legendre.leggauss(n_steps)
        return (nodes + 1.0) / 2.0, weights / 2.0
    if method == "trapezoid":
        weights = np.full(n_steps, 1.0 / (n_steps - 1))
        weights[[0, -1]] /= 2.0
        return np.linspace(0.0, 1.0, n_steps), weights
    offset = 1.0 if method == "riemann_right" else 0.5
    return (np.arange(n_steps) + offset) / n_steps, np.full(n_steps, 1.0 / n_steps)


def _to_numpy(tensor: torch.Tensor) -> np.ndarray:
    return tensor.detach().to(device="cpu", dtype=torch.float64).numpy()


def _values_to_numpy(tensor: torch.Tensor) -> np.ndarray:
    """Attributions as float64 numpy, refusing NaN or infinite values (a model or overflow problem)."""
    values = _to_numpy(tensor)
    bad = ~np.isfinite(values).all(axis=1)
    if bad.any():
        raise ModelOutputError(
            f"The model's gradients are NaN or infinite for {int(bad.sum())} of {len(values)} rows. Check the rows "
            "for extreme values, or explain a float64 copy of the model (model.double())."
        )
    return values


# ---------------------------------------------------------------------- shared machinery
class _GradientExplainer(Explainer):
    """Batched gradient evaluation on the adapter's device, shared by the gradient methods."""

    requires_gradients: ClassVar[bool] = True

    def _target_tensor(self, target: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(target, dtype=torch.long, device=self.adapter_.device)

    def _row_blocks(self, n: int, points_per_row: int) -> Iterator[slice]:
        """Blocks of rows whose ``points_per_row`` points fill about one ``batch_size`` pass."""
        step = max(1, self.adapter_.batch_size // points_per_row)
        for start in range(0, n, step):
            yield slice(start, min(start + step, n))

    def _gradients(self, points: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Gradients of ``f_target`` at ``points`` (m, d), in passes of at most ``batch_size`` rows."""
        adapter = self.adapter_
        size = adapter.batch_size
        if points.shape[0] <= size:
            return adapter.gradient_tensor(points, target)[1]
        return torch.cat(
            [
                adapter.gradient_tensor(points[i : i + size], target[i : i + size])[1]
                for i in range(0, len(points), size)
            ]
        )

    def _outputs(self, x: torch.Tensor) -> torch.Tensor:
        """Explained outputs ``(m, k)`` without autograd, in passes of at most ``batch_size`` rows."""
        adapter = self.adapter_
        with torch.no_grad():
            return torch.cat(
                [adapter.torch_output(x[i : i + adapter.batch_size]) for i in range(0, len(x), adapter.batch_size)]
            )

    def _group_sum(self, values: np.ndarray) -> np.ndarray:
        """Column attributions summed within each feature group (identity without groups)."""
        if self.groups_ is None:
            return values
        return values @ self.groups_.matrix.T.astype(np.float64)

    def _group_matrix_tensor(self) -> torch.Tensor | None:
        if self.groups_ is None:
            return None
        return torch.as_tensor(
            self.groups_.matrix.T.astype(np.float64), dtype=self.adapter_.dtype, device=self.adapter_.device
        )


# ---------------------------------------------------------------------- local gradients
class Saliency(_GradientExplainer):
    """Gradient of the explained output at the row (Simonyan et al. 2014).

    ``φ_i(x) = ∂f_t/∂x_i (x)`` — or its absolute value with ``abs=True``, the saliency map of
    the original paper and of most tutorials. A local sensitivity, not an additive
    decomposition of ``f(x)``: ``base_values`` are 0, and feature groups are refused (a sum
    of partial derivatives is not the effect of a group).

    Parameters
    ----------
    abs : bool, default=False
        Return ``|∂f_t/∂x_i|`` instead of the signed gradient.

    References
    ----------
    K. Simonyan, A. Vedaldi, A. Zisserman. Deep inside convolutional networks: visualising
    image classification models and saliency maps. ICLR workshop, 2014.
    """

    name: ClassVar[str] = "saliency"
    supports_groups: ClassVar[bool] = False

    def __init__(self, *, abs: bool = False) -> None:
        self.abs = abs

    def _fit(self) -> None:
        if not isinstance(self.abs, (bool, np.bool_)):
            raise InvalidInputError(f"abs must be True or False, got {self.abs!r}.")

    def _explain(self, X: np.ndarray, target: np.ndarray) -> Explanation:
        adapter = self.adapter_
        t = self._target_tensor(target)
        blocks = []
        with adapter.gradient_mode():
            for rows in self._row_blocks(X.shape[0], 1):
                grad = self._gradients(adapter.to_tensor(X[rows]), t[rows])
                blocks.append(grad.abs() if self.abs else grad)
        return Explanation(
            values=_values_to_numpy(torch.cat(blocks)), base_values=np.zeros(1), extra_model_rows=X.shape[0]
        )


class InputXGradient(_GradientExplainer):
    """Input times gradient (Shrikumar et al. 2016).

    ``φ_i(x) = x_i · ∂f_t/∂x_i (x)``: a first-order Taylor term around the all-zero input.
    It is not an additive decomposition of ``f(x)`` in general (``base_values`` are 0); it
    is one for models that are positively homogeneous, such as bias-free ReLU networks.
    With feature groups, the values of a group's columns are summed: the first-order
    term of the group.

    References
    ----------
    A. Shrikumar, P. Greenside, A. Shcherbina, A. Kundaje. Not just a black box: learning
    important features through propagating activation differences. arXiv:1605.01713, 2016.
    """

    name: ClassVar[str] = "input_x_gradient"

    def __init__(self) -> None:
        pass

    def _explain(self, X: np.ndarray, target: np.ndarray) -> Explanation:
        adapter = self.adapter_
        t = self._target_tensor(target)
        blocks = []
        with adapter.gradient_mode():
            for rows in self._row_blocks(X.shape[0], 1):
                x = adapter.to_tensor(X[rows])
                blocks.append(x * self._gradients(x, t[rows]))
        values = self._group_sum(_values_to_numpy(torch.cat(blocks)))
        return Explanation(values=values, base_values=np.zeros(1), extra_model_rows=X.shape[0])


# ---------------------------------------------------------------------- path methods
class IntegratedGradients(_GradientExplainer):
    """Integrated gradients along the straight path from a baseline (Sundararajan et al. 2017).

    ``φ_i(x) = (x_i - x'_i) ∫₀¹ ∂f_t/∂x_i (x' + α (x - x')) dα``, computed with the
    quadrature rule ``method`` on ``n_steps`` points. By the gradient theorem the values add
    up to ``f_t(x) - f_t(x')`` (completeness); ``base_values`` is ``f_t(x')`` and
    ``extras["convergence_delta"]`` holds the quadrature error per row,
    ``Σ_i φ_i - (f_t(x) - f_t(x'))``. With feature groups, the values of a group's columns
    are summed: that sum is exactly the path attribution of the group along the same path.

    Parameters
    ----------
    baseline : array-like of shape (d,) or (1, d), optional
        The reference input ``x'``. Default: the per-column mean of the background.
    n_steps : int, default=50
        Points on the path.
    method : {"gauss_legendre", "trapezoid", "riemann_right", "riemann_middle"}, default="gauss_legendre"
        Quadrature rule (see :func:`quadrature`). Gauss–Legendre converges far faster for
        smooth models and is exact for linear ones. Note that captum's ``"riemann_trapezoid"``
        uses weights that sum to ``(n_steps - 1) / n_steps``: its values are this
        ``"trapezoid"`` rule's times that factor.

    References
    ----------
    M. Sundararajan, A. Taly, Q. Yan. Axiomatic attribution for deep networks. ICML 2017.
    """

    name: ClassVar[str] = "integrated_gradients"
    is_additive: ClassVar[bool] = True

    def __init__(self, *, baseline: Any = None, n_steps: int = 50, method: str = "gauss_legendre") -> None:
        self.baseline = baseline
        self.n_steps = n_steps
        self.method = method

    def _fit(self) -> None:
        self.alphas_, self.weights_ = quadrature(self.method, self.n_steps)
        self.baseline_ = _baseline_row(self.baseline, self.background_)

    def _explain(self, X: np.ndarray, target: np.ndarray) -> Explanation:
        adapter = self.adapter_
        n, d = X.shape
        s = len(self.alphas_)
        t = self._target_tensor(target)
        alphas = torch.as_tensor(self.alphas_, dtype=adapter.dtype, device=adapter.device).view(1, s, 1)
        weights = torch.as_tensor(self.weights_, dtype=adapter.dtype, device=adapter.device).view(1, s, 1)
        reference = adapter.to_tensor(self.baseline_)
        values, outputs = [], []
        with adapter.gradient_mode():
            reference_output = self._outputs(reference)[0]
            for rows in self._row_blocks(n, s):
                x = adapter.to_tensor(X[rows])
                r = x.shape[0]
                step = (x - reference).unsqueeze(1)
                points = (reference.unsqueeze(1) + alphas * step).reshape(r * s, d)
                grad = self._gradients(points, t[rows].repeat_interleave(s)).view(r, s, d)
                values.append(step.squeeze(1) * (weights * grad).sum(dim=1))
                outputs.append(self._outputs(x).gather(1, t[rows].view(-1, 1)).squeeze(1))
            phi = torch.cat(values)
            base = reference_output[t]
            delta = phi.sum(dim=1) - (torch.cat(outputs) - base)
        return Explanation(
            values=self._group_sum(_values_to_numpy(phi)),
            base_values=_to_numpy(base),
            extras={"convergence_delta": _to_numpy(delta)},
            extra_model_rows=n * s + n + 1,
        )


class ExpectedGradients(_GradientExplainer):
    """Expected gradients: integrated gradients averaged over background baselines (Erion et al. 2021).

    ``φ_i(x) = E_{b ~ background, α ~ U(0, 1)} [(x_i - b_i) ∂f_t/∂x_i (b + α (x - b))]``,
    estimated with ``n_samples`` draws ``(b, α)`` per row (the estimator of SHAP's
    GradientExplainer). Each draw is an unbiased one-point estimate of the integrated
    gradients from baseline ``b``, whose values add up to ``f_t(x) - f_t(b)``, so the values
    add up to ``f_t(x) - E_b f_t(b)`` in expectation; ``base_values`` is ``E_b f_t(b)`` over
    the whole background. For a linear model they are its Shapley values up to the sampling
    of ``b``. With feature groups, the values of a group's columns are summed (the group's
    path attribution on each draw).

    ``extras["standard_error"]`` (n, m) is the Monte Carlo standard error of each value,
    ``std_k(c_k) / sqrt(n_samples)`` over the per-draw contributions ``c_k``, and
    ``extras["sum_standard_error"]`` (n,) that of their sum, which bounds the expected
    additivity gap.

    Parameters
    ----------
    n_samples : int, default=200
        Draws ``(b, α)`` per row.
    random_state : int, numpy Generator or None, default=0
        Seed of the draws.

    References
    ----------
    G. Erion, J. D. Janizek, P. Sturmfels, S. M. Lundberg, S.-I. Lee. Improving performance
    of deep learning models with axiomatic attribution priors and expected gradients.
    Nature Machine Intelligence 3, 620–631, 2021.
    """

    name: ClassVar[str] = "expected_gradients"
    is_stochastic: ClassVar[bool] = True
    is_additive: ClassVar[bool] = True

    def __init__(self, *, n_samples: int = 200, random_state: Any = 0) -> None:
        self.n_samples = n_samples
        self.random_state = random_state

    def _fit(self) -> None:
        check_int(self.n_samples, "n_samples", minimum=2)

    def _explain(self, X: np.ndarray, target: np.ndarray) -> Explanation:
        adapter = self.adapter_
        n, d = X.shape
        s = int(self.n_samples)
        b = self.background_.shape[0]
        rng = self._rng()
        t = self._target_tensor(target)
        groups = self._group_matrix_tensor()
        background = adapter.to_tensor(self.background_)
        values, errors, sum_errors = [], [], []
        with adapter.gradient_mode():
            base = self._outputs(background).mean(dim=0)[t]
            for rows in self._row_blocks(n, s):
                x = adapter.to_tensor(X[rows])
                r = x.shape[0]
                # One uniform pair per draw, consumed in row order: draws do not depend on blocking.
                u = rng.random((r, s, 2))
                index = torch.as_tensor(np.minimum((u[..., 0] * b).astype(np.int64), b - 1), device=adapter.device)
                alpha = torch.as_tensor(u[..., 1:], dtype=adapter.dtype, device=adapter.device)
                start = background[index]  # (r, s, d)
                step = x.unsqueeze(1) - start
                points = (start + alpha * step).reshape(r * s, d)
                grad = self._gradients(points, t[rows].repeat_interleave(s)).view(r, s, d)
                contributions = step * grad
                if groups is not None:
                    contributions = contributions @ groups
                values.append(contributions.mean(dim=1))
                errors.append(contributions.std(dim=1) / s**0.5)
                sum_errors.append(contributions.sum(dim=2).std(dim=1) / s**0.5)
        return Explanation(
            values=_values_to_numpy(torch.cat(values)),
            base_values=_to_numpy(base),
            extras={
                "standard_error": _to_numpy(torch.cat(errors)),
                "sum_standard_error": _to_numpy(torch.cat(sum_errors)),
            },
            extra_model_rows=n * s + b,
        )


# ---------------------------------------------------------------------- noise averaging
class SmoothGrad(_GradientExplainer):
    """SmoothGrad: the gradient averaged over noisy copies of the row (Smilkov et al. 2017).

    ``φ_i(x) = (1/S) Σ_k ∂f_t/∂x_i (x + ε_k)`` with ``ε_kj ~ N(0, (noise · σ_j)²)``, where
    ``σ_j`` is the background's standard deviation of column ``j`` (the paper's noise level
    relative to the input range, per column because tabular columns have their own
    scales). Like :class:`Saliency` it is a sensitivity map, not an additive decomposition:
    ``base_values`` are 0 and feature groups are refused. ``extras["standard_error"]``
    holds the Monte Carlo standard error of each value.

    Parameters
    ----------
    n_samples : int, default=50
        Noisy copies ``S`` per row.
    noise : float, default=0.1
        Noise standard deviation as a fraction of each column's background std.
    random_state : int, numpy Generator or None, default=0
        Seed of the noise.

    References
    ----------
    D. Smilkov, N. Thorat, B. Kim, F. Viégas, M. Wattenberg. SmoothGrad: removing noise by
    adding noise. arXiv:1706.03825, 2017.
    """

    name: ClassVar[str] = "smoothgrad"
    is_stochastic: ClassVar[bool] = True
    supports_groups: ClassVar[bool] = False
    min_background: ClassVar[int] = 2

    def __init__(self, *, n_samples: int = 50, noise: float = 0.1, random_state: Any = 0) -> None:
        self.n_samples = n_samples
        self.noise = noise
        self.random_state = random_state

    def _fit(self) -> None:
        check_int(self.n_samples, "n_samples", minimum=2)
        noise = check_float(self.noise, "noise", minimum=0.0, kind="a non-negative finite number")
        self.noise_scale_ = noise * self.background_.std(axis=0)

    def _explain(self, X: np.ndarray, target: np.ndarray) -> Explanation:
        adapter = self.adapter_
        n, d = X.shape
        s = int(self.n_samples)
        rng = self._rng()
        t = self._target_tensor(target)
        values, errors = [], []
        with adapter.gradient_mode():
            for rows in self._row_blocks(n, s):
                x = adapter.to_tensor(X[rows])
                r = x.shape[0]
                # Drawn in float64 in row order: the same noise on every device, dtype and blocking.
                noise = adapter.to_tensor((rng.standard_normal((r, s, d)) * self.noise_scale_).reshape(r * s, d))
                points = x.repeat_interleave(s, dim=0) + noise
                grad = self._gradients(points, t[rows].repeat_interleave(s)).view(r, s, d)
                values.append(grad.mean(dim=1))
                errors.append(grad.std(dim=1) / s**0.5)
        return Explanation(
            values=_values_to_numpy(torch.cat(values)),
            base_values=np.zeros(1),
            extras={"standard_error": _to_numpy(torch.cat(errors))},
            extra_model_rows=n * s,
        )
