"""Issue 12 in training: no test set (test_split: 0), raw pixels, counted splits, and
the refusal of a batch that would crash TensorFlow's oneDNN kernels."""

import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest
import yaml
from folder_factory import make_pets
from PIL import Image
from typer.testing import CliRunner

from cnnrun.cli.app import app

RUNNER = CliRunner()

SEGMENTER = {
    "input_shape": [16, 16, 3],
    "layers": [
        {"Conv2D": {"filters": 4, "kernel_size": 3, "padding": "same", "activation": "relu"}},
        {"Conv2D": {"filters": 3, "kernel_size": 1, "activation": "softmax"}},
    ],
}


def pets_config(folder, **data):
    return {
        "name": "pets",
        "seed": 1,
        "task": "segmentation",
        "data": {"dataset": "oxford_pets", "path": str(folder), "batch_size": 4, **data},
        "model": SEGMENTER,
        "loss": "sparse_categorical_crossentropy",
        "metrics": [],
        "epochs": 1,
        "tensorboard": False,
    }


def write(tmp_path, config):
    path = tmp_path / "exp.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def test_a_run_without_a_test_set_and_with_raw_pixels(tmp_path, recwarn):
    pets = make_pets(tmp_path / "pets", n=10, size=(20, 18))
    cfg = pets_config(
        pets, test_split=0, validation_split=2, train_limit=4, pixel_range="raw",
        resize="tf_bilinear", order={"shuffle": "python_random", "seed": 1337},
    )  # fmt: skip
    res = RUNNER.invoke(
        app, ["train", str(write(tmp_path, cfg)), "--runs-dir", str(tmp_path / "r")]
    )
    assert res.exit_code == 0, res.output
    text = " ".join(res.output.split())
    assert "4 training / 2 validation / 0 test examples" in text
    assert "done: no test set" in text
    assert not [w for w in recwarn if "ran out of data" in str(w.message)]
    run = next((tmp_path / "r").iterdir())
    results = json.loads((run / "results.json").read_text())
    assert results["test"] is None and results["epochs_completed"] == 1
    resolved = yaml.safe_load((run / "config.yaml").read_text())["data"]
    assert (resolved["pixel_range"], resolved["resize"]) == ("raw", "tf_bilinear")
    assert resolved["validation_split"] == 2 and resolved["train_limit"] == 4
    # commands that read the run do not crash on "test": null
    res = RUNNER.invoke(app, ["evaluate", str(run)])
    assert res.exit_code == 1 and "no test set" in res.output, res.output
    res = RUNNER.invoke(app, ["evaluate", str(run), "--split", "val"])
    assert res.exit_code == 0, res.output
    res = RUNNER.invoke(app, ["show", str(run)])
    assert res.exit_code == 0 and "no test set" in res.output, res.output
    res = RUNNER.invoke(app, ["compare", str(tmp_path / "r")])
    assert res.exit_code == 0, res.output
    photo = pets / "images" / "Cat_1.jpg"
    res = RUNNER.invoke(app, ["predict", str(run), str(photo), "--out", str(tmp_path / "p")])
    assert res.exit_code == 0 and (tmp_path / "p" / "Cat_1.png").is_file(), res.output


def test_predict_reads_images_as_the_run_fed_them(tmp_path):
    from cnnrun.predict.images import read_input_image

    path = tmp_path / "x.png"
    Image.new("RGB", (9, 7), (200, 100, 50)).save(path)
    unit, _ = read_input_image(path, (4, 4, 3))
    raw, _ = read_input_image(path, (4, 4, 3), resize="tf_bilinear", pixel_range="raw")
    assert float(unit.max()) == pytest.approx(200 / 255)
    assert float(raw.max()) == pytest.approx(200.0) and raw.dtype == np.float32


def test_expecting_a_test_figure_without_a_test_set_is_a_config_error(tmp_path):
    pets = make_pets(tmp_path / "pets", n=6)
    cfg = pets_config(pets, test_split=0, validation_split=2)
    cfg["expect"] = {"test.loss": "< 1"}
    res = RUNNER.invoke(app, ["validate", str(write(tmp_path, cfg))])
    assert res.exit_code == 2 and "expect.test.loss" in res.output, res.output
    # a folder of your own without test/: known once its files are listed, before training
    for cls in ("a", "b"):
        (tmp_path / "own" / cls).mkdir(parents=True)
        for k in range(4):
            Image.new("RGB", (8, 8), (50 * k, 9, 9)).save(tmp_path / "own" / cls / f"{k}.png")
    own = {
        "name": "own",
        "data": {"dataset": "folder", "path": str(tmp_path / "own"), "test_split": 0,
                 "validation": "none", "batch_size": 4},
        "model": {"input_shape": [8, 8, 3],
                  "layers": ["Flatten", {"Dense": {"units": 2, "activation": "softmax"}}]},
        "expect": {"test.accuracy": ">= 0.5"},
        "epochs": 1,
    }  # fmt: skip
    runs = tmp_path / "runs"
    res = RUNNER.invoke(app, ["train", str(write(tmp_path, own)), "--runs-dir", str(runs)])
    assert res.exit_code == 2 and "expect.test.accuracy" in res.output, res.output
    assert not runs.exists() or not any(runs.iterdir())


