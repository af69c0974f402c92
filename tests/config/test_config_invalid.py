"""Invalid experiment files (tests/config/invalid/*.yaml): one readable, located message each.

Each file's first line is ``# error: <the first line of ConfigError.render()>``, where
``{file}`` stands for the file's path and ``{dir}`` for its folder. The line the error
must point at carries a trailing ``# <-`` comment (no marker: the error has no line).
Files listed in KNOWN_BUGS hold the message the code should give and are strict xfails.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from cnnrun.checks import load_experiment
from cnnrun.config.schema import Experiment
from cnnrun.config.yaml_io import parse_scalar
from cnnrun.errors import ConfigError

HERE = Path(__file__).resolve().parent
INVALID = HERE / "invalid"
INVALID_FILES = sorted(INVALID.glob("*.yaml"))
MARKER = "# <-"

KNOWN_BUGS: dict[str, str] = {}

# `validate` without --build checks no shapes, and its ok says so (issue 13)
SCHEMA_ONLY = " (schema only; shapes not checked: --build)"


def expected_first_line(path: Path) -> str:
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith("# error: "), f"{path.name}: first line must be '# error: ...'"
    return (
        first.removeprefix("# error: ")
        .replace("{file}", str(path))
        .replace("{dir}", str(path.parent))
    )


def marked_line(path: Path) -> int | None:
    lines = path.read_text(encoding="utf-8").splitlines()
    marked = [i for i, text in enumerate(lines, start=1) if text.rstrip().endswith(MARKER)]
    assert len(marked) <= 1, f"{path.name}: more than one {MARKER!r} marker"
    return marked[0] if marked else None


def load_error(path: Path, overrides: list[str] | None = None) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_experiment(path, overrides)
    return info.value


def _cases(bugs: dict[str, str]) -> list:
    return [
        pytest.param(
            p,
            id=p.stem,
            marks=[pytest.mark.xfail(reason=bugs[p.name], strict=True)] if p.name in bugs else [],
        )
        for p in INVALID_FILES
    ]


# The ones among KNOWN_BUGS whose line is wrong too (the others point at the right line).
LINE_BUGS = {
    name: KNOWN_BUGS[name]
    for name in KNOWN_BUGS
    if name not in ("extend_typo.yaml", "yaml_two_documents.yaml")
}


def test_known_bugs_name_existing_files() -> None:
    assert set(LINE_BUGS) <= set(KNOWN_BUGS) <= {p.name for p in INVALID_FILES}


@pytest.mark.parametrize("path", _cases(KNOWN_BUGS))
def test_first_line_of_the_message(
    path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # where a (refused) !!python payload would write
    err = load_error(path)
    assert list(tmp_path.iterdir()) == []  # nothing left behind
    assert err.render().splitlines()[0] == expected_first_line(path)
    assert "Traceback" not in err.render()


@pytest.mark.parametrize("path", _cases(LINE_BUGS))
def test_line_points_at_the_mistake(path: Path) -> None:
    err = load_error(path)
    # the file is this one, or a base file it extends (with its own marker)
    assert err.file is not None
    assert err.file == str(path) or Path(err.file).parent == INVALID / "bases"
    assert err.line == marked_line(Path(err.file))


# The rest of the message (expected vs received) for the commonest mistakes.
DETAILS = {
    "unknown_top_key.yaml": ("one of: " + ", ".join(Experiment.model_fields), "'epoch'"),
    "misspelt_nested_key.yaml": (
        "one of: dataset, path, validation, validation_split, batch_size, limit, test_limit, "
        "shuffle, test_split, json_name, skip_bad_images, pixel_range, resize, order, "
        "train_limit, augment, drop_remainder, keypoints",  # issue 12's data keys
        "'batchsize'",
    ),
    "wrong_type.yaml": ("a valid integer, unable to parse string as an integer", "'ten'"),
    "epochs_zero.yaml": ("greater than or equal to 1", "0"),
    "validation_split_too_big.yaml": ("a fraction in [0, 1) or a count (an integer >= 1)", "1.5"),
    "validation_literal.yaml": ("one of: split, test, none", "'tset'"),
    "unknown_layer.yaml": ("a Keras layer class name (`cnnrun list layers`)", "'Conv2d'"),
    "missing_layer_arguments.yaml": (
        "Conv2D: {filters: ...}",
        "{'kernel_size': 3, 'padding': 'same'}",
    ),
    "missing_layer_arguments_bare.yaml": ("Conv2D: {filters: ..., kernel_size: ...}", "None"),
    "unknown_optimizer.yaml": ("a name from `cnnrun list optimizers`", "'adamm'"),
    "unknown_loss.yaml": (
        "a name from `cnnrun list losses`",
        "'sparse_categorical_crossentropi'",
    ),
    "unknown_metric.yaml": ("a name from `cnnrun list metrics`", "'acuracy'"),
    "unknown_schedule.yaml": (
        "one of: constant, exponential_per_epoch, step, cosine, reduce_on_plateau",
        "'cosin'",
    ),
    "unknown_schedule_key.yaml": (
        "one of: name, initial_learning_rate, factor, every",
        "'evry'",
    ),
    "unknown_dataset.yaml": ("a name from `cnnrun list datasets`", "'fashion'"),
    "unknown_callback.yaml": ("a name from `cnnrun list callbacks`", "'early_stoping'"),
    "monitor_not_reported.yaml": ("one of: loss, accuracy, val_loss, val_accuracy", "'val_acc'"),
    "top_level_list.yaml": ("a YAML mapping (name: ..., model: ...)", "list"),
    "python_tag.yaml": ("plain YAML (safe loader: no !!python or other custom tags)", None),
    "layer_two_keys.yaml": (
        "a layer is a class name (`Flatten`) or a one-key mapping (`Dropout: 0.25`, "
        "`MaxPooling2D: [2, 2]`, `Dense: {units: 10}`)",
        "{'Flatten': None, 'Dense': {'units': 10}}",
    ),
    "extends_missing_file.yaml": (None, str(INVALID / "no_such_base.yaml")),
    "extends_not_a_string.yaml": ("a path string", "['a.yaml', 'b.yaml']"),
}


@pytest.mark.parametrize("name", sorted(DETAILS))
def test_expected_and_received(name: str) -> None:
    err = load_error(INVALID / name)
    expected, received = DETAILS[name]
    assert (err.expected, err.received) == (expected, received)
    lines = err.render().splitlines()
    assert lines[1:] == [
        *([f"  expected: {expected}"] if expected is not None else []),
        *([f"  received: {received}"] if received is not None else []),
    ]


def test_unknown_layer_argument_lists_the_layers_arguments() -> None:
    err = load_error(INVALID / "unknown_layer_argument.yaml")
    assert err.suggestion == "filters"
    assert err.expected is not None and err.expected.startswith(
        "one of: filters, kernel_size, strides, padding,"
    )
    assert err.received == "'filtres'"


def test_too_many_positional_arguments_is_located(tmp_path: Path) -> None:
    path = tmp_path / "many.yaml"
    args = "[0.5, null, 1, null, true, null, true, d, x, y, z, w]"
    path.write_text(f"model:\n  input_shape: [4]\n  layers:\n    - Dropout: {args}\n")
    first, expected, received = load_error(path).render().splitlines()
    assert first.startswith(f"{path}:4: model.layers[0].Dropout: Dropout takes at most ")
    assert first.endswith(" positional arguments")
    assert expected.startswith("  expected: in order: rate, noise_shape, seed")
    assert received == "  received: [0.5, None, 1, None, True, None, True, 'd', 'x', 'y', 'z', 'w']"


def test_optimizer_lr_suggests_learning_rate() -> None:
    err = load_error(INVALID / "unknown_optimizer_argument.yaml")
    assert err.suggestion == "learning_rate"


def test_extends_cycle_of_two_files(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("name: a\nextends: b.yaml\n")
    (tmp_path / "b.yaml").write_text("extends: a.yaml\nname: b\n")
    err = load_error(tmp_path / "a.yaml")
    assert err.path == "extends"
    assert err.message == "`extends` makes a cycle: a.yaml -> b.yaml -> a.yaml"


def test_extends_cycle_of_two_files_has_a_line(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("name: a\nextends: b.yaml\n")
    (tmp_path / "b.yaml").write_text("extends: a.yaml\nname: b\n")
    err = load_error(tmp_path / "a.yaml")
    # whichever file it names, the line is that file's `extends:` line
    assert (err.file, err.line) in {(str(tmp_path / "a.yaml"), 2), (str(tmp_path / "b.yaml"), 1)}


def test_error_in_a_base_file_is_located_there() -> None:
    err = load_error(INVALID / "extends_error_in_base.yaml")
    assert err.file == str(INVALID / "bases" / "bad_optimizer.yaml")
    assert err.line == 4
    assert err.suggestion == "learning_rate"  # `lr`: Keras 2's name


@pytest.mark.parametrize(
    "payload",
    [
        "!!python/object/apply:os.mkdir [{target}]",
        "!!python/object/new:pathlib.Path.mkdir [{target}]",
        "!!python/object/apply:subprocess.check_call [[mkdir, {target}]]",
    ],
)
def test_python_tags_have_no_side_effect(tmp_path: Path, payload: str) -> None:
    target = tmp_path / "created-by-payload"
    text = (
        f"name: {payload.format(target=target)}\nmodel: {{input_shape: [4], layers: [Flatten]}}\n"
    )
    path = tmp_path / "evil.yaml"
    path.write_text(text)
    err = load_error(path)
    assert (
        err.render()
        .splitlines()[0]
        .startswith(
            f"{path}:1: unsupported YAML: could not determine a constructor for the tag "
            "'tag:yaml.org,2002:python/object/"
        )
    )
    assert not target.exists()
    # same through --set
    with pytest.raises(ConfigError, match="unsupported YAML"):
        parse_scalar(payload.format(target=target))
    assert not target.exists()


def test_python_tag_payload_is_live(tmp_path: Path) -> None:
    """The payload above really runs under an unsafe loader (so the test above can fail)."""
    target = tmp_path / "created-by-payload"
    yaml.unsafe_load(f"name: !!python/object/apply:os.mkdir [{target}]\n")
    assert target.is_dir()


def test_missing_file_and_folder(tmp_path: Path) -> None:
    assert (
        load_error(tmp_path / "nope.yaml").render() == f"{tmp_path / 'nope.yaml'}: file not found"
    )
    assert (
        load_error(tmp_path).render()
        == f"{tmp_path}: expected an experiment file, received a folder"
    )


def test_empty_file_needs_a_model(tmp_path: Path) -> None:
    (tmp_path / "empty.yaml").write_text("# nothing\n")
    err = load_error(tmp_path / "empty.yaml")
    assert err.render() == f"{tmp_path / 'empty.yaml'}: model: missing required key 'model'"


def _cli_validate(*paths: Path):  # noqa: ANN202
    from cnnrun.cli.app import app

    return CliRunner().invoke(app, ["validate", *map(str, paths)])


@pytest.mark.parametrize(
    "name", ["unknown_layer.yaml", "duplicate_key.yaml", "python_tag.yaml", "extends_self.yaml"]
)
def test_cli_validate_exits_2_with_the_message(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(HERE)  # short relative paths
    path = Path("invalid") / name
    result = _cli_validate(Path("valid/minimal.yaml"), path)
    assert result.exit_code == 2
    assert result.stdout == f"ok valid/minimal.yaml{SCHEMA_ONLY}\n"
    assert result.stderr == f"error: {load_error(path).render()}\n"


def test_cli_validate_accepts_every_valid_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(HERE)
    valid = sorted(Path("valid").glob("*.yaml"))
    result = _cli_validate(*valid)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines() == [f"ok {p}{SCHEMA_ONLY}" for p in valid]


def test_cli_validate_ok_line_is_not_wrapped(tmp_path: Path) -> None:
    deep = tmp_path.joinpath(*(c * 200 for c in "defg"))  # wider than any console
    deep.mkdir(parents=True)
    path = deep / "minimal.yaml"
    path.write_text((HERE / "valid" / "minimal.yaml").read_text())
    result = _cli_validate(path)
    assert result.exit_code == 0
    assert result.stdout == f"ok {path}{SCHEMA_ONLY}\n"


def test_validation_imports_no_tensorflow() -> None:
    code = (
        "import sys\n"
        "from cnnrun.checks import load_experiment\n"
        "from cnnrun.errors import ConfigError\n"
        f"load_experiment({str(HERE / 'valid' / 'layer_forms.yaml')!r})\n"
        "try:\n"
        f"    load_experiment({str(INVALID / 'unknown_layer.yaml')!r})\n"
        "except ConfigError:\n"
        "    pass\n"
        "heavy = [m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras')]\n"
        "print(heavy)\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert out.stdout == "[]\n"


def _error_of(tmp_path: Path, text: str) -> ConfigError:
    path = tmp_path / "exp.yaml"
    path.write_text("model: {input_shape: [4], layers: [Flatten, {Dense: {units: 2}}]}\n" + text)
    return load_error(path)


def test_a_loss_without_a_class_takes_no_arguments(tmp_path: Path) -> None:
    err = _error_of(tmp_path, "loss: {name: mse, from_logits: true}\n")
    assert (err.path, err.line, err.message) == ("loss", 2, "the loss 'mse' takes no arguments")


def test_keras_2_argument_names_suggest_keras_3_ones(tmp_path: Path) -> None:
    err = _error_of(tmp_path, "callbacks:\n  - reduce_lr_on_plateau: {epsilon: 0.01}\n")
    assert err.path == "callbacks[0].reduce_lr_on_plateau.epsilon"
    assert err.suggestion == "min_delta"
    err = _error_of(tmp_path, "optimizer: {name: adam, decay: 0.01}\n")
    assert err.suggestion is None  # Keras 2's `decay` was not weight decay


def test_plateau_default_monitor_without_validation_is_the_loss(tmp_path: Path) -> None:
    path = tmp_path / "exp.yaml"
    path.write_text(
        "data: {validation: none}\nmodel: {input_shape: [4], layers: [Flatten]}\n"
        "schedule: {name: reduce_on_plateau}\n"
    )
    schedule = load_experiment(path).experiment.schedule
    assert schedule is not None and schedule.monitor == "loss"  # type: ignore[union-attr]
    # written out, it is checked: training without validation reports no val_loss
    path.write_text(
        "data: {validation: none}\nmodel: {input_shape: [4], layers: [Flatten]}\n"
        "schedule: {name: reduce_on_plateau, monitor: val_loss}\n"
    )
    err = load_error(path)
    assert (err.path, err.line) == ("schedule.monitor", 3)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("data: {shuffle: 1}\n", "a valid boolean"),
        ("jit_compile: 0\n", "a valid boolean, or one of: auto"),
        ("seed: true\n", "a valid integer"),
        ("optimizer: {learning_rate: true}\n", "a valid number"),
        ("fine_tune: {at_epoch: 1, unfreeze: true}\n", None),
    ],
)
def test_booleans_are_not_numbers(tmp_path: Path, text: str, expected: str | None) -> None:
    err = _error_of(tmp_path, text)
    assert err.message == "invalid value"
    if expected is not None:
        assert err.expected == expected


def test_extends_nested_too_deep_points_at_the_last_extends(tmp_path: Path) -> None:
    for i in range(12):
        (tmp_path / f"d{i}.yaml").write_text(f"extends: d{i + 1}.yaml\n")
    err = load_error(tmp_path / "d0.yaml")
    assert err.message == "`extends` is nested too deep"
    assert (err.file, err.line) == (str(tmp_path / "d9.yaml"), 1)
