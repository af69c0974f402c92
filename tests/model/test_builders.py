"""Model builders called by name from YAML, and users' own builders from a Python file."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from conftest import loaded_after
from typer.testing import CliRunner

from cnnrun.checks import load_experiment
from cnnrun.cli.app import app
from cnnrun.errors import ConfigError
from cnnrun.model.builders import (
    BUILDERS,
    builder_params,
    describe_params,
    load_builder_file,
    register_builder,
)

runner = CliRunner()

USER_FILE = """\
from cnnrun.model.builders import register_builder


@register_builder("{name}")
def build(input_shape, units, hidden=8):
    '''A user's two Dense layers.'''
    import keras

    inputs = keras.Input(shape=input_shape)
    x = keras.layers.Flatten()(inputs)
    x = keras.layers.Dense(hidden, activation="relu")(x)
    return keras.Model(inputs, keras.layers.Dense(units, activation="softmax")(x))
"""


def experiment(folder: Path, model: str, name: str = "exp.yaml") -> Path:
    path = folder / name
    path.write_text(
        "name: built\n"
        "data: {dataset: synthetic, limit: 48, test_limit: 16, batch_size: 16}\n"
        "model:\n" + textwrap.indent(textwrap.dedent(model), "  ") + "epochs: 1\n"
    )
    return path


def user_file(folder: Path, name: str) -> Path:
    path = folder / f"{name}.py"
    path.write_text(USER_FILE.format(name=name))
    return path


def build(path: Path, overrides: list[str] | None = None):  # noqa: ANN201
    from cnnrun.model.build import build_model

    loaded = load_experiment(path, overrides)
    return build_model(loaded.experiment, loaded), loaded


def test_shipped_builders_are_registered_with_their_arguments():
    assert {"small_resnet", "unet_xception"} <= set(BUILDERS.names())
    assert describe_params("small_resnet").startswith("num_classes=10, filters=32")
    own, open_ended = builder_params("unet_xception")
    assert [p.name for p in own] == ["num_classes", "width"] and not open_ended


def test_small_resnet_builds_from_yaml(tmp_path):
    model, _ = build(
        experiment(
            tmp_path,
            """\
            builder: small_resnet
            input_shape: [16, 16, 1]
            args: {num_classes: 4, filters: 8, stages: 2, blocks_per_stage: 1}
            """,
        )
    )
    assert tuple(model.output.shape) == (None, 4)
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds.count("Add") == 2
    assert tuple(model.get_layer("stage2_block1_add").output.shape) == (None, 8, 8, 16)


def test_unet_xception_is_the_keras_example():
    """keras.io "Image segmentation with a U-Net-like architecture": 160x160x3, 3 classes."""
    from cnnrun.tf_env import import_keras

    keras = import_keras()
    model = BUILDERS.get("unet_xception")(input_shape=(160, 160, 3), num_classes=3)
    assert isinstance(model, keras.Model)
    assert tuple(model.output.shape) == (None, 160, 160, 3)
    assert model.count_params() == 2_058_979  # the example's model.summary()
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds.count("SeparableConv2D") == 6
    assert kinds.count("Conv2DTranspose") == 8
    assert kinds.count("UpSampling2D") == 8
    assert kinds.count("Add") == 7


def test_user_builder_from_a_file_next_to_the_experiment(tmp_path):
    (tmp_path / "lib").mkdir()
    user_file(tmp_path / "lib", "user_dense_a")
    config = experiment(
        tmp_path,
        """\
        builder: user_dense_a
        file: lib/user_dense_a.py
        input_shape: [6, 6, 1]
        args: {units: 3}
        """,
    )
    model, loaded = build(config)
    assert loaded.experiment.model.file == str(tmp_path / "lib" / "user_dense_a.py")
    assert tuple(model.output.shape) == (None, 3)
    assert model.count_params() == 36 * 8 + 8 + 8 * 3 + 3


def test_user_builder_from_the_command_line(tmp_path):
    path = user_file(tmp_path, "user_dense_b")
    config = experiment(
        tmp_path, "builder: user_dense_b\ninput_shape: [4, 4, 1]\nargs: {units: 2}\n"
    )
    res = runner.invoke(app, ["--builders", str(path), "list", "builders"])
    assert res.exit_code == 0, res.output
    assert "user_dense_b" in res.output and "units, hidden=8" in res.output
    res = runner.invoke(app, ["--builders", str(path), "validate", str(config)])
    assert res.exit_code == 0, res.output
    # the resolved config records the file, so the run folder's config.yaml runs again
    loaded = load_experiment(config)
    assert loaded.experiment.model.file == str(path)


def test_user_builder_trains_end_to_end(tmp_path):
    user_file(tmp_path, "user_dense_c")
    config = experiment(
        tmp_path,
        "builder: user_dense_c\nfile: user_dense_c.py\ninput_shape: [4, 4, 1]\nargs: {units: 3}\n",
    )
    res = runner.invoke(app, ["train", str(config), "--smoke", "--runs-dir", str(tmp_path / "r")])
    assert res.exit_code == 0, res.output
    run = tmp_path / "r" / res.output.strip().splitlines()[-1].rsplit("/", 1)[-1]
    assert f"file: {tmp_path / 'user_dense_c.py'}" in (run / "config.yaml").read_text()


@pytest.mark.parametrize(
    ("model", "path", "first_line"),
    [
        (
            "builder: small_resnt\ninput_shape: [8, 8, 1]\n",
            "model.builder",
            "{file}:4: model.builder: unknown model builder 'small_resnt'. "
            "Did you mean 'small_resnet'?",
        ),
        (
            "builder: small_resnet\ninput_shape: [8, 8, 1]\nargs: {filter: 3}\n",
            "model.args.filter",
            "{file}:6: model.args.filter: builder 'small_resnet' has no argument 'filter'. "
            "Did you mean 'filters'?",
        ),
        (
            "builder: user_dense_d\nfile: user_dense_d.py\ninput_shape: [8, 8, 1]\n",
            "model.args",
            "{file}:3: model.args: builder 'user_dense_d' needs units",
        ),
        (
            "builder: small_resnet\nfile: missing.py\ninput_shape: [8, 8, 1]\n",
            "model.file",
            "{file}:5: model.file: the builder file does not exist",
        ),
        (
            "builder: small_resnet\nargs: {}\n",
            "model.input_shape",
            "{file}:3: model.input_shape: missing required key 'input_shape'",
        ),
    ],
    ids=["unknown-builder", "unknown-argument", "missing-argument", "missing-file", "no-shape"],
)
def test_builder_errors_are_located(tmp_path, model, path, first_line):
    user_file(tmp_path, "user_dense_d")
    config = experiment(tmp_path, model)
    with pytest.raises(ConfigError) as info:
        load_experiment(config)
    assert info.value.path == path
    assert info.value.render().splitlines()[0] == first_line.format(file=config)


def test_a_failing_builder_is_a_config_error(tmp_path):
    config = experiment(
        tmp_path, "builder: small_resnet\ninput_shape: [8, 8, 1]\nargs: {stages: -1}\n"
    )
    register_builder("returns_nothing")(lambda input_shape: None)
    with pytest.raises(ConfigError) as info:
        build(config, ["model.args.filters=0"])
    assert info.value.path == "model.args"
    assert info.value.message == "the builder 'small_resnet' failed"
    other = experiment(tmp_path, "builder: returns_nothing\ninput_shape: [2]\n", "o.yaml")
    with pytest.raises(ConfigError, match="did not return a Keras model"):
        build(other)


def test_a_broken_builder_file_is_a_config_error(tmp_path):
    bad = tmp_path / "broken.py"
    bad.write_text("raise RuntimeError('oops')\n")
    with pytest.raises(ConfigError) as info:
        load_builder_file(bad)
    assert info.value.received == "RuntimeError: oops"
    res = runner.invoke(app, ["--builders", str(bad), "list", "builders"])
    assert res.exit_code == 2
    assert "RuntimeError: oops" in res.output


def test_register_builder_rejects_a_taken_name_or_no_input_shape():
    with pytest.raises(ValueError, match="already registered"):
        register_builder("small_resnet")(lambda input_shape: None)
    with pytest.raises(ValueError, match="input_shape"):
        register_builder("no_shape")(lambda size: None)


def test_loading_a_file_twice_registers_once(tmp_path):
    path = user_file(tmp_path, "user_dense_e")
    assert load_builder_file(path) == ["user_dense_e"]
    assert load_builder_file(path) == ["user_dense_e"]


def test_listing_builders_needs_no_tensorflow():
    out = CliRunner().invoke(app, ["list", "builders"]).output
    assert "small_resnet" in out and "unet_xception" in out, out
    assert loaded_after([["list", "builders"]], ("tensorflow", "keras")) == []
