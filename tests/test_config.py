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


def _billion_laughs(levels: int) -> str:
    """A YAML alias bomb: ``levels`` anchors, each a list of nine aliases of the previous one."""
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for level in range(1, levels + 1):
        lines.append(f"a{level}: &a{level} [{','.join([f'*a{level - 1}'] * 9)}]")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("levels", [1, 7, 9])
def test_yaml_aliases_are_refused_before_they_expand(tmp_path, levels):
    # 9 levels (about 500 bytes) expand to 9**10 strings; refused at the first alias, unexpanded.
    path = tmp_path / "laughs.yaml"
    path.write_text(_billion_laughs(levels))
    assert path.stat().st_size < 600
    with pytest.raises(InvalidInputError, match=r"uses a YAML alias \(\*a0, line 2\)") as caught:
        load_config(path)
    assert len(str(caught.value)) < 200 and "\n" not in str(caught.value)


def test_a_yaml_merge_key_is_an_alias_too(tmp_path):
    path = tmp_path / "merge.yaml"
    path.write_text("base: &base {rows: 5}\nother:\n  <<: *base\n")
    with pytest.raises(InvalidInputError, match="YAML alias"):
        load_config(path)


@pytest.mark.parametrize("name", ["big.toml", "big.yaml", "big.json"])
def test_files_above_the_size_cap_are_refused_unread(tmp_path, name):
    from agnostic_xai.config import MAX_CONFIG_BYTES

    path = tmp_path / name
    path.write_text("#" * (MAX_CONFIG_BYTES + 1) if not name.endswith("json") else " " * (MAX_CONFIG_BYTES + 1))
    with pytest.raises(InvalidInputError, match="larger than 1 MiB"):
        load_config(path)


@pytest.mark.parametrize(
    "name, text",
    [
        ("long.toml", "a = " + "x" * 500_000 + "\n"),
        ("long.yaml", "a: [" + "x" * 500_000 + "\n"),
        ("long.json", '{"a": ' + "x" * 500_000 + "}"),
        ("deep.json", "[" * 200_000),
        ("deep.yaml", "[" * 200_000),
    ],
)
def test_a_parse_error_is_one_short_line(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(InvalidInputError, match="could not be parsed") as caught:
        load_config(path)
    assert len(str(caught.value)) < 400 and "\n" not in str(caught.value)


def test_quoted_values_are_short_whatever_their_size():
    from agnostic_xai._messages import one_line, quoted

    assert quoted(5) == "5" and quoted("abc") == "'abc'"
    assert len(quoted("x" * 10**7)) <= 90 and "10,000,000 characters" in quoted("x" * 10**7)
    nested = [["y" * 1000] * 1000] * 1000  # a billion characters if rendered in full
    assert len(quoted(nested)) <= 120
    assert len(one_line("z" * 10**6)) <= 2100 and one_line("a\nb\r\nc") == "a b c"
