"""Bad files and arguments: one line on stderr naming the file, the key and what was expected,
exit 2, before any work; --debug anywhere, never changing an exit code."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from agnostic_xai import cli
from agnostic_xai.cli import main
from agnostic_xai.testing import LogisticModel


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A numeric CSV and a TorchScript logistic model over its four columns."""
    directory = tmp_path_factory.mktemp("errors")
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(rng.normal(size=(30, 4)), columns=["a", "b", "c", "d"])
    frame["label"] = (frame["a"] - frame["b"] > 0).astype(int)
    data = directory / "data.csv"
    frame.to_csv(data, index=False)
    weights = np.zeros((4, 2))
    weights[:, 1] = [0.8, -0.6, 0.3, 0.1]
    path = directory / "model.pt"
    traced = torch.jit.trace(LogisticModel(weights, bias=np.zeros(2)), torch.zeros(1, 4, dtype=torch.float64))
    torch.jit.save(traced, path)
    return directory, data, path


def compare_argv(files, out, *extra):
    _, data, model = files
    return ["compare", "--model", str(model), "--data", str(data), "--target", "label", "--out", str(out),
            "--no-progress", "--output", "logit", "--rows", "5", *extra]


def review_argv(files, out, policy, *extra):
    _, data, model = files
    return ["review", "--model", str(model), "--data", str(data), "--target", "label", "--out", str(out),
            "--no-progress", "--output", "logit", "--rows", "5", "--policy", str(policy), *extra]


def run(argv, capsys):
    try:
        code = main(argv)
    except SystemExit as exit_:  # argparse
        code = exit_.code
    return code, capsys.readouterr()


def assert_one_line(err, *parts, limit=400):
    lines = err.strip().splitlines()
    assert len(lines) == 1, err[-2000:]
    assert lines[0].startswith("agnostic-xai: error: ") and len(lines[0]) < limit, lines[0][:500]
    for part in parts:
        assert part in lines[0], lines[0]


def no_work(monkeypatch):
    """Make loading the data (the first real work of compare and review) fail the test."""

    def refuse(*args, **kwargs):
        raise AssertionError("the command started working before refusing its input")

    monkeypatch.setattr(cli, "_load_inputs", refuse)


CONFIG_CASES = [
    ("explainers.toml", "explainers = 5\n", ["explainers must be", "got 5"]),
    ("random.toml", "[explainers]\nrandom = 5\n", ["explainers.random must be a table of parameters", "got 5"]),
    ("parameter.toml", "[explainers.random]\nn_samplez = 8\n",
     ["explainers.random has unknown parameter", "n_samplez"]),
    ("metrics.toml", "metrics = 7\n", ["metrics must be", "got 7"]),
    ("groups.toml", "groups = 5\n", ["groups must be 'auto', 'none' or the path of a groups file", "got 5"]),
    ("empty_list.json", '{"explainers": []}', ["explainers must be", "got []"]),
    ("rows.yaml", "rows: '" + "9" * 100_000 + "'\n", ["rows must be a positive integer", "100,000 characters"]),
    ("seed.toml", "seed = -1\n", ["seed must be a non-negative integer"]),
    ("time.toml", "time_limit = \"long\"\n", ["time_limit must be positive seconds"]),
    ("output.toml", "output = 3\n", ["output must be one of"]),
]


@pytest.mark.parametrize("name, text, parts", CONFIG_CASES, ids=[case[0] for case in CONFIG_CASES])
def test_a_wrong_config_value_is_one_line_naming_file_and_key(files, tmp_path, capsys, monkeypatch, name, text,
                                                               parts):
    config = tmp_path / name
    config.write_text(text)
    no_work(monkeypatch)
    code, captured = run(compare_argv(files, tmp_path / "out", "--config", str(config)), capsys)
    assert code == 2
    assert_one_line(captured.err, f"{config}: ", *parts)


@pytest.mark.parametrize("flag, value", [("--explainers", ","), ("--metrics", " , ,")])
def test_an_empty_name_list_flag_is_one_line(files, tmp_path, capsys, monkeypatch, flag, value):
    no_work(monkeypatch)
    code, captured = run(compare_argv(files, tmp_path / "out", flag, value), capsys)
    assert code == 2
    assert_one_line(captured.err, f"{flag} must be comma-separated registry names")


@pytest.mark.parametrize(
    "text, parts",
    [
        ("g = 5\n", ["group 'g' must be a non-empty list of column names", "got 5"]),
        ("g = []\n", ["group 'g' must be a non-empty list of column names", "got []"]),
        ('g = ["a", "nope"]\n', ["names unknown column 'nope'"]),
        ("", ["it is empty"]),
    ],
    ids=["number", "empty-list", "unknown-column", "empty-file"],
)
def test_a_wrong_groups_file_is_one_line_naming_the_file(files, tmp_path, capsys, text, parts):
    groups = tmp_path / "groups.toml"
    groups.write_text(text)
    code, captured = run(compare_argv(files, tmp_path / "out", "--groups", str(groups), "--explainers", "random",
                                      "--metrics", "sparseness"), capsys)
    assert code == 2
    assert_one_line(captured.err, f"{groups}: ", *parts)
    assert not (tmp_path / "out" / "report.json").exists()


