"""CUDA: the native paths give the CPU's numbers and keep their work on the device.

Skipped where torch sees no CUDA device (CI has none); run on a GPU machine with
``python -m pytest tests/test_cuda.py``. The module is float64 on both devices, so the
values agree to rounding (different kernels sum in different orders), not bit for bit.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from agnostic_xai import FeatureGroups, wrap
from agnostic_xai.adapters import DEFAULT_BATCH_SIZE, DEFAULT_CUDA_BATCH_SIZE
from agnostic_xai.explainers import get
from agnostic_xai.metrics import get as get_metric
from agnostic_xai.removal import DEFAULT_CUDA_MAX_ROWS, block_rows
from agnostic_xai.testing import exact_shapley, make_mlp

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")

D = 6
# Explainers whose work the framework controls end to end (no third-party loop).
NATIVE = {
    "saliency": {},
    "input_x_gradient": {},
    "integrated_gradients": {"n_steps": 16},
    "smoothgrad": {"n_samples": 8},
    "expected_gradients": {"n_samples": 16},
    "deep_lift": {},
    "feature_ablation": {},
    "exact_shapley": {},
    "sampling_shapley": {"n_permutations": 16},
}
RTOL, ATOL = 1e-9, 1e-11


@pytest.fixture(scope="module")
def setup():
    rng = np.random.default_rng(3)
    X, background = rng.normal(size=(16, D)), rng.normal(size=(20, D))
    cpu_module = make_mlp(D, 3, (32, 32), seed=4, dtype=torch.float64)
    cuda_module = make_mlp(D, 3, (32, 32), seed=4, dtype=torch.float64).to("cuda")
    return X, background, wrap(cpu_module, output="logit"), wrap(cuda_module, output="logit")


def test_adapter_sits_on_the_modules_device(setup):
    X, _, cpu, cuda = setup
    assert cuda.device.type == "cuda"
    assert (cpu.batch_size, cuda.batch_size) == (DEFAULT_BATCH_SIZE, DEFAULT_CUDA_BATCH_SIZE)
    assert block_rows(None, cuda) == DEFAULT_CUDA_MAX_ROWS
    np.testing.assert_allclose(cuda.predict(X), cpu.predict(X), rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(cuda.gradient(X, target=2), cpu.gradient(X, target=2), rtol=1e-8, atol=ATOL)


@pytest.mark.parametrize("name", sorted(NATIVE))
def test_native_explainer_gives_the_cpu_values(setup, name):
    X, background, cpu, cuda = setup
    on_cpu = get(name, **NATIVE[name]).fit(cpu, background).explain(X, target=1)
    on_cuda = get(name, **NATIVE[name]).fit(cuda, background).explain(X, target=1)
    np.testing.assert_allclose(on_cuda.values, on_cpu.values, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(on_cuda.base_values, on_cpu.base_values, rtol=1e-8, atol=1e-10)


def test_grouped_estimators_on_cuda_match_the_exact_oracle(setup):
    X, background, _, cuda = setup
    groups = FeatureGroups.from_dict({"a": [0, 1], "c": [3, 4, 5]}, [f"x{i}" for i in range(D)])
    oracle = exact_shapley(cuda, X, background, np.ones(len(X), dtype=int), groups=groups)
    exact = get("exact_shapley").fit(cuda, background, groups=groups).explain(X, target=1)
    np.testing.assert_allclose(exact.values, oracle.values, rtol=1e-9, atol=1e-11)
    sampled = get("sampling_shapley", n_permutations=64, random_state=0)
    sampled = sampled.fit(cuda, background, groups=groups).explain(X, target=1)
    # Three players: every ordering is a permutation or a reverse, 64 walks are close to exact.
    assert np.max(np.abs(sampled.values - oracle.values) / (sampled.extras["standard_error"] + 1e-3)) < 6


def _device_to_host_copies(run) -> int | None:
    """Device-to-host memcpy events while ``run()`` runs, or None when CUPTI records nothing."""
    activities = [torch.profiler.ProfilerActivity.CPU, torch.profiler.ProfilerActivity.CUDA]
    torch.cuda.synchronize()
    with torch.profiler.profile(activities=activities) as profile:
        run()
        torch.cuda.synchronize()
    names = [event.name for event in profile.events()]
    if not any("Memcpy" in n or "kernel" in n.lower() or "gemm" in n.lower() for n in names):
        return None
    return sum("Memcpy DtoH" in n for n in names)


@pytest.mark.parametrize("name", ["exact_shapley", "sampling_shapley", "feature_ablation", "integrated_gradients"])
def test_model_rows_never_leave_the_device(setup, name):
    """Forward chunks of 64 rows: a round trip per chunk would copy hundreds of times."""
    X, background, _, _ = setup
    module = make_mlp(D, 3, (32, 32), seed=4, dtype=torch.float64).to("cuda")
    adapter = wrap(module, output="logit", batch_size=64)
    params = {**NATIVE[name], "n_steps": 128} if name == "integrated_gradients" else NATIVE[name]
    explainer = get(name, **params).fit(adapter, background)
    explained = []
    copies = _device_to_host_copies(lambda: explained.append(explainer.explain(X, target=1)))
    if copies is None:
        pytest.skip("the profiler records no CUDA activity here (no CUPTI)")
    chunks = explained[0].model_rows // 64
    assert chunks >= 20, chunks
    assert copies <= 8, f"{copies} device-to-host copies for {chunks} forward chunks"


def test_removal_metric_runs_on_cuda(setup):
    X, background, cpu, cuda = setup
    attribution = get("exact_shapley").fit(cpu, background).explain(X, target=1)
    metric = get_metric("deletion_auc")
    on_cpu, on_cuda = metric(attribution, cpu, background), metric(attribution, cuda, background)
    np.testing.assert_allclose(on_cuda.scores, on_cpu.scores, rtol=1e-8, atol=1e-10)
