"""Which adapter batch size is fastest, and what BLAS thread contention costs.

Run: ``python benchmarks/adapter_batch_size.py``. Prints the time to evaluate 200,000 rows
through a 30-64-64-2 MLP (the default task's architecture) for several batch sizes, and the
time of torch forwards issued right after numpy BLAS calls, with and without agnostic-xai's
BLAS limit. Numbers on the reference machine (2 cores, CPU) are in benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np
import torch

from agnostic_xai import wrap
from agnostic_xai._threads import blas_single_threaded
from agnostic_xai.testing import make_mlp


def best_of(fn, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    args = parser.parse_args()
    module = make_mlp(30, 2, (64, 64), seed=0)
    X = np.random.default_rng(0).normal(size=(args.rows, 30))
    print(f"# {platform.processor() or platform.machine()}, torch {torch.__version__}, {torch.get_num_threads()} threads")
    print(f"| batch size | ms per {args.rows:,} rows | rows/s |")
    print("|---:|---:|---:|")
    for batch_size in (256, 1024, 2048, 4096, 8192, 65536, args.rows):
        adapter = wrap(module, batch_size=batch_size)
        adapter.predict(X[:10_000])
        seconds = best_of(lambda: adapter.predict(X))
        print(f"| {batch_size:,} | {seconds * 1e3:.1f} | {args.rows / seconds:,.0f} |")

    A = np.random.default_rng(1).normal(size=(300, 300))
    x = torch.as_tensor(X[:4096], dtype=torch.float32)

    def forwards_after_blas() -> float:
        total = 0.0
        for _ in range(20):
            A @ A  # leaves OpenBLAS threads spinning
            start = time.perf_counter()
            with torch.inference_mode():
                module(x)
            total += time.perf_counter() - start
        return total

    free = forwards_after_blas()
    with blas_single_threaded():
        limited = forwards_after_blas()
    print(f"\n20 forwards of 4,096 rows after a numpy matmul: {free * 1e3:.0f} ms with numpy's BLAS threads free, "
          f"{limited * 1e3:.0f} ms with them limited to one ({free / limited:.1f}x)")


if __name__ == "__main__":
    main()