@pytest.mark.parametrize(
    "text, parts",
    [
        ('explainer = "random"\nthresholds = 5\n', ["thresholds must be a table", "got 5"]),
        ('explainer = "random"\nreference = 5\n',
         ["reference must be an explainer's name or a list of names", "got 5"]),
        ("explainer = 5\n", ["explainer must be an explainer's name", "got 5"]),
        ('explainer = "random"\n[thresholds]\nagreement_k = true\n', ["agreement_k must be a positive int"]),
    ],
    ids=["thresholds", "reference", "explainer", "agreement_k"],
)
def test_a_wrong_policy_is_one_line_naming_file_and_key(files, tmp_path, capsys, monkeypatch, text,
                                                        parts):
    policy = tmp_path / "policy.toml"
    policy.write_text(text)
    no_work(monkeypatch)
    code, captured = run(review_argv(files, tmp_path / "out", policy), capsys)
    assert code == 2
    assert_one_line(captured.err, f"{policy}: ", *parts)


@pytest.mark.parametrize("kind", ["config", "groups", "policy"])
def test_a_yaml_alias_bomb_is_refused_in_every_file_the_tool_reads(files, tmp_path, capsys, monkeypatch,
                                                                   kind):
    # Seven levels of nine aliases: 9**7 strings; today's error quoting the value was 74 MB.
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"a{i}: &a{i} [{','.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 8)]
    key = {"config": "explainers", "groups": "g", "policy": "reference"}[kind]
    bomb = tmp_path / f"{kind}.yaml"
    bomb.write_text("\n".join(lines) + f"\n{key}: *a7\n" + ('explainer: random\n' if kind == "policy" else ""))
    if kind == "config":
        no_work(monkeypatch)
        argv = compare_argv(files, tmp_path / "out", "--config", str(bomb))
    elif kind == "groups":
        argv = compare_argv(files, tmp_path / "out", "--groups", str(bomb), "--explainers", "random")
    else:
        no_work(monkeypatch)
        argv = review_argv(files, tmp_path / "out", bomb)
    code, captured = run(argv, capsys)
    assert code == 2
    assert_one_line(captured.err, f"{kind}.yaml uses a YAML alias (*a0, line 2)", limit=300)


@pytest.mark.parametrize("flag", ["--rows", "--jobs", "--background"])
def test_an_argparse_error_is_one_line_with_a_hint_to_help(files, tmp_path, capsys, flag):
    code, captured = run(compare_argv(files, tmp_path / "out", flag, "0"), capsys)
    assert code == 2
    assert_one_line(captured.err, f"argument {flag}: expected a positive integer, got '0'",
                    "(see agnostic-xai compare --help)")


def test_an_unknown_command_or_flag_is_one_line(capsys):
    for argv in (["explode"], ["demo", "--quik"], []):
        code, captured = run(argv, capsys)
        assert code == 2
        assert_one_line(captured.err, "--help)")


@pytest.mark.parametrize("where", ["before", "after"])
def test_debug_before_or_after_the_command_adds_the_traceback_and_keeps_exit_2(files, tmp_path, capsys,
                                                                               where):
    config = tmp_path / "c.toml"
    config.write_text("metrics = 7\n")
    argv = compare_argv(files, tmp_path / "out", "--config", str(config))
    argv = ["--debug", *argv] if where == "before" else [*argv, "--debug"]
    code, captured = run(argv, capsys)
    assert code == 2
    assert "Traceback (most recent call last)" in captured.err
    assert captured.err.strip().splitlines()[-1].startswith("agnostic-xai: error: ")


def test_debug_keeps_the_exit_code_of_an_interrupt(files, tmp_path, capsys, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "_load_inputs", interrupted)
    for debug in ([], ["--debug"]):
        code, captured = run(compare_argv(files, tmp_path / "out", *debug), capsys)
        assert code == 130
        assert captured.err.strip().splitlines()[-1] == (
            "agnostic-xai: interrupted; the finished cells are kept: rerun the same command with --resume"
        )


def test_demo_checks_out_before_any_work(tmp_path, capsys, monkeypatch):
    from agnostic_xai import datasets

    def refuse(*args, **kwargs):
        raise AssertionError("demo trained its model before checking --out")

    monkeypatch.setattr(datasets, "default_task", refuse)
    existing = tmp_path / "report"
    existing.write_text("not a directory")
    for out, part in ((existing, "is an existing file"), (existing / "inside", "cannot be created")):
        code, captured = run(["demo", "--quick", "--no-progress", "--out", str(out)], capsys)
        assert code == 2
        assert_one_line(captured.err, part)
    assert existing.read_text() == "not a directory"


@pytest.mark.parametrize("command", ["compare", "review"])
def test_a_directory_where_a_report_file_goes_is_refused_before_any_work(files, tmp_path, capsys, monkeypatch,
                                                                         command):
    out = tmp_path / "out"
    (out / "report.html").mkdir(parents=True)
    policy = tmp_path / "policy.toml"
    policy.write_text('explainer = "random"\n')
    no_work(monkeypatch)
    argv = compare_argv(files, out) if command == "compare" else review_argv(files, out, policy)
    code, captured = run(argv, capsys)
    assert code == 2
    assert_one_line(captured.err, "holds a directory 'report.html'")


@pytest.mark.parametrize("how", ["flag", "config"])
def test_a_huge_time_limit_runs_every_cell(files, tmp_path, capsys, how):
    config = tmp_path / "c.toml"
    config.write_text("time_limit = 1e12\n")
    extra = ["--time-limit", "1e10"] if how == "flag" else ["--config", str(config)]
    code, captured = run(compare_argv(files, tmp_path / "out", "--explainers", "feature_ablation,random",
                                      "--metrics", "sparseness", *extra), capsys)
    assert code == 0, captured.out[-2000:] + captured.err[-2000:]
    assert "failed" not in captured.out
