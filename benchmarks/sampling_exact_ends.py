"""Experiment: sampling_shapley with and without exact end strata, MAE against exact values at each budget."""
import numpy as np, sys
sys.path.insert(0, "benchmarks")
from _common import breast_cancer_tasks, synthetic_task
from agnostic_xai import wrap
from agnostic_xai.explainers import get
from agnostic_xai.testing import exact_shapley
tasks = [breast_cancer_tasks(30)[1], synthetic_task(30)]
for task in tasks:
    adapter = wrap(task.model.inner if hasattr(task.model, "inner") else task.model, feature_names=task.feature_names, output="logit")
    tgt = np.ones(len(task.X), dtype=int)
    exact = exact_shapley(adapter, task.X, task.background, tgt, groups=task.groups)
    for n_perm in (16, 64, 256):
        for ends in (False, True):
            errs, rows, ses = [], [], []
            for seed in range(6):
                ex = get("sampling_shapley", n_permutations=n_perm, exact_ends=ends, random_state=seed).fit(adapter, task.background, groups=task.groups)
                a = ex.explain(task.X, target=tgt)
                errs.append(np.abs(a.values - exact.values).mean()); rows.append(a.model_rows / len(task.X)); ses.append(np.nanmean(a.extras["standard_error"]))
            print(f"{task.name:25s} perms={n_perm:4d} ends={ends!s:5s} rows/row={np.mean(rows):8.0f} MAE={np.mean(errs):.2e} meanSE={np.mean(ses):.2e}")