def test_a_count_beyond_the_data_points_at_its_line(tmp_path):
    pets = make_pets(tmp_path / "pets", n=6)
    path = write(tmp_path, pets_config(pets, test_split=0, validation_split=1000))
    res = RUNNER.invoke(app, ["train", str(path), "--runs-dir", str(tmp_path / "r")])
    assert res.exit_code == 2, res.output
    assert f"{path}:" in res.output and "data.validation_split" in res.output
    assert "1000 validation examples" in res.output
    assert not (tmp_path / "r").exists() or not any((tmp_path / "r").iterdir())


# ---------------------------------------------------------------------------------------
# TensorFlow 2.21's oneDNN crash (a subprocess: a crash must not take pytest with it)


def strided_pointwise_model(keras):
    inputs = keras.Input((16, 16, 3))
    x = keras.layers.Conv2D(4, 3, padding="same")(inputs)
    x = keras.layers.Conv2D(4, 1, strides=2, name="projection")(x)
    x = keras.layers.UpSampling2D(2)(x)
    return keras.Model(inputs, keras.layers.Conv2D(3, 1, activation="softmax")(x))


def test_the_guard_names_the_layer(monkeypatch):
    from cnnrun.tf_env import import_keras
    from cnnrun.train.onednn_guard import native_crash_risk, refusal

    keras = import_keras()
    monkeypatch.delenv("TF_ENABLE_ONEDNN_OPTS", raising=False)
    model = strided_pointwise_model(keras)
    model.compile(loss="sparse_categorical_crossentropy", jit_compile=False)
    why = native_crash_risk(model, gpu=False)
    assert why and "projection" in why
    assert "TF_ENABLE_ONEDNN_OPTS=0" in refusal(why)
    assert native_crash_risk(model, gpu=True) is None
    monkeypatch.setenv("TF_ENABLE_ONEDNN_OPTS", "0")
    assert native_crash_risk(model, gpu=False) is None
    monkeypatch.delenv("TF_ENABLE_ONEDNN_OPTS")
    model.compile(loss="sparse_categorical_crossentropy", jit_compile=True)
    assert native_crash_risk(model, gpu=False) is None
    # a strided 1x1 convolution of the input itself needs no input gradient: no crash
    inputs = keras.Input((16, 16, 3))
    first = keras.Model(inputs, keras.layers.Conv2D(3, 1, strides=2)(inputs))
    first.compile(loss="mse", jit_compile=False)
    assert native_crash_risk(first, gpu=False) is None


def unet_run(tmp_path, jit_compile):
    cfg = {
        "name": "unet",
        "task": "segmentation",
        # 33 examples in batches of 32 at 64x64, width 0.25: without XLA this crashed
        # (exit 139) in cnnrun and in plain model.fit
        "data": {"dataset": "synthetic", "limit": 33, "test_limit": 4, "validation": "none",
                 "batch_size": 32},
        "model": {"builder": "unet_xception", "input_shape": [64, 64, 3],
                  "args": {"num_classes": 3, "width": 0.25}},
        "metrics": [],
        "epochs": 1,
        "jit_compile": jit_compile,
        "tensorboard": False,
    }  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k != "TF_ENABLE_ONEDNN_OPTS"}
    runs = tmp_path / "runs"
    res = subprocess.run(
        [sys.executable, "-m", "cnnrun", "train", str(write(tmp_path, cfg)), "--runs-dir",
         str(runs)],
        capture_output=True, text=True, env={**env, "TF_CPP_MIN_LOG_LEVEL": "2"}, timeout=600,
    )  # fmt: skip
    return res.returncode, " ".join((res.stdout + res.stderr).split()), runs


def test_the_unet_with_jit_off_stops_before_the_run(tmp_path):
    code, out, runs = unet_run(tmp_path, False)
    assert code == 1, out[-2000:]
    assert "training may crash" in out and "TF_ENABLE_ONEDNN_OPTS=0" in out
    assert re.search(r"after the input \(conv2d_\d+\)", out), out[-2000:]  # names the layer
    assert not runs.exists() or not any(runs.iterdir())


@pytest.mark.slow
def test_the_unet_with_jit_auto_trains_with_xla(tmp_path):
    code, out, runs = unet_run(tmp_path, "auto")
    assert code == 0, (code, out[-2000:])  # without XLA: exit 134 or 139, run.json left "running"
    assert "jit_compile auto: XLA for this run" in out
    (run,) = runs.iterdir()
    assert json.loads((run / "run.json").read_text())["status"] == "completed"
