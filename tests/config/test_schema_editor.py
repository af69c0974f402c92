"""Issue 13: the JSON Schema of `cnnrun schema`, as an editor uses it.

An editor checks each file alone (a file that ``extends:`` another is not merged with its
base). Today padding_same.yaml, padding_valid.yaml and strides_2.yaml fail the schema
(it requires ``model.input_shape`` even in a file that extends another), and the schema
emits pydantic's ``"ge": 1``, which is not a JSON Schema keyword, so
``input_shape: [0, 28, 1]`` passes it. Every shipped config must validate, and invalid
examples must fail.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from cli_helpers import REPO, REPO_CONFIGS, cli

jsonschema = pytest.importorskip("jsonschema")

SHIPPED = sorted(REPO_CONFIGS.glob("*.yaml"))
INVALID_EXAMPLES = REPO / "tests" / "config" / "invalid"
# Pydantic's constraint names; JSON Schema says minimum, exclusiveMinimum, maximum, ...
NOT_KEYWORDS = {"ge", "gt", "le", "lt", "multiple_of", "min_length", "max_length"}
# Maps whose keys are names, not keywords.
NAME_MAPS = {"properties", "$defs", "patternProperties", "dependentSchemas", "definitions"}


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    result = cli("schema")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def validator(schema: dict[str, Any]) -> Any:
    return jsonschema.Draft202012Validator(schema)


def test_the_schema_is_a_valid_draft_2020_12_schema(schema):
    jsonschema.Draft202012Validator.check_schema(schema)


def _not_keywords(node: Any, where: str = "#") -> list[str]:
    found = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key in NAME_MAPS and isinstance(value, dict):
                for name, sub in value.items():
                    found += _not_keywords(sub, f"{where}/{key}/{name}")
                continue
            if key in NOT_KEYWORDS:
                found.append(f"{where}/{key}")
            found += _not_keywords(value, f"{where}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found += _not_keywords(value, f"{where}/{i}")
    return found


def test_the_schema_uses_only_json_schema_keywords(schema):
    found = _not_keywords(schema)
    assert not found, "pydantic constraint names in the schema:\n" + "\n".join(found)


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_every_shipped_config_validates_as_an_editor_sees_it(path: Path, validator):
    data = yaml.safe_load(path.read_text())
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in
              validator.iter_errors(data)]  # fmt: skip
    assert not errors, "\n".join(errors)


BASE = {"model": {"input_shape": [28, 28, 1], "layers": ["Flatten", {"Dense": {"units": 10}}]}}


def _with(path: str, value: Any) -> dict[str, Any]:
    data = copy.deepcopy(BASE)
    node = data
    keys = path.split(".")
    for key in keys[:-1]:
        node = node.setdefault(key, {})
    node[keys[-1]] = value
    return data


INVALID = {
    "input_shape has a 0": _with("model.input_shape", [0, 28, 1]),
    "input_shape has a negative size": _with("model.input_shape", [28, -28, 1]),
    "data.limit is 0": _with("data.limit", 0),
    "learning_rate is 0": _with("optimizer.learning_rate", 0),
    "learning_rate is negative": _with("optimizer.learning_rate", -1.0e-3),
    "distribute.cpu_devices is 0": _with("distribute.cpu_devices", 0),
    "distribute.cpu_devices is 65": _with("distribute.cpu_devices", 65),
    # (these already fail the schema today)
    "epochs is 0": _with("epochs", 0),
    "an unknown top-level key": _with("epoch", 3),
    "a misspelt data key": _with("data.batchsize", 32),
    "batch_size is text": _with("data.batch_size", "ten"),
    "a file without a model": {"name": "no_model"},
}


@pytest.mark.parametrize("data", INVALID.values(), ids=INVALID.keys())
def test_invalid_examples_fail_the_schema(data, validator):
    assert not validator.is_valid(data), data


# Files of tests/config/invalid whose problem a JSON Schema can express.
SCHEMA_CHECKABLE = [
    "input_shape_zero.yaml",
    "epochs_zero.yaml",
    "bool_as_int.yaml",
    "wrong_type.yaml",
    "validation_literal.yaml",
    "validation_split_too_big.yaml",
    "unknown_top_key.yaml",
    "misspelt_nested_key.yaml",
    "layer_two_keys.yaml",
    "missing_model.yaml",
    "unknown_schedule.yaml",
    "unknown_schedule_key.yaml",
]


@pytest.mark.parametrize("name", SCHEMA_CHECKABLE)
def test_invalid_example_files_fail_the_schema(name, validator):
    data = yaml.safe_load((INVALID_EXAMPLES / name).read_text())
    assert not validator.is_valid(data), name
