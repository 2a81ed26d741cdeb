"""The native explainers on CUDA against the CPU, on the breast-cancer MLP.

    python benchmarks/cuda_native.py [--rows 200] [--cpu-threads 2] [--gpu-batch-size N] [--gpu-max-rows N]

Needs a CUDA device (it exits with a message otherwise). For each native explainer the
same model, rows, background and seed are explained on the CPU (torch limited to
``--cpu-threads`` threads, the size of the project's CI machine) and on the GPU, and the
script prints ms per row on each, the speed-up, the largest difference between the two
attributions, the number of device-to-host copies during the GPU run (CUPTI counts them;
a path that sent its masked rows or chunk outputs to the host would copy once per chunk)
and the GPU's peak memory.
"""

from __future__ import annotations

import argparse
import copy
import time

import numpy as np
import torch

from agnostic_xai import wrap
from agnostic_xai.datasets import default_task
from agnostic_xai.explainers import get

CASES = [
    ("exact_shapley", {}, True),
    ("sampling_shapley", {"n_permutations": 128}, False),
    ("sampling_shapley", {"n_permutations": 128}, True),
    ("feature_ablation", {}, False),
    ("integrated_gradients", {"n_steps": 64}, False),
    ("expected_gradients", {"n_samples": 64}, False),
    ("deep_lift", {}, False),
]


def _explain(adapter, name, params, background, X, groups):
    explainer = get(name, **params).fit(adapter, background, groups=groups)
    if adapter.device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    attribution = explainer.explain(X, target=1)
    if adapter.device.type == "cuda":
        torch.cuda.synchronize()
    return attribution, time.perf_counter() - start


def _copies(run) -> int:
    activities = [torch.profiler.ProfilerActivity.CPU, torch.profiler.ProfilerActivity.CUDA]
    with torch.profiler.profile(activities=activities) as profile:
        run()
        torch.cuda.synchronize()
    return sum("Memcpy DtoH" in event.name for event in profile.events())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=200)
    parser.add_argument("--cpu-threads", type=int, default=2)
    parser.add_argument("--gpu-batch-size", type=int, default=None, help="the CUDA adapter's batch_size")
    parser.add_argument("--gpu-max-rows", type=int, default=None, help="max_rows of the removal explainers on CUDA")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        raise SystemExit("No CUDA device: this benchmark compares the CPU with a GPU.")
    torch.set_num_threads(args.cpu_threads)
    task = default_task(seed=0)
    X = task.X_test.to_numpy()[: args.rows]
    background = task.X_train.to_numpy()[:50]
    cpu = wrap(task.model.eval())
    cuda = wrap(copy.deepcopy(task.model).to("cuda").eval(), batch_size=args.gpu_batch_size)
    print(f"{torch.cuda.get_device_name()}, torch {torch.__version__}; {len(X)} rows, 50 background rows; "
          f"CPU with {args.cpu_threads} torch threads and batch_size {cpu.batch_size}; GPU batch_size "
          f"{cuda.batch_size}, max_rows {args.gpu_max_rows or 'default'}")
    print("| explainer | players | CPU ms/row | GPU ms/row | speed-up | max abs diff | DtoH copies | GPU peak MiB |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, params, grouped in CASES:
        groups = task.groups if grouped else None
        players = len(groups.names) if grouped else X.shape[1]
        on_cpu, cpu_seconds = _explain(cpu, name, params, background, X, groups)
        if args.gpu_max_rows and "max_rows" in get(name).get_params():
            params = {**params, "max_rows": args.gpu_max_rows}
        _explain(cuda, name, params, background, X[:8], groups)  # warm-up: kernels, allocator
        torch.cuda.reset_peak_memory_stats()
        on_gpu, gpu_seconds = _explain(cuda, name, params, background, X, groups)
        peak = torch.cuda.max_memory_allocated() / 2**20
        explainer = get(name, **params).fit(cuda, background, groups=groups)
        copies = _copies(lambda: explainer.explain(X, target=1))
        diff = float(np.max(np.abs(on_gpu.values - on_cpu.values)))
        print(f"| {name} {params or ''} | {players} | {1e3 * cpu_seconds / len(X):.2f} | "
              f"{1e3 * gpu_seconds / len(X):.3f} | {cpu_seconds / gpu_seconds:.1f}× | {diff:.1e} | {copies} | {peak:.0f} |")


if __name__ == "__main__":
    main()
