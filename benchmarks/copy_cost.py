"""What the adapters' defensive copies cost, as a share of one forward of the default MLP.

Run: ``python benchmarks/copy_cost.py``. A model is untrusted code: every chunk it sees is
its own copy and what it returns is copied (``agnostic_xai.adapters``). This prints, for one
chunk of the default batch size (4,096 rows) through the default task's 30-64-64-2 float32
MLP, each copy the adapters make as a share of the forward (medians of 9 rounds; wall time
with torch's threads, and CPU time on one thread, which a busy machine disturbs less):

* the output copy ``Adapter._check_output`` makes of every chunk (4,096 x 2 float64): the
  only copy new on the float32 predict path, where the float64 -> float32 conversion of
  the input was already a copy;
* the input copy a float64 module now gets (4,096 x 30 float64), which used to share the
  caller's memory;
* the input clone of the public ``torch_output`` / ``torch_selected`` (4,096 x 30 float32),
  used by gradient explainers and callers outside the package; the masked evaluator's own
  loop builds a fresh block per pass and copies nothing.

Numbers on the reference machine are in benchmarks/README.md.
"""

from __future__ import annotations

import platform
import time

import numpy as np
import torch

from agnostic_xai.adapters import DEFAULT_BATCH_SIZE
from agnostic_xai.datasets import default_task


def mean_seconds(fn, repeats: int, clock=time.perf_counter) -> float:
    start = clock()
    for _ in range(repeats):
        fn()
    return (clock() - start) / repeats


def shares(module, x, copies, clock, rounds: int = 9) -> tuple[list[float], dict[str, list[float]]]:
    """Per round: the forward's time and each copy's time as a share of it.

    Rounds interleave the forward and the copies and the share is taken per round: on a
    shared machine the load changes between rounds more than within one.
    """
    forwards, result = [], {name: [] for name in copies}
    with torch.inference_mode():
        module(x)
        for _ in range(rounds):
            forward = mean_seconds(lambda: module(x), 50, clock)
            forwards.append(forward)
            for name, copy in copies.items():
                result[name].append(mean_seconds(copy, 200, clock) / forward)
    return forwards, result


def main() -> None:
    module = default_task(seed=0, epochs=1).model  # the architecture and dtype; the weights do not matter
    n = DEFAULT_BATCH_SIZE
    X = np.random.default_rng(0).normal(size=(n, 30))
    x = torch.as_tensor(X, dtype=torch.float32)
    with torch.inference_mode():
        out = module(x).to(torch.float64).numpy()
    copies = {
        "output copy, 4,096 x 2 float64 (every predict chunk)": lambda: np.array(out, copy=True),
        "input copy of a float64 module, 4,096 x 30 float64": lambda: X.astype(np.float64, copy=True),
        "input clone of the public torch_output, 4,096 x 30 float32": lambda: x.clone(),
    }
    threads = torch.get_num_threads()
    wall_forwards, wall = shares(module, x, copies, time.perf_counter)
    # CPU time on one thread: what the work costs, whatever else the machine runs.
    torch.set_num_threads(1)
    cpu_forwards, cpu = shares(module, x, copies, time.process_time)
    torch.set_num_threads(threads)
    print(f"# {platform.processor() or platform.machine()}, torch {torch.__version__}, {threads} threads")
    print(f"forward of the default MLP on {n:,} rows: wall time median {np.median(wall_forwards) * 1e6:.0f} µs "
          f"({threads} threads), CPU time median {np.median(cpu_forwards) * 1e6:.0f} µs (1 thread)")
    print(f"| copy | % of a forward, wall time, {threads} threads | % of a forward, CPU time, 1 thread |")
    print("|---|---:|---:|")
    for name in copies:
        print(f"| {name} | {100 * np.median(wall[name]):.2f} % | {100 * np.median(cpu[name]):.2f} % |")


if __name__ == "__main__":
    main()
