from agnostic_xai.cli import main


def test_demo_prints_exact_group_shapley_values(capsys):
    assert main(["demo", "--rows", "2", "--background", "10"]) == 0
    out = capsys.readouterr().out
    assert "concave points" in out and "fractal dimension" in out
    gap = float(out.split("max |base + sum(phi) - f(x)| = ")[1].split(";")[0])
    assert gap < 1e-4  # float32 model evaluated in different batch shapes


def test_bad_arguments_exit_2(capsys):
    import pytest

    with pytest.raises(SystemExit) as excinfo:
        main(["demo", "--rows", "many"])
    assert excinfo.value.code == 2
