import pytest

from agnostic_xai.config import load_config
from agnostic_xai.exceptions import InvalidInputError


@pytest.mark.parametrize(
    "name, text",
    [
        ("c.toml", 'explainer = "lime"\n[thresholds]\nagreement = 0.6\n'),
        ("c.yaml", "explainer: lime\nthresholds:\n  agreement: 0.6\n"),
        ("c.json", '{"explainer": "lime", "thresholds": {"agreement": 0.6}}'),
    ],
)
def test_the_three_formats_give_the_same_mapping(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    assert load_config(path) == {"explainer": "lime", "thresholds": {"agreement": 0.6}}


def test_yaml_never_builds_python_objects(tmp_path):
    path = tmp_path / "evil.yaml"
    path.write_text("x: !!python/object/apply:os.system ['echo pwned']\n")
    with pytest.raises(InvalidInputError, match="could not be parsed"):
        load_config(path)


@pytest.mark.parametrize(
    "name, content, match",
    [
        ("missing.toml", None, "does not exist"),
        ("c.ini", "a=1", "must be .toml"),
        ("bad.toml", "a = = 1", "could not be parsed"),
        ("list.yaml", "- 1\n- 2\n", "mapping at the top level"),
        ("bin.json", b"\xff\xfe\x00", "not UTF-8"),
    ],
)
def test_bad_files(tmp_path, name, content, match):
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    with pytest.raises(InvalidInputError, match=match):
        load_config(path)
