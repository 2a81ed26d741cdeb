"""Peak memory of exact_shapley with 16 features and 100 background rows: bounded by the chunk size.

    python benchmarks/memory.py

2**16 coalitions × 100 background rows = 6.6 million model rows per explained row. The
masked rows are built and evaluated ``max_rows`` at a time, so the peak resident memory
grows with ``max_rows``, not with the number of coalitions. Peak RSS is read from
``/proc/self/status`` (VmHWM) in a fresh process per setting.
"""

from __future__ import annotations

import subprocess
import sys

CHILD = r"""
import numpy as np, torch, time
from agnostic_xai import wrap
from agnostic_xai.explainers import get
from agnostic_xai.testing import make_mlp

def peak_mb():
    for line in open('/proc/self/status'):
        if line.startswith('VmHWM'):
            return int(line.split()[1]) / 1024

rng = np.random.default_rng(0)
adapter = wrap(make_mlp(16, 2, (64, 64), seed=0), output='logit')
X, background = rng.normal(size=(1, 16)), rng.normal(size=(100, 16))
explainer = get('exact_shapley', max_rows=MAX_ROWS).fit(adapter, background)
before = peak_mb()
start = time.perf_counter()
explainer.explain(X, target=0)
print(f'{before:.0f} {peak_mb():.0f} {time.perf_counter() - start:.1f}')
"""


def main() -> None:
    print("| max_rows | peak RSS before (MB) | peak RSS after one row (MB) | seconds |")
    print("|---:|---:|---:|---:|")
    for max_rows in (16_384, 65_536, 262_144):
        out = subprocess.run([sys.executable, "-c", CHILD.replace("MAX_ROWS", str(max_rows))],
                             capture_output=True, text=True, check=True).stdout.split()
        print(f"| {max_rows:,} | {float(out[0]):.0f} | {float(out[1]):.0f} | {out[2]} |")


if __name__ == "__main__":
    main()
