"""``--set KEY=VALUE`` overrides and ``extends:`` deep merge (cnnrun.config.overrides)."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from cnnrun.checks import load_experiment
from cnnrun.config.overrides import apply_overrides, deep_merge, set_path, split_path
from cnnrun.errors import ConfigError

VALID = Path(__file__).resolve().parent / "valid"
PATH_HELP = "dotted keys with list indices, e.g. model.layers[2].Dropout"


# -- split_path ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "parts"),
    [
        ("epochs", ["epochs"]),
        ("optimizer.learning_rate", ["optimizer", "learning_rate"]),
        ("model.layers[2].Dropout", ["model", "layers", 2, "Dropout"]),
        ("model.layers[-1]", ["model", "layers", -1]),
        ("a[0][1].b", ["a", 0, 1, "b"]),
        ("callbacks[0].early_stopping.patience", ["callbacks", 0, "early_stopping", "patience"]),
    ],
)
def test_split_path(path: str, parts: list) -> None:
    assert split_path(path) == parts


@pytest.mark.parametrize("path", ["", ".a", "a..b", "a[", "a[x]", "a]", "a[ 1]", "a[1.5]"])
def test_split_path_rejects_malformed(path: str) -> None:
    with pytest.raises(ConfigError) as info:
        split_path(path)
    err = info.value
    assert (err.message, err.expected, err.received, err.file) == (
        "malformed key path",
        PATH_HELP,
        repr(path),
        "--set",
    )
    assert err.render().splitlines()[0] == "--set: malformed key path"


@pytest.mark.parametrize("path", ["optimizer.", "layers[0]Dropout"])
def test_split_path_rejects_sloppy_paths(path: str) -> None:
    with pytest.raises(ConfigError, match="malformed key path"):
        split_path(path)


# -- set_path -----------------------------------------------------------------------------


def test_set_path_creates_nested_mappings() -> None:
    data: dict = {"name": "x"}
    set_path(data, "optimizer.learning_rate", 0.1)
    set_path(data, "a.b.c", [1])
    assert data == {"name": "x", "optimizer": {"learning_rate": 0.1}, "a": {"b": {"c": [1]}}}


def test_set_path_replaces_and_keeps_siblings() -> None:
    data = {"data": {"dataset": "mnist", "batch_size": 32}}
    set_path(data, "data.batch_size", 64)
    assert data == {"data": {"dataset": "mnist", "batch_size": 64}}


def test_set_path_list_indices() -> None:
    data = {"model": {"layers": ["Flatten", {"Dropout": 0.25}, {"Dense": {"units": 3}}]}}
    set_path(data, "model.layers[1].Dropout", 0.5)
    set_path(data, "model.layers[-1].Dense.units", 10)
    set_path(data, "model.layers[0]", "GlobalAveragePooling2D")
    assert data["model"]["layers"] == [
        "GlobalAveragePooling2D",
        {"Dropout": 0.5},
        {"Dense": {"units": 10}},
    ]


def test_set_path_gives_a_bare_layer_its_arguments() -> None:
    data = {"layers": ["Flatten"]}
    set_path(data, "layers[0].Flatten.data_format", "channels_first")
    assert data == {"layers": [{"Flatten": {"data_format": "channels_first"}}]}


@pytest.mark.parametrize(
    ("path", "where", "index"), [("l[3]", "l[3]", 3), ("l[-4]", "l[-4]", -4), ("l[3].x", "l[3]", 3)]
)
def test_set_path_index_out_of_range(path: str, where: str, index: int) -> None:
    data = {"l": [1, 2, 3]}
    with pytest.raises(ConfigError) as info:
        set_path(data, path, 0)
    err = info.value
    assert (err.message, err.path, err.received, err.file) == (
        f"index {index} is out of range",
        where,
        str(index),
        "--set",
    )
    if index >= 0:
        assert err.expected == "an index below 3"
    assert err.render().splitlines()[0] == f"--set: {where}: index {index} is out of range"
    assert data == {"l": [1, 2, 3]}


def test_set_path_negative_index_out_of_range_says_the_range() -> None:
    with pytest.raises(ConfigError) as info:
        set_path({"l": [1, 2, 3]}, "l[-4]", 0)
    assert info.value.expected == "an index from -3 to 2"


def test_set_path_through_a_scalar() -> None:
    data = {"name": "run", "optimizer": {"name": "adam"}}
    with pytest.raises(ConfigError) as info:
        set_path(data, "optimizer.name.x", 1)
    err = info.value
    assert (err.message, err.path, err.received, err.file) == (
        "a key needs a mapping",
        "optimizer.name",
        "'adam'",
        "--set",
    )
    assert err.render() == "--set: optimizer.name: a key needs a mapping\n  received: 'adam'"


def test_set_path_index_into_a_mapping() -> None:
    with pytest.raises(ConfigError) as info:
        set_path({"data": {"batch_size": 1}}, "data[0]", 1)
    err = info.value
    assert (err.message, err.path, err.received) == ("an index needs a list", "data", "dict")


# -- apply_overrides ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("3e-4", 3e-4),
        ("1.0e-3", 0.001),
        ("10", 10),
        ("null", None),
        ("~", None),
        ("", None),
        ("true", True),
        ("false", False),
        ("[1, 2]", [1, 2]),
        ("{units: 10, activation: relu}", {"units": 10, "activation": "relu"}),
        ("'3e-4'", "3e-4"),
        ("adam", "adam"),
        ("a=b", "a=b"),  # only the first `=` separates key and value
        (" 64 ", 64),
    ],
)
def test_values_are_yaml_scalars(raw: str, value: object) -> None:
    out = apply_overrides({}, [f"x={raw}"])
    assert out == {"x": value}
    assert type(out["x"]) is type(value)


def test_apply_overrides_copies_and_applies_in_order() -> None:
    data = {"optimizer": {"name": "adam"}, "epochs": 5}
    before = copy.deepcopy(data)
    out = apply_overrides(data, ["epochs=1", " optimizer.name = sgd", "epochs=3"])
    assert out == {"optimizer": {"name": "sgd"}, "epochs": 3}
    assert data == before


@pytest.mark.parametrize("item", ["epochs", "=3", " =3"])
def test_apply_overrides_needs_key_and_equals(item: str) -> None:
    with pytest.raises(ConfigError) as info:
        apply_overrides({}, [item])
    err = info.value
    assert err.render() == (
        "--set: an override needs KEY=VALUE\n"
        "  expected: e.g. --set optimizer.learning_rate=3e-4\n"
        f"  received: {item!r}"
    )


# -- --set through load_experiment --------------------------------------------------------


def test_overrides_resolve_in_load_experiment() -> None:
    exp = load_experiment(
        VALID / "layer_forms.yaml",
        [
            "optimizer.learning_rate=3e-4",
            "model.layers[3].Dropout=0.5",
            "data.batch_size=16",
            "callbacks=[terminate_on_nan]",
            "schedule={name: cosine}",
        ],
    ).experiment
    assert exp.optimizer.learning_rate == 0.0003
    assert exp.to_dict()["model"]["layers"][3] == {"Dropout": 0.5}
    assert exp.data.batch_size == 16
    assert exp.callbacks == [{"terminate_on_nan": {}}]
    assert exp.schedule is not None and exp.schedule.name == "cosine"


@pytest.mark.parametrize(
    ("item", "first_line"),
    [
        (
            "optimizer.learning_rate=-1",
            "--set optimizer.learning_rate=-1: optimizer.learning_rate: invalid value",
        ),
        (
            "model.layers[1]=Conv2d",
            "--set model.layers[1]=Conv2d: model.layers[1]: unknown layer 'Conv2d'. "
            "Did you mean 'Conv2D'?",
        ),
        (
            "data.batchsize=3",
            "--set data.batchsize=3: data.batchsize: unknown key 'batchsize'. "
            "Did you mean 'batch_size'?",
        ),
        (
            "data={batch_size: 0}",
            "--set data={batch_size: 0}: data.batch_size: invalid value",
        ),
        (
            "optimizer.name=adamm",
            "--set optimizer.name=adamm: optimizer.name: unknown optimizer 'adamm'. "
            "Did you mean 'adam'?",
        ),
        ("epochs=ten", "--set epochs=ten: epochs: invalid value"),
        ("model.layers[7]=Flatten", "--set: model.layers[7]: index 7 is out of range"),
    ],
)
def test_set_location_shows_in_errors(item: str, first_line: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_experiment(VALID / "minimal.yaml", ["epochs=3", item])
    assert info.value.render().splitlines()[0] == first_line
    assert info.value.line is None


def test_set_that_replaces_a_list_is_the_location() -> None:
    item = "model.layers=[Flatten, Conv2d]"
    with pytest.raises(ConfigError) as info:
        load_experiment(VALID / "minimal.yaml", [item])
    assert info.value.render().splitlines()[0] == (
        f"--set {item}: model.layers[1]: unknown layer 'Conv2d'. Did you mean 'Conv2D'?"
    )


def test_bad_yaml_value_names_the_override() -> None:
    with pytest.raises(ConfigError) as info:
        load_experiment(VALID / "minimal.yaml", ["epochs=3", "metrics=[accuracy"])
    err = info.value
    assert err.file == "--set metrics=[accuracy"
    assert err.path == "metrics"


# -- deep_merge ---------------------------------------------------------------------------


def test_deep_merge_semantics() -> None:
    base = {
        "name": "base",
        "data": {"dataset": "mnist", "batch_size": 32, "nested": {"a": 1, "b": 2}},
        "model": {"input_shape": [28, 28, 1], "layers": ["Flatten", {"Dense": {"units": 10}}]},
        "optimizer": {"name": "adam", "learning_rate": 0.001},
        "schedule": {"name": "step", "every": 2},
        "metrics": ["accuracy", "mae"],
    }
    child = {
        "name": "child",
        "data": {"batch_size": 64, "nested": {"b": 3}},
        "model": {"layers": ["Flatten"]},  # lists are replaced, not merged
        "optimizer": "sgd",  # a mapping replaced by a scalar
        "schedule": None,  # null replaces too
        "metrics": ["accuracy"],
        "epochs": 3,
    }
    before = copy.deepcopy((base, child))
    out = deep_merge(base, child)
    assert out == {
        "name": "child",
        "data": {"dataset": "mnist", "batch_size": 64, "nested": {"a": 1, "b": 3}},
        "model": {"input_shape": [28, 28, 1], "layers": ["Flatten"]},
        "optimizer": "sgd",
        "schedule": None,
        "metrics": ["accuracy"],
        "epochs": 3,
    }
    assert list(out) == [*base, "epochs"]  # base's key order, new keys last
    assert (base, child) == before  # inputs untouched
    out["data"]["nested"]["a"] = 99
    assert base["data"]["nested"]["a"] == 1  # no shared sub-objects


def test_deep_merge_scalar_replaced_by_mapping() -> None:
    assert deep_merge({"loss": "mse"}, {"loss": {"name": "huber", "delta": 2.0}}) == {
        "loss": {"name": "huber", "delta": 2.0}
    }


def test_set_path_index_into_a_missing_key() -> None:
    with pytest.raises(ConfigError) as info:
        set_path({"name": "x"}, "callbacks[0].early_stopping.patience", 3)
    err = info.value
    assert (err.message, err.path, err.file) == (
        "key 'callbacks' does not exist, so it has no index 0",
        "callbacks",
        "--set",
    )
    assert err.expected == "a list at callbacks: set the whole list, e.g. --set callbacks=[...]"


def test_set_path_index_into_an_empty_list() -> None:
    with pytest.raises(ConfigError) as info:
        set_path({"callbacks": []}, "callbacks[-1]", 3)
    assert info.value.expected == "no index: the list is empty"


def test_extends_merged_mapping_errors_point_at_the_child(tmp_path: Path) -> None:
    (tmp_path / "base.yaml").write_text(
        "model:\n  input_shape: [4]\n  layers: [Flatten]\nschedule: {name: step, every: 2}\n"
    )
    (tmp_path / "child.yaml").write_text("extends: base.yaml\nschedule:\n  name: cosin\n")
    with pytest.raises(ConfigError) as info:
        load_experiment(tmp_path / "child.yaml")
    assert (info.value.file, info.value.line) == (str(tmp_path / "child.yaml"), 3)
