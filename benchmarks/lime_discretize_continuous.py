"""Which default for Lime(discretize_continuous=...)? Measured against Shapley references.

Two settings, each with 50 background rows and 20 test rows, the logit of the predicted
class explained:

* d=10: an MLP trained (like the embedded default) on the ten "mean ..." columns of the
  breast-cancer table; reference = exact interventional Shapley values (ExactShapley).
* d=30: the embedded default (``default_task()``); reference = an antithetic
  permutation-sampling estimate of the same Shapley values with many permutations (its
  standard error is printed; it is far below the differences measured).

Per row: Pearson and Spearman correlation of LIME's values with the reference, relative L2
error ``‖φ − φ*‖ / ‖φ*‖``, and overlap of the top-5 features by |value|; mean (standard
error) over the rows. Run: ``python benchmarks/lime_discretize_continuous.py``.
"""

from __future__ import annotations

import time

import numpy as np
import torch
from scipy.stats import spearmanr
from torch import nn

from agnostic_xai import wrap
from agnostic_xai.datasets import default_task
from agnostic_xai.explainers.exact import ExactShapley
from agnostic_xai.explainers.lime_tabular import Lime
from agnostic_xai.removal import coalition_values
from agnostic_xai.testing import Standardize, make_mlp, seeded

N_BACKGROUND, N_TEST = 50, 20
N_PAIRS = 256  # antithetic pairs of permutations in the d=30 reference


def small_task(task):
    """An MLP on the 10 'mean ...' columns, trained as default_task trains its model."""
    cols = [c for c in task.X_train.columns if c.startswith("mean ")]
    X_train, X_test = task.X_train[cols], task.X_test[cols]
    mlp = make_mlp(len(cols), 2, (64, 64), seed=0)
    model = nn.Sequential(Standardize(X_train.mean().to_numpy(), X_train.std().to_numpy()), *mlp)
    xt = torch.tensor(X_train.to_numpy(dtype=np.float32))
    yt = torch.as_tensor(task.y_train, dtype=torch.long)
    with seeded(0):
        opt = torch.optim.Adam(model.parameters(), lr=3e-3, weight_decay=1e-3)
        for _ in range(300):
            opt.zero_grad()
            nn.functional.cross_entropy(model(xt), yt).backward()
            opt.step()
    model.eval()
    return model, X_train, X_test


def permutation_reference(adapter, X, background, target, n_pairs, seed=0):
    """Antithetic permutation estimate of interventional Shapley values, with its standard error."""
    n, d = X.shape
    rng = np.random.default_rng(seed)
    estimates = np.empty((n_pairs, n, d))
    for p in range(n_pairs):
        order = np.argsort(rng.random((n, d)), axis=1)
        for k, perm in enumerate((order, order[:, ::-1])):
            # masks[i, j] keeps the first j features of row i's permutation.
            ranks = np.argsort(perm, axis=1)
            masks = ranks[:, None, :] < np.arange(d + 1)[None, :, None]
            v = coalition_values(adapter, X, masks, background, target)
            marginal = np.diff(v, axis=1)  # contribution of perm[:, j]
            phi = np.empty((n, d))
            np.put_along_axis(phi, perm, marginal, axis=1)
            estimates[p] = phi if k == 0 else (estimates[p] + phi) / 2
    return estimates.mean(0), estimates.std(0, ddof=1) / np.sqrt(n_pairs)


def scores(values, reference):
    pearson = np.array([np.corrcoef(a, b)[0, 1] for a, b in zip(values, reference)])
    spearman = np.array([spearmanr(a, b)[0] for a, b in zip(values, reference)])
    rel = np.linalg.norm(values - reference, axis=1) / np.linalg.norm(reference, axis=1)
    top = np.array([
        len(set(np.argsort(-np.abs(a))[:5]) & set(np.argsort(-np.abs(b))[:5])) / 5 for a, b in zip(values, reference)
    ])
    return {"pearson": pearson, "spearman": spearman, "rel_l2": rel, "top5": top}


def report(label, adapter, background, X, reference):
    print(f"\n{label}")
    for disc in (True, False):
        start = time.perf_counter()
        att = Lime(discretize_continuous=disc).fit(adapter, background).explain(X)
        ms = 1000 * (time.perf_counter() - start) / len(X)
        s = scores(att.values, reference)
        cells = "  ".join(f"{k} {v.mean():.3f} ({v.std(ddof=1) / np.sqrt(len(v)):.3f})" for k, v in s.items())
        print(f"  discretize_continuous={disc!s:5}  {cells}  score {att.extras['score'].mean():.3f}  {ms:.0f} ms/row")


def main():
    task = default_task()
    rng = np.random.default_rng(0)

    model10, X10_train, X10_test = small_task(task)
    adapter10 = wrap(model10, output="logit")
    bg = X10_train.to_numpy()[rng.choice(len(X10_train), N_BACKGROUND, replace=False)]
    X = X10_test.to_numpy()[:N_TEST]
    exact = ExactShapley().fit(adapter10, bg).explain(X)
    target10 = adapter10.resolve_target(None, adapter10.validate(X))
    check, _ = permutation_reference(adapter10, X, bg, target10, n_pairs=N_PAIRS)
    error = np.linalg.norm(check - exact.values, axis=1) / np.linalg.norm(exact.values, axis=1)
    print(f"(permutation reference, {2 * N_PAIRS} permutations, vs exact at d=10: median relative error "
          f"{np.median(error):.4f})")
    report("d=10 MLP, reference: exact Shapley", adapter10, bg, X, exact.values)

    adapter = wrap(task.model, output="logit")
    bg = task.X_train.to_numpy()[rng.choice(len(task.X_train), N_BACKGROUND, replace=False)]
    X = task.X_test.to_numpy()[:N_TEST]
    target = adapter.resolve_target(None, adapter.validate(X))
    start = time.perf_counter()
    reference, se = permutation_reference(adapter, X, bg, target, n_pairs=N_PAIRS)
    print(f"\n(d=30 reference: {2 * N_PAIRS} permutations, {time.perf_counter() - start:.0f} s; "
          f"median relative s.e. {np.median(np.linalg.norm(se, axis=1) / np.linalg.norm(reference, axis=1)):.3f})")
    report("d=30 default task, reference: permutation Shapley", adapter, bg, X, reference)


if __name__ == "__main__":
    main()
