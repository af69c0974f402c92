"""Export a trained model in each format and run it in its own runtime (parity to 1e-4)."""

import numpy as np
import pytest
from rich.console import Console
from typer.testing import CliRunner

from cnnrun import runfiles
from cnnrun.checks import load_experiment
from cnnrun.errors import DataError
from cnnrun.export.formats import export_run, load_checkpoint
from cnnrun.export.parity import max_difference, run_exported, sample_inputs
from cnnrun.train.trainer import TrainOptions, train

TOLERANCE = 1e-4


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    from conftest import TINY

    root = tmp_path_factory.mktemp("export")
    (root / "tiny.yaml").write_text(TINY)
    loaded = load_experiment(root / "tiny.yaml", ["epochs=1", "tensorboard=false"])
    console = Console(file=open(root / "console.txt", "w"), width=120)
    return train(loaded, TrainOptions(runs_dir=root / "runs"), console).run_dir


@pytest.fixture(scope="module")
def backbone_run(tmp_path_factory):
    """A run folder whose model starts with VGG's preprocessing (RGB->BGR, minus means)."""
    from cnnrun.model.preprocess import BackbonePreprocess
    from cnnrun.tf_env import import_keras

    keras = import_keras()
    run = tmp_path_factory.mktemp("backbone")
    inputs = keras.Input((16, 16, 3), name="image")
    x = BackbonePreprocess("vgg16")(inputs)
    x = keras.layers.Conv2D(4, 3, activation="relu")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    x = keras.layers.Dense(5, activation="softmax", kernel_initializer="he_normal")(x)
    model = keras.Model(inputs, x)
    (run / runfiles.CHECKPOINTS).mkdir()
    model.save(run / runfiles.BEST_MODEL)
    return run


def _keras_images(run, n=16):
    # the same 16 images for the Keras model and the export: from the run's own data shape
    model = load_checkpoint(run / runfiles.BEST_MODEL)
    return model, sample_inputs(model.inputs[0].shape, n)


@pytest.mark.parametrize("fmt", ["savedmodel", "tflite", "onnx"])
def test_an_export_predicts_as_the_keras_model(trained_run, fmt, tmp_path):
    if fmt == "onnx":
        pytest.importorskip("tf2onnx")
        pytest.importorskip("onnxruntime")
    done = export_run(trained_run, fmt)
    assert done.path == trained_run / runfiles.EXPORTS / runfiles.EXPORT_NAMES[fmt]
    assert done.path.exists() and done.checkpoint.name == "best.keras"
    model, x = _keras_images(trained_run)
    out = run_exported(done.path, fmt, x)
    assert out.shape == (16, 3)
    assert float(np.max(np.abs(out - model.predict(x, verbose=0)))) <= TOLERANCE


@pytest.mark.parametrize("fmt", ["savedmodel", "tflite", "onnx"])
def test_backbone_preprocessing_survives_the_export(backbone_run, fmt, tmp_path):
    if fmt == "onnx":
        pytest.importorskip("tf2onnx")
        pytest.importorskip("onnxruntime")
    out = tmp_path / runfiles.EXPORT_NAMES[fmt]
    done = export_run(backbone_run, fmt, out)
    model, x = _keras_images(backbone_run)
    assert max_difference(model, done.path, fmt, x) <= TOLERANCE
    # without the layer's mean subtraction the outputs would differ: it is in the graph
    assert float(np.ptp(run_exported(done.path, fmt, x), axis=0).max()) > 0


def test_export_command_prints_the_path_last(trained_run, tmp_path):
    from cnnrun.cli.app import app

    out = tmp_path / "m.tflite"
    result = CliRunner().invoke(
        app, ["export", str(trained_run), "--format", "tflite", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines()[-1] == str(out)
    assert "max |Δ| against Keras on 16 images" in result.output


def test_export_errors_are_data_errors(tmp_path, trained_run):
    with pytest.raises(DataError, match="no saved model"):
        export_run(tmp_path, "savedmodel")
    with pytest.raises(DataError, match=r"\.tflite"):
        export_run(trained_run, "tflite", tmp_path / "model.bin")
