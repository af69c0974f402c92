"""Safe YAML reading (cnnrun.config.yaml_io): numbers, duplicate keys, tags, locations."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from cnnrun.config.yaml_io import dump_yaml, load_yaml_file, parse_scalar, parse_yaml
from cnnrun.errors import ConfigError

# -- numbers ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1e-3", 0.001),  # a string under PyYAML's YAML 1.1 rules
        ("1.0e-3", 0.001),
        ("1.0E-3", 0.001),
        ("-2E+5", -200000.0),
        ("1e3", 1000.0),
        ("+1e3", 1000.0),
        ("3e-4", 0.0003),
        (".5", 0.5),
        ("0.5", 0.5),
        ("-0.25", -0.25),
        ("1.", 1.0),
        ("1_000.5", 1000.5),
        ("1.5e+2", 150.0),
        (".inf", math.inf),
        ("-.inf", -math.inf),
    ],
)
def test_floats(text: str, value: float) -> None:
    parsed = parse_scalar(text)
    assert parsed == value
    assert type(parsed) is float
    data, _ = parse_yaml(f"lr: {text}\nlist: [{text}]\n")
    assert data == {"lr": value, "list": [value]}
    assert type(data["lr"]) is float


def test_nan() -> None:
    assert math.isnan(parse_scalar(".nan"))


@pytest.mark.parametrize(
    ("text", "value"), [("0", 0), ("42", 42), ("-7", -7), ("+3", 3), ("1_000", 1000)]
)
def test_ints_stay_ints(text: str, value: int) -> None:
    parsed = parse_scalar(text)
    assert parsed == value
    assert type(parsed) is int


@pytest.mark.parametrize(
    "text", ["'1e-3'", '"1e-3"', "1e", "e3", "1.5.2", "inf", "nan", "1e-3x", "v1.0"]
)
def test_not_numbers_stay_strings(text: str) -> None:
    parsed = parse_scalar(text)
    assert parsed == text.strip("'\"")
    assert type(parsed) is str


@pytest.mark.parametrize(("text", "value"), [("-.5", -0.5), ("+.5", 0.5), (".5e3", 500.0)])
def test_yaml_12_floats_with_a_leading_dot(text: str, value: float) -> None:
    assert parse_scalar(text) == value


@pytest.mark.parametrize(
    ("text", "value"), [("true", True), ("false", False), ("null", None), ("~", None), ("", None)]
)
def test_other_scalars(text: str, value: object) -> None:
    assert parse_scalar(text) is value


def test_parse_scalar_flow_collections() -> None:
    assert parse_scalar("[1, 2.5, 1e-3, a]") == [1, 2.5, 0.001, "a"]
    assert parse_scalar("{units: 10, rate: 5e-1}") == {"units": 10, "rate": 0.5}


def test_parse_scalar_errors_name_set() -> None:
    with pytest.raises(ConfigError) as info:
        parse_scalar("[1, 2")
    assert info.value.file == "--set"
    assert info.value.render().startswith("--set:1: invalid YAML: ")


# -- duplicate keys -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "first_line"),
    [
        ("a: 1\nb: 2\na: 3\n", "f.yaml:3: duplicate key 'a' (first defined on line 1)"),
        (
            "data:\n  batch_size: 1\n  shuffle: true\n  batch_size: 2\n",
            "f.yaml:4: duplicate key 'batch_size' (first defined on line 2)",
        ),
        (
            "model:\n  layers:\n    - Conv2D:\n        filters: 1\n        filters: 1\n",
            "f.yaml:5: duplicate key 'filters' (first defined on line 4)",
        ),
        (
            "layers:\n  - Dense: {units: 1, activation: relu, units: 2}\n",
            "f.yaml:2: duplicate key 'units' (first defined on line 2)",
        ),
        ("a: 1\n'a': 2\n", "f.yaml:2: duplicate key 'a' (first defined on line 1)"),
    ],
)
def test_duplicate_keys(text: str, first_line: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_yaml(text, "f.yaml")
    assert info.value.render() == first_line


def test_same_key_in_sibling_mappings_is_fine() -> None:
    data, _ = parse_yaml("a: {x: 1}\nb: {x: 2}\nl: [{x: 1}, {x: 2}]\n")
    assert data == {"a": {"x": 1}, "b": {"x": 2}, "l": [{"x": 1}, {"x": 2}]}


@pytest.mark.parametrize("text", ["? [a]\n: 1\n", "x: {[1]: 2}\n"])
def test_unhashable_key_is_a_config_error(text: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_yaml(text, "f.yaml")
    assert info.value.file == "f.yaml"
    assert info.value.line == 1


def test_merge_key_is_supported_or_named() -> None:
    text = "base: &b {units: 1, activation: relu}\nlayer:\n  <<: *b\n  units: 2\n"
    try:
        data, _ = parse_yaml(text, "f.yaml")
    except ConfigError as exc:
        assert "<<" in exc.render()
    else:
        assert data["layer"] == {"units": 2, "activation": "relu"}


# -- unsafe tags and syntax ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "tag"),
    [
        ("a: !!python/object/apply:os.system ['true']\n", "python/object/apply:os.system"),
        ("a: !!python/name:os.system\n", "python/name:os.system"),
        ("a: !!python/object/new:dict {}\n", "python/object/new:dict"),
        ("a: !!python/tuple [1, 2]\n", "python/tuple"),
        ("? !!python/tuple [1, 2]\n: x\n", "python/tuple"),
    ],
)
def test_python_tags_are_refused(text: str, tag: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_yaml(text, "f.yaml")
    assert info.value.render() == (
        "f.yaml:1: unsupported YAML: could not determine a constructor for the tag "
        f"'tag:yaml.org,2002:{tag}'\n"
        "  expected: plain YAML (safe loader: no !!python or other custom tags)"
    )


@pytest.mark.parametrize(
    ("text", "first_line"),
    [
        ("a: [1, 2\nb: 3\n", "f.yaml:2: invalid YAML: expected ',' or ']', but got ':'"),
        ("a: 1\n  b: 2\n", "f.yaml:2: invalid YAML: mapping values are not allowed here"),
        (
            "a: 1\n\tb: 2\n",
            "f.yaml:2: invalid YAML: found character '\\t' that cannot start any token",
        ),
        ("a: 'x\n", "f.yaml:2: invalid YAML: found unexpected end of stream"),
    ],
)
def test_syntax_errors(text: str, first_line: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_yaml(text, "f.yaml")
    assert info.value.render() == first_line


def test_empty_document() -> None:
    assert parse_yaml("") == (None, {})
    assert parse_yaml("# only a comment\n") == (None, {})


# -- locations ----------------------------------------------------------------------------


def test_locations_map_every_key_path() -> None:
    text = (
        "name: x\n"  # 1
        "data:\n"  # 2
        "  dataset: mnist\n"  # 3
        "model:\n"  # 4
        "  input_shape: [28, 28, 1]\n"  # 5
        "  layers:\n"  # 6
        "    - Flatten\n"  # 7
        "    - Dense: {units: 10}\n"  # 8
        "    - Dropout:\n"  # 9
        "        rate: 0.5\n"  # 10
        "callbacks: []\n"  # 11
    )
    _, locations = parse_yaml(text, "f.yaml")
    lines = {path: line for path, (name, line) in locations.items() if name == "f.yaml"}
    assert len(lines) == len(locations)
    assert lines == {
        "name": 1,
        "data": 2,
        "data.dataset": 3,
        "model": 4,
        "model.input_shape": 5,
        "model.input_shape[0]": 5,
        "model.input_shape[1]": 5,
        "model.input_shape[2]": 5,
        "model.layers": 6,
        "model.layers[0]": 7,
        "model.layers[1]": 8,
        "model.layers[1].Dense": 8,
        "model.layers[1].Dense.units": 8,
        "model.layers[2]": 9,
        "model.layers[2].Dropout": 9,
        "model.layers[2].Dropout.rate": 10,
        "callbacks": 11,
    }


def test_load_yaml_file_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "exp.yaml"
    path.write_text("# header\nlr: 1e-3\n")
    data, locations = load_yaml_file(path)
    assert data == {"lr": 0.001}
    assert locations == {"lr": (str(path), 2)}


def test_load_yaml_file_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_yaml_file(tmp_path / "missing.yaml")
    assert info.value.render() == f"{tmp_path / 'missing.yaml'}: file not found"

    bad = tmp_path / "latin1.yaml"
    bad.write_bytes(b"name: caf\xe9\n")
    with pytest.raises(ConfigError) as info:
        load_yaml_file(bad)
    assert info.value.render().startswith(f"{bad}: the file is not UTF-8 text (byte 9 ")

    with pytest.raises(ConfigError) as info:
        load_yaml_file(tmp_path)
    assert info.value.render() == f"{tmp_path}: expected an experiment file, received a folder"


# -- dump_yaml ----------------------------------------------------------------------------


def test_dump_yaml_round_trips_numbers_and_strings() -> None:
    data = {
        "floats": [0.001, 1e-07, 1e20, 2.5, -0.0003],
        "ints": [0, 1000, -7],
        "strings": ["yes", "null", "1_000", "1.0", "~", "on"],
        "none": None,
        "flag": False,
    }
    back, _ = parse_yaml(dump_yaml(data))
    assert back == data
    assert [type(v) for v in back["floats"]] == [float] * 5
    assert [type(v) for v in back["ints"]] == [int] * 3


@pytest.mark.parametrize("text", ["1e3", "0.5e3", "2E5"])
def test_dump_yaml_quotes_strings_that_read_as_floats(text: str) -> None:
    back, _ = parse_yaml(dump_yaml({"name": text}))
    assert back == {"name": text}


def test_dump_yaml_style() -> None:
    data = {
        "name": "x",
        "model": {
            "input_shape": [28, 28, 1],
            "layers": ["Flatten", {"Dropout": 0.5}, {"Dense": {"units": 10, "activation": "relu"}}],
        },
        "callbacks": [{"early_stopping": {"patience": 3}}],
    }
    assert dump_yaml(data) == (
        "name: x\n"
        "model:\n"
        "  input_shape: [28, 28, 1]\n"
        "  layers:\n"
        "  - Flatten\n"
        "  - Dropout: 0.5\n"
        "  - Dense: {units: 10, activation: relu}\n"
        "callbacks:\n"
        "- early_stopping: {patience: 3}\n"
    )


def test_merge_keys_locate_merged_keys_at_the_anchor() -> None:
    text = "a: &a {x: 1}\nb: &b {y: 2, x: 3}\nc:\n  <<: [*a, *b]\n  z: 4\n"
    data, locations = parse_yaml(text, "f.yaml")
    assert data["c"] == {"x": 1, "y": 2, "z": 4}  # the first mapping wins
    assert {k: v[1] for k, v in locations.items() if k.startswith("c")} == {
        "c": 3,
        "c.x": 1,
        "c.y": 2,
        "c.z": 5,
    }


@pytest.mark.parametrize(
    ("text", "first_line"),
    [
        (
            "a: 1\nc:\n  <<: 3\n",
            "f.yaml:3: invalid YAML: expected a mapping or list of mappings for merging, "
            "but found scalar",
        ),
        (
            "a: &x 1\nb: &x 2\n",
            "f.yaml:2: invalid YAML: found duplicate anchor 'x'; first occurrence on line 1, "
            "second occurrence",
        ),
    ],
)
def test_yaml_errors_read_as_sentences(text: str, first_line: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_yaml(text, "f.yaml")
    assert info.value.render().splitlines()[0] == first_line
