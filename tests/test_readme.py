"""The README's Python examples run as written."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_blocks_run(tmp_path, monkeypatch):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert len(blocks) >= 2
    monkeypatch.chdir(tmp_path)  # the examples write report files
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, str(README), "exec"), namespace)  # our own documentation
    comparison = namespace["comparison"]
    assert comparison.winner("deletion_gap") is None or comparison.winner("deletion_gap") in comparison.explainer_names
    assert (tmp_path / "report.html").exists() and (tmp_path / "report.json").exists()
    assert namespace["attribution"].values.shape == (5, 10)
