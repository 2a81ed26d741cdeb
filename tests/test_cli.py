"""The agnostic-xai command line, end to end on files in a temporary directory."""

from __future__ import annotations

import json
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest
import torch

from agnostic_xai.cli import main
from agnostic_xai.io import load_table
from agnostic_xai.testing import LogisticModel

FAST = ["--drop", "age_band", "--explainers", "exact_shapley,kernel_shap,random",
        "--metrics", "deletion_auc,shapley_error", "--rows", "12", "--background", "15", "--no-progress"]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A CSV with a categorical column and a cohort column, and a TorchScript model over its encoding."""
    directory = tmp_path_factory.mktemp("cli")
    rng = np.random.default_rng(0)
    n = 60
    frame = pd.DataFrame(
        {
            "income": rng.normal(50, 10, n),
            "debt": rng.normal(20, 5, n),
            "purpose": rng.choice(["car", "home", "study"], n),
            "age_band": rng.choice(["<40", "40+"], n),
        }
    )
    frame["default"] = ((frame["debt"] - 0.3 * frame["income"] + rng.normal(0, 2, n)) > 5).astype(int)
    data = directory / "loans.csv"
    frame.to_csv(data, index=False)
    features = load_table(data, target="default", columns=["income", "debt", "purpose"]).X
    weights = np.zeros((features.shape[1], 2))
    weights[:, 1] = [-0.3, 1.0, 0.5, -0.5, 0.2][: features.shape[1]]
    weights[:, 0] = -weights[:, 1]  # log-odds of each class, as a binary logistic model has
    model = LogisticModel(weights, bias=np.array([2.5, -2.5]))
    scripted = torch.jit.trace(model, torch.zeros(1, features.shape[1], dtype=torch.float64))
    model_path = directory / "model.pt"
    torch.jit.save(scripted, model_path)
    return directory, data, model_path, list(features.columns)


class _Collector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.images = []

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.images.append(dict(attrs)["src"])


def test_demo_quick_writes_the_report(tmp_path, capsys):
    out = tmp_path / "demo"
    code = main(["demo", "--quick", "--out", str(out), "--no-progress"])
    printed = capsys.readouterr().out
    assert code == 0
    assert "exact_shapley" in printed and "mean rank" in printed and "wall time" in printed
    for name in ("report.html", "report.json", "table.csv", "summary.csv"):
        assert (out / name).stat().st_size > 0
    collector = _Collector()
    collector.feed((out / "report.html").read_text())
    assert collector.images and all(src.startswith("data:image/png;base64,") for src in collector.images)
    report = json.loads((out / "report.json").read_text())
    assert report["format"] == "agnostic-xai.report/1"


def test_compare_from_files(files, tmp_path, capsys):
    directory, data, model, columns = files
    out = tmp_path / "compare"
    code = main(["compare", "--model", str(model), "--data", str(data), "--target", "default",
                 "--out", str(out), *FAST, "--background-data", str(data)])
    printed = capsys.readouterr().out
    assert code == 0, printed
    table = pd.read_csv(out / "table.csv")
    assert set(table.explainer) == {"exact_shapley", "kernel_shap", "random"}
    assert set(table.metric) == {"deletion_auc", "shapley_error"}
    assert len(table) == (3 * 2 - 1) * 12  # exact_shapley, the ground truth, is not scored against itself
    # purpose was one-hot encoded and is explained as one group; age_band is not a model input
    summary = json.loads((out / "report.json").read_text())
    assert "purpose" in json.dumps(summary["reproducibility"])
    exact = table[(table.explainer == "exact_shapley") & (table.metric == "shapley_error")].score
    np.testing.assert_allclose(exact, 0.0, atol=1e-10)


def test_same_seed_gives_the_same_table(files, tmp_path):
    directory, data, model, columns = files
    tables = []
    for run in ("a", "b"):
        out = tmp_path / run
        assert main(["compare", "--model", str(model), "--data", str(data), "--target", "default",
                     "--out", str(out), *FAST, "--seed", "7"]) == 0
        tables.append(pd.read_csv(out / "table.csv")[["explainer", "metric", "row", "score"]])
    pd.testing.assert_frame_equal(*tables)


POLICY = """
explainer = "kernel_shap"
reference = ["exact_shapley"]
[thresholds]
surrogate_fidelity = {fidelity}
agreement = 0.6
agreement_k = 2
seed_stability = 0.5
beats_random_p = 0.05
beats_random_metric = "deletion_auc"
randomization_similarity = 1.0
"""


@pytest.mark.parametrize("fidelity, expected", [(0.3, 0), (0.9999, 1)])
def test_review_passes_and_fails_a_policy(files, tmp_path, capsys, fidelity, expected):
    directory, data, model, columns = files
    policy = tmp_path / "policy.toml"
    policy.write_text(POLICY.format(fidelity=fidelity))
    out = tmp_path / "review"
    code = main(["review", "--model", str(model), "--data", str(data), "--target", "default", "--policy",
                 str(policy), "--cohort", "age_band", "--out", str(out), "--rows", "24", "--background", "20",
                 "--no-progress", "--metrics", "deletion_auc", "--output", "logit"])
    printed = capsys.readouterr().out
    assert code == expected, printed
    review = json.loads((out / "review.json").read_text())
    assert review["passed"] is (expected == 0)
    names = [c["name"] for c in review["checks"]]
    assert names[0] == "surrogate fidelity" and any(n.startswith("top-2 agreement") for n in names)
    assert review["cohorts"]["sizes"] and len(review["cohorts"]["features"]) == 3  # income, debt, purpose
    manifest = json.loads((out / "manifest.json").read_text())
    assert set(manifest["files"]) == {"model", "data", "policy"}
    assert all(len(f["sha256"]) == 64 for f in manifest["files"].values())
    assert manifest["seed"] == 0 and manifest["versions"]["torch"]
    assert "<script" not in (out / "review.html").read_text().lower()


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["--data", "missing.csv"], "does not exist"),
        (["--target", "nope"], "--target column 'nope'"),
        (["--explainers", "shapley_magic"], "Unknown explainer 'shapley_magic'"),
        (["--rows", "0"], None),  # argparse: exit 2 with its usage line
        (["--drop", "zip_code"], "--drop column 'zip_code'"),
        (["--explainers", "kernel_shap", "--config", "BUDGET"], "kernel_shap needs at least p + 2"),
        (["--drop", ""], "Does it take 7 inputs"),  # age_band kept: the data has 7 encoded columns
    ],
)
def test_bad_input_is_one_line_and_exit_2(files, tmp_path, capsys, arguments, message):
    directory, data, model, columns = files
    base = {"--model": str(model), "--data": str(data), "--target": "default", "--drop": "age_band"}
    argv = ["compare", "--out", str(tmp_path / "o"), "--no-progress"]
    for flag, value in base.items():
        if flag not in arguments:
            argv += [flag, value]
    if "BUDGET" in arguments:
        config = tmp_path / "budget.toml"
        config.write_text('[explainers.kernel_shap]\nn_samples = 3\n')
        arguments = [
            str(config) if a == "BUDGET" else a for a in arguments if a != "--explainers" and a != "kernel_shap"
        ]
    argv += [str(directory / a) if a == "missing.csv" else a for a in arguments]
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's own errors
        code = exc.code
    err = capsys.readouterr().err
    assert code == 2
    if message is not None:
        lines = [line for line in err.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("agnostic-xai: error:") and message in lines[0]


def test_untrusted_pickle_is_refused_with_exit_2(files, tmp_path, capsys):
    import pickle

    directory, data, model, columns = files
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps({"not": "a model"}))
    code = main(["compare", "--model", str(path), "--data", str(data), "--target", "default",
                 "--out", str(tmp_path / "o"), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and "--trust-model" in err and "Traceback" not in err


def test_every_metric_that_reruns_the_explainer_gets_the_demo_budget():
    # relative_output_stability joined the default set with its full budget and made the demo
    # 55 s slower: the budget is now found by class attributes, not by a list of names.
    import inspect

    from agnostic_xai import metrics as registry
    from agnostic_xai.cli import _stability_budget

    budget = _stability_budget("default", 8)
    for name in registry.available():
        cls = registry.get_class(name)
        perturbs = "n_perturbations" in inspect.signature(cls).parameters
        if cls.family != "agreement" and cls.requires_explainer and perturbs:
            assert budget[name] == {"n_perturbations": 8}, name
    assert "relative_output_stability" in budget and budget["relative_output_stability"]
