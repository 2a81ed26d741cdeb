"""Write the inputs of the governance-review example: a TorchScript model and its data.

    python examples/governance_review/make_inputs.py OUT_DIR

Writes OUT_DIR/model.pt (TorchScript: loads without running code, so no --trust-model) and
OUT_DIR/data.csv (the breast-cancer table's test split, its label and an age band that is
not a model input, for the cohort analysis).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

from agnostic_xai.datasets import default_task


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    task = default_task(seed=0)
    example = torch.zeros(1, task.X_test.shape[1])
    torch.jit.save(torch.jit.trace(task.model.eval(), example), out / "model.pt")
    data = task.X_test.copy()
    data["diagnosis"] = task.y_test
    data["age_band"] = np.random.default_rng(0).choice(["<50", "50+"], len(data))
    data.to_csv(out / "data.csv", index=False)
    print(f"wrote {out / 'model.pt'} and {out / 'data.csv'}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "review-inputs"))
