"""Valid experiment files (tests/config/valid/*.yaml): what they resolve to, and round trips.

Every file in valid/ must load, must have an entry in EXPECTED (resolved values checked
by key path, with their Python type), and must survive ``dump_yaml(exp.to_dict())``
being written, re-read and re-validated to the very same dict.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from cnnrun.checks import load_experiment
from cnnrun.config.load import validate
from cnnrun.config.schema import Experiment, LayerSpec
from cnnrun.config.yaml_io import dump_yaml, parse_yaml

VALID = Path(__file__).resolve().parent / "valid"
VALID_FILES = sorted(VALID.glob("*.yaml"))

# Issue 12, §7.3: partial batches and how augmentation moves keypoints (defaults).
KEYPOINT_DATA = {
    "drop_remainder": False,
    "keypoints": {"swap_flipped": True, "out_of_image": "hide", "invisible": "fixed"},
}
# Issue 12's data keys (pixel range, resizing, order of folder data sets, train_limit).
FOLDER_DEFAULTS = {
    "pixel_range": "unit",
    "resize": "pillow_bilinear",
    "order": {"shuffle": "numpy", "seed": 1337},
    "train_limit": None,
}
DEFAULT_DATA = {
    "dataset": "fashion_mnist_sample",
    "path": None,
    "validation": "split",
    "validation_split": 0.1,
    "batch_size": 32,
    "limit": None,
    "test_limit": None,
    "shuffle": True,
    "test_split": 0.1,
    "json_name": None,
    "skip_bad_images": False,
    **FOLDER_DEFAULTS,
    "augment": [],
    **KEYPOINT_DATA,
}
BASE_LAYERS = [
    {"Conv2D": {"filters": 4, "kernel_size": 3, "activation": "relu"}},
    {"MaxPooling2D": [2, 2]},
    "Flatten",
    {"Dense": {"units": 3, "activation": "softmax"}},
]
BASE_DATA = {
    "dataset": "synthetic",
    "path": None,
    "validation": "split",
    "validation_split": 0.25,
    "batch_size": 16,
    "limit": 96,
    "test_limit": 32,
    "shuffle": True,
    "test_split": 0.1,
    "json_name": None,
    "skip_bad_images": False,
    **FOLDER_DEFAULTS,
    "augment": [],
    **KEYPOINT_DATA,
}
# What base.yaml resolves to; the schedule_* files change only `schedule` (and epochs).
BASE = {
    "name": "base",
    "seed": 7,
    "task": "classification",
    "data": BASE_DATA,
    "model": {"input_shape": [12, 12, 1], "layers": BASE_LAYERS},
    "optimizer": {"name": "adam", "learning_rate": 0.001},
    "schedule": None,
    "loss": "sparse_categorical_crossentropy",
    "metrics": ["accuracy"],
    "epochs": 2,
    "monitor": "val_loss",
    "callbacks": [],
}

# file -> {key path: resolved value}; "" is the whole to_dict() (its keys listed here).
EXPECTED: dict[str, dict[str, Any]] = {
    "minimal.yaml": {
        "": {
            "name": "experiment",
            "seed": 1337,
            "task": "classification",
            "data": DEFAULT_DATA,
            "model": {
                "input_shape": [28, 28, 1],
                "layers": ["Flatten", {"Dense": {"units": 10, "activation": "softmax"}}],
            },
            "optimizer": {"name": "adam", "learning_rate": None},
            "schedule": None,
            "loss": "sparse_categorical_crossentropy",
            "metrics": ["accuracy"],
            "epochs": 5,
            "monitor": "val_loss",
            "callbacks": [],
        }
    },
    "base.yaml": {"": BASE},
    "extends_middle.yaml": {
        "": {
            **BASE,
            "name": "middle",
            "data": {**BASE_DATA, "batch_size": 8},
            # mappings merge: the base's learning_rate survives the change of optimizer
            "optimizer": {"name": "sgd", "learning_rate": 0.001, "momentum": 0.9},
            "schedule": {"name": "step", "initial_learning_rate": None, "factor": 0.5, "every": 1},
            "metrics": ["accuracy", "mae"],
        }
    },
    "extends_child.yaml": {
        "": {
            **BASE,
            "name": "child",
            "data": {**BASE_DATA, "batch_size": 8, "shuffle": False},
            # lists are replaced, not merged item by item
            "model": {
                "input_shape": [12, 12, 1],
                "layers": ["Flatten", {"Dense": {"units": 3, "activation": "softmax"}}],
            },
            "optimizer": {"name": "sgd", "learning_rate": 0.001, "momentum": 0.9},
            "schedule": None,  # `schedule: null` removes the middle file's schedule
            "metrics": ["accuracy"],
        }
    },
    "schedule_constant.yaml": {"": {**BASE, "schedule": {"name": "constant"}}},
    "schedule_exponential.yaml": {
        "": {
            **BASE,
            "schedule": {
                "name": "exponential_per_epoch",
                "initial_learning_rate": 0.001,
                "decay_rate": 0.9,
            },
            "epochs": 30,
        }
    },
    "schedule_step.yaml": {
        "": {
            **BASE,
            "schedule": {
                "name": "step",
                "initial_learning_rate": 0.002,
                "factor": 0.25,
                "every": 3,
            },
        }
    },
    "schedule_cosine.yaml": {
        "": {
            **BASE,
            "schedule": {
                "name": "cosine",
                "initial_learning_rate": 0.01,
                "min_learning_rate": 1e-05,
                "warmup_epochs": 2,
            },
        }
    },
    "schedule_plateau.yaml": {
        "": {
            **BASE,
            "schedule": {
                "name": "reduce_on_plateau",
                "monitor": "val_accuracy",
                "factor": 0.5,
                "patience": 2,
                "min_delta": 0.0001,  # the default
                "min_lr": 1e-06,
            },
        }
    },
    "callbacks.yaml": {
        "data.validation": "test",
        "monitor": "val_accuracy",
        "model.layers": ["Flatten", {"Dense": {"units": 10, "activation": "softmax"}}],
        "callbacks": [
            {
                "early_stopping": {
                    "monitor": "val_accuracy",
                    "patience": 3,
                    "restore_best_weights": True,
                }
            },
            {"reduce_lr_on_plateau": {"monitor": "val_loss", "factor": 0.2, "patience": 1}},
            {"tensorboard": {}},  # `tensorboard:` (null) means no arguments
            {"terminate_on_nan": {}},  # a bare name too
        ],
    },
    "layer_forms.yaml": {
        "model.layers": [
            {
                "Conv2D": {
                    "filters": 32,
                    "kernel_size": [3, 3],
                    "padding": "same",
                    "activation": "relu",
                }
            },
            "BatchNormalization",
            {"MaxPooling2D": [2, 2]},
            {"Dropout": 0.25},
            {"Conv2D": [16, 3]},
            "Flatten",
            {"Dense": {"units": 10, "activation": "softmax"}},
        ],
        "data.validation": "none",
        # without validation data, the default monitor val_loss becomes loss
        "monitor": "loss",
        "loss": "categorical_crossentropy",
    },
    "loss_from_logits.yaml": {
        "loss": {"name": "sparse_categorical_crossentropy", "from_logits": True},
        "optimizer": {"name": "rmsprop", "learning_rate": 0.0005, "rho": 0.8},
        "model.layers[1]": "GlobalAveragePooling2D",
        "data.dataset": "cifar10",
    },
    "numbers.yaml": {
        "optimizer.learning_rate": 0.001,  # 1e-3: a float, not the string '1e-3'
        "optimizer.epsilon": 1e-07,  # 1E-7
        "data.validation_split": 0.2,  # .2
        "data.limit": 1000,  # 1_000: an int
        "data.batch_size": 64,
        "data.path": "data/my.npz",
        "model.layers[1]": {"Dropout": 0.5},  # 5e-1
        "schedule.min_delta": 0.00015,  # 1.5e-4
        "seed": 0,
        "epochs": 10,
    },
}


def get(data: Any, path: str) -> Any:
    """The value at a dotted key path with list indices (written here, not the code's)."""
    for key, index in re.findall(r"([^.\[\]]+)|\[(\d+)\]", path):
        data = data[int(index)] if index else data[key]
    return data


def assert_same(actual: Any, expected: Any, where: str = "") -> None:
    """Equal, and of the same types all the way down (1000 is not 1000.0, nor '1e-3')."""
    assert type(actual) is type(expected), f"{where}: {actual!r} is not {expected!r}"
    if isinstance(expected, dict):
        assert list(actual) == list(expected), f"{where}: keys {list(actual)}"
        for k in expected:
            assert_same(actual[k], expected[k], f"{where}.{k}")
    elif isinstance(expected, list):
        assert len(actual) == len(expected), f"{where}: {actual!r} != {expected!r}"
        for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
            assert_same(a, e, f"{where}[{i}]")
    else:
        assert actual == expected, f"{where}: {actual!r} != {expected!r}"


def test_every_valid_file_has_expectations() -> None:
    assert [f.name for f in VALID_FILES] == sorted(EXPECTED)


@pytest.mark.parametrize("path", VALID_FILES, ids=lambda p: p.name)
def test_resolved_values(path: Path) -> None:
    exp = load_experiment(path).experiment
    resolved = exp.to_dict()
    for key, value in EXPECTED[path.name].items():
        if key:
            assert_same(get(resolved, key), value, key)
        else:  # every key written here; keys added to the schema later are not pinned
            assert set(value) <= set(resolved)
            assert_same({k: resolved[k] for k in value}, value, "<root>")


@pytest.mark.parametrize("path", VALID_FILES, ids=lambda p: p.name)
def test_round_trip_through_dump_yaml(path: Path, tmp_path: Path) -> None:
    first = load_experiment(path).experiment.to_dict()
    text = dump_yaml(first)
    # the text alone (no extends) is a complete, valid experiment file
    assert "extends" not in text
    (tmp_path / "config.yaml").write_text(text)
    again = load_experiment(tmp_path / "config.yaml").experiment.to_dict()
    assert_same(again, first)
    # and re-dumping is stable
    assert dump_yaml(again) == text


def test_dump_yaml_layout_of_a_resolved_file() -> None:
    text = dump_yaml(load_experiment(VALID / "layer_forms.yaml").experiment.to_dict())
    # sections in block style, one layer per line in its written form, short lists in flow
    assert "model:\n  input_shape: [28, 28, 1]\n  layers:\n" in text
    assert (
        "  - Conv2D: {filters: 32, kernel_size: [3, 3], padding: same, activation: relu}\n"
        "  - BatchNormalization\n"
        "  - MaxPooling2D: [2, 2]\n"
        "  - Dropout: 0.25\n"
        "  - Conv2D: [16, 3]\n"
        "  - Flatten\n"
    ) in text
    assert "metrics: [accuracy]\n" in text


def test_layer_forms_parse_into_specs() -> None:
    layers = load_experiment(VALID / "layer_forms.yaml").experiment.model.layers
    assert layers[0] == LayerSpec(
        "Conv2D",
        kwargs={"filters": 32, "kernel_size": [3, 3], "padding": "same", "activation": "relu"},
        form="mapping",
    )
    assert layers[1] == LayerSpec("BatchNormalization")
    assert layers[2] == LayerSpec("MaxPooling2D", args=(2, 2), form="list")
    assert layers[3] == LayerSpec("Dropout", args=(0.25,), form="scalar")
    assert layers[4] == LayerSpec("Conv2D", args=(16, 3), form="list")


def test_layer_with_null_arguments_is_bare() -> None:
    data, locations = parse_yaml("model: {input_shape: [4], layers: [{Flatten: null}]}")
    exp = validate(data, locations, "x.yaml")
    assert exp.model.layers == [LayerSpec("Flatten")]
    assert exp.to_dict()["model"]["layers"] == ["Flatten"]


def test_optimizer_kwargs_and_loss_arguments() -> None:
    exp = load_experiment(VALID / "loss_from_logits.yaml").experiment
    assert exp.optimizer.kwargs == {"rho": 0.8, "learning_rate": 0.0005}
    assert exp.loss.name == "sparse_categorical_crossentropy"
    assert exp.loss.model_extra == {"from_logits": True}


def test_extends_locations_point_into_each_file() -> None:
    loaded = load_experiment(VALID / "extends_child.yaml")
    # keys the child sets are located in the child, the others where they were inherited from
    assert loaded.locations["name"] == (str(VALID / "extends_child.yaml"), 3)
    assert loaded.locations["data.shuffle"] == (str(VALID / "extends_child.yaml"), 5)
    assert loaded.locations["data.batch_size"] == (str(VALID / "extends_middle.yaml"), 5)
    assert loaded.locations["seed"] == (str(VALID / "base.yaml"), 3)


def test_experiment_defaults_are_the_minimal_file() -> None:
    exp = Experiment.model_validate({"model": {"input_shape": [1], "layers": ["Flatten"]}})
    minimal = load_experiment(VALID / "minimal.yaml").experiment
    assert exp.model_dump(exclude={"model"}) == minimal.model_dump(exclude={"model"})


def test_round_trip_of_strings_that_look_like_yaml_12_floats(tmp_path: Path) -> None:
    src = tmp_path / "src.yaml"
    src.write_text(
        "name: '1e3'\ndata: {path: '2.5e-1'}\n"
        "model: {input_shape: [4], layers: [Flatten, {Dense: {units: 2, name: '1e1'}}]}\n"
    )
    first = load_experiment(src).experiment.to_dict()
    (tmp_path / "config.yaml").write_text(dump_yaml(first))
    assert load_experiment(tmp_path / "config.yaml").experiment.to_dict() == first
