"""Speed of the native gradient explainers and DeepLIFT, against captum doing the same work.

Run: ``python benchmarks/gradient_explainers.py``. Explains 50 rows of a 30-64-64-2 MLP (the
default task's architecture, float32, probability of class 1) against a 100-row background
with each explainer's default budget, and the captum call that computes the same quantity
(same baseline, steps, samples). Prints milliseconds per explained row (best of 5) and the
ratio ours / captum. Numbers on the reference machine are in benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import platform
import time
import warnings

import numpy as np
import torch

from agnostic_xai import explainers, wrap
from agnostic_xai.testing import make_mlp


def best_of(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def captum_calls(adapter, X: np.ndarray, background: np.ndarray, target: int) -> dict:
    """captum equivalents, or an empty dict when captum is not installed."""
    try:
        import captum.attr as ca
    except ImportError:
        return {}
    f = adapter.torch_output
    x = torch.as_tensor(X, dtype=torch.float32)
    mean = torch.as_tensor(background.mean(axis=0, keepdims=True), dtype=torch.float32)
    bg = torch.as_tensor(background, dtype=torch.float32)
    probability = torch.nn.Sequential(*adapter.module, torch.nn.Softmax(dim=1))
    return {
        "saliency": lambda: ca.Saliency(f).attribute(x, target=target, abs=False),
        "input_x_gradient": lambda: ca.InputXGradient(f).attribute(x, target=target),
        "integrated_gradients": lambda: ca.IntegratedGradients(f).attribute(x, mean, target=target, n_steps=50),
        "smoothgrad": lambda: ca.NoiseTunnel(ca.Saliency(f)).attribute(
            x, nt_type="smoothgrad", nt_samples=50, stdevs=0.1, target=target, abs=False
        ),
        "expected_gradients": lambda: ca.GradientShap(f).attribute(x, bg, n_samples=200, stdevs=0.0, target=target),
        "deep_lift": lambda: ca.DeepLift(probability).attribute(x, mean, target=target),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    X = rng.normal(size=(args.rows, 30))
    background = rng.normal(size=(100, 30))
    adapter = wrap(make_mlp(30, 2, (64, 64), seed=0), output="probability")
    theirs = captum_calls(adapter, X, background, target=1)
    print(
        f"# {platform.processor() or platform.machine()}, torch {torch.__version__}, {torch.get_num_threads()} threads"
    )
    print(f"# {args.rows} rows, 30-64-64-2 MLP (float32), background of 100 rows, default budgets")
    print("| explainer | model rows / row | ms / row | captum ms / row | ours / captum |")
    print("|---|---:|---:|---:|---:|")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # captum's notices about hooks and requires_grad
        for name in [
            "saliency",
            "input_x_gradient",
            "integrated_gradients",
            "smoothgrad",
            "expected_gradients",
            "deep_lift",
        ]:
            explainer = explainers.get(name).fit(adapter, background)
            attribution = explainer.explain(X, target=1)
            ours = best_of(lambda e=explainer: e.explain(X, target=1), args.repeats) / args.rows
            row = f"| {name} | {attribution.model_rows / args.rows:.0f} | {ours * 1e3:.3f} |"
            if name in theirs:
                theirs[name]()
                reference = best_of(theirs[name], args.repeats) / args.rows
                row += f" {reference * 1e3:.3f} | {ours / reference:.2f} |"
            print(row)


if __name__ == "__main__":
    main()
