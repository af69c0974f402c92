"""The experiment file's JSON Schema (cnnrun.config.schema.json_schema) for editors.

Needs the ``jsonschema`` package (skipped without it). Files that use ``extends:`` are
checked as resolved (base merged in), with their ``extends`` key kept: the schema lists it.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from cnnrun.config.load import read_with_extends
from cnnrun.config.schema import Experiment, json_schema
from cnnrun.config.yaml_io import load_yaml_file

jsonschema = pytest.importorskip("jsonschema")

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
SHIPPED = sorted((REPO / "configs").glob("*.yaml"))
EXAMPLES = sorted((HERE / "valid").glob("*.yaml"))


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return json_schema()


@pytest.fixture(scope="module")
def validator(schema: dict[str, Any]) -> Any:
    return jsonschema.Draft202012Validator(schema)


def resolved_with_extends(path: Path) -> dict[str, Any]:
    raw, _ = load_yaml_file(path)
    data, _ = read_with_extends(path)
    if "extends" in raw:
        data["extends"] = raw["extends"]
    return data


def _case(path: Path) -> Any:
    return pytest.param(path, id=f"{path.parent.name}/{path.name}")


def test_is_a_draft_2020_12_schema(schema: dict[str, Any]) -> None:
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)
    assert jsonschema.validators.validator_for(schema) is jsonschema.Draft202012Validator
    # plain JSON, for editors
    assert json.loads(json.dumps(schema)) == schema


def test_lists_every_key_and_forbids_others(schema: dict[str, Any]) -> None:
    assert schema["title"] == "cnnrun experiment"
    assert schema["type"] == "object"
    assert schema["additionalProperties"] is False
    assert list(schema["properties"]) == [*Experiment.model_fields, "extends"]
    assert schema["properties"]["extends"]["type"] == "string"
    # `model` is required unless the file extends another (which may give it)
    assert "required" not in schema
    assert schema["if"] == {"required": ["extends"]}
    # ... and then what the model needs (`model.input_shape`, ...): the Required* skeletons
    assert schema["else"]["required"] == ["model"]
    assert "RequiredStackModel" in json.dumps(schema["else"])


def test_is_fresh_on_each_call(schema: dict[str, Any]) -> None:
    again = json_schema()
    assert again == schema
    again["properties"].pop("extends")
    assert "extends" in json_schema()["properties"]


@pytest.mark.parametrize("path", [_case(p) for p in SHIPPED + EXAMPLES])
def test_valid_files_validate(path: Path, validator: Any) -> None:
    errors = [e.message for e in validator.iter_errors(resolved_with_extends(path))]
    assert errors == []


def in_long_forms(data: dict[str, Any]) -> dict[str, Any]:
    """The same file with `loss` and callbacks written as mappings (the long forms)."""
    data = copy.deepcopy(data)
    if isinstance(data.get("loss"), str):
        data["loss"] = {"name": data["loss"]}
    data["callbacks"] = [
        {cb: {}} if isinstance(cb, str) else {k: v or {} for k, v in cb.items()}
        for cb in data.get("callbacks", [])
    ]
    return data


@pytest.mark.parametrize("path", SHIPPED + EXAMPLES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_valid_files_validate_in_long_forms(path: Path, validator: Any) -> None:
    data = in_long_forms(resolved_with_extends(path))
    assert [e.message for e in validator.iter_errors(data)] == []


def test_shipped_configs_exist() -> None:
    assert len(SHIPPED) >= 5


def test_resolved_dicts_validate(validator: Any) -> None:
    """What the run folder's config.yaml holds (to_dict) uses every form the schema knows."""
    from cnnrun.checks import load_experiment

    data = load_experiment(HERE / "valid" / "loss_from_logits.yaml").experiment.to_dict()
    assert [e.message for e in validator.iter_errors(data)] == []


BASE = {"model": {"input_shape": [28, 28, 1], "layers": ["Flatten", {"Dense": {"units": 10}}]}}


def with_(**changes: Any) -> dict[str, Any]:
    data = copy.deepcopy(BASE)
    data.update(changes)
    return data


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (with_(epoch=3), "Additional properties are not allowed ('epoch' was unexpected)"),
        (
            with_(data={"batchsize": 3}),
            "Additional properties are not allowed ('batchsize' was unexpected)",
        ),
        (with_(epochs=0), "0 is less than the minimum of 1"),
        (with_(data={"batch_size": "ten"}), "'ten' is not of type 'integer'"),
        (
            with_(data={"validation_split": 1.5}),  # neither a fraction nor a count
            "1.5 is not valid under any of the given schemas",
        ),
        ({"name": "no_model"}, "'model' is a required property"),
        (
            with_(task="segmentaton"),
            "'segmentaton' is not one of ['classification', 'segmentation', 'keypoints']",
        ),
        (with_(extends=["a.yaml"]), "['a.yaml'] is not of type 'string'"),
    ],
)
def test_invalid_data_fails(data: dict[str, Any], message: str, validator: Any) -> None:
    errors = [e.message for e in validator.iter_errors(data)]
    assert errors == [message]


def test_layer_with_two_keys_fails(validator: Any) -> None:
    data = with_()
    data["model"]["layers"].append({"Flatten": None, "Dense": 3})
    assert not validator.is_valid(data)


def test_unknown_schedule_fails(validator: Any) -> None:
    assert validator.is_valid(with_(schedule={"name": "cosine", "warmup_epochs": 2}))
    assert not validator.is_valid(with_(schedule={"name": "cosin"}))
    assert not validator.is_valid(with_(schedule={"name": "cosine", "warmup": 2}))


def test_callback_bare_name_and_null_arguments_validate(validator: Any) -> None:
    data = with_(callbacks=["terminate_on_nan", {"tensorboard": None}])
    assert [e.message for e in validator.iter_errors(data)] == []


def test_callback_with_two_names_fails(validator: Any) -> None:
    data = with_(callbacks=[{"early_stopping": {}, "tensorboard": {}}])
    assert not validator.is_valid(data)


def test_file_with_extends_need_not_give_the_model(validator: Any) -> None:
    """An editor sees a child file alone: it may take `model` (or anything) from its base.

    (Nested keys are still checked as if complete: a child that sets `model.layers` alone,
    as valid/extends_child.yaml does, is refused for want of `model.input_shape`.)
    """
    raw, _ = load_yaml_file(HERE / "valid" / "extends_middle.yaml")
    assert "extends" in raw and "model" not in raw
    assert [e.message for e in validator.iter_errors(raw)] == []
    assert [e.message for e in validator.iter_errors({"name": "x"})] == [
        "'model' is a required property"
    ]


def test_callback_and_loss_forms(validator: Any) -> None:
    assert validator.is_valid(with_(loss="mse", callbacks=[{"early_stopping": {"patience": 2}}]))
    assert not validator.is_valid(with_(loss={"from_logits": True}))  # no name
    assert not validator.is_valid(with_(callbacks=["early_stoping"]))
    assert not validator.is_valid(with_(callbacks=[{"early_stopping": 3}]))
