"""Every example runs (with small budgets) and says what it should."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from agnostic_xai.cli import main

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def run(script: Path, *args: str, cwd: Path) -> str:
    result = subprocess.run(
        [sys.executable, str(script), *args], cwd=cwd, capture_output=True, text=True, timeout=600, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def test_benchmark_explainers(tmp_path):
    out = run(EXAMPLES / "benchmark_explainers.py", "--quick", "--out", str(tmp_path / "bench"), cwd=tmp_path)
    assert "Winner on shapley_error" in out and "Faithfulness (deletion_gap) against cost" in out
    assert (tmp_path / "bench.html").stat().st_size > 10_000


def test_table_analysis(tmp_path):
    out = run(EXAMPLES / "table_analysis.py", "--quick", cwd=tmp_path)
    assert "Global importance" in out
    # the four categorical purposes are one feature, and the model's strongest driver is debt
    importance = out.split("Global importance (mean |Shapley value| of the log-odds of default):\n")[1]
    assert importance.splitlines()[0].startswith("debt_ratio")
    assert "purpose" in importance and "purpose=car" not in importance


@pytest.mark.parametrize("fidelity, expected", [(None, 0), ("0.9", 1)])
def test_governance_review(tmp_path, fidelity, expected):
    run(EXAMPLES / "governance_review" / "make_inputs.py", str(tmp_path / "in"), cwd=tmp_path)
    policy = EXAMPLES / "governance_review" / "policy.toml"
    if fidelity is not None:  # the same policy with the stricter surrogate threshold
        text = policy.read_text().replace("surrogate_fidelity = 0.8", f"surrogate_fidelity = {fidelity}")
        policy = tmp_path / "strict.toml"
        policy.write_text(text)
    code = main(
        ["review", "--model", str(tmp_path / "in" / "model.pt"), "--data", str(tmp_path / "in" / "data.csv"),
         "--target", "diagnosis", "--drop", "age_band", "--cohort", "age_band", "--output", "logit",
         "--groups", str(EXAMPLES / "governance_review" / "groups.toml"), "--policy", str(policy),
         "--out", str(tmp_path / "pack"), "--rows", "30", "--metrics", "deletion_auc", "--no-progress"]
    )
    assert code == expected
    review = json.loads((tmp_path / "pack" / "review.json").read_text())
    failed = [c["name"] for c in review["checks"] if not c["passed"]]
    assert failed == ([] if expected == 0 else ["surrogate fidelity"])
