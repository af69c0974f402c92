"""`cnnrun evaluate` and `cnnrun predict` on saved runs of each task."""

import json
from types import SimpleNamespace

import numpy as np
import pytest
import typer
import yaml
from conftest import SHARED_DATA, TINY
from folder_factory import make_dogs, make_pets
from PIL import Image
from rich.console import Console
from typer.testing import CliRunner

from cnnrun import runfiles
from cnnrun.cli.predict import evaluate, predict
from cnnrun.errors import DataError
from cnnrun.predict.evaluate import evaluate_run
from cnnrun.predict.images import predict_files
from cnnrun.predict.saved import load_run

app = typer.Typer()
app.command()(evaluate)
app.command()(predict)
RUNNER = CliRunner()


@pytest.fixture(scope="module")
def classification_run(tmp_path_factory):
    """A tiny classification run trained for real (two epochs on synthetic 12x12 images)."""
    from cnnrun.checks import load_experiment
    from cnnrun.train.trainer import TrainOptions, train

    tmp = tmp_path_factory.mktemp("cls")
    (tmp / "tiny.yaml").write_text(TINY)
    console = Console(file=open(tmp / "console.txt", "w"))
    return train(load_experiment(tmp / "tiny.yaml"), TrainOptions(runs_dir=tmp / "runs"), console)


def _image(path, size=(30, 20), seed=0):
    pixels = np.random.default_rng(seed).integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path)
    return path


def _png_size(path):
    with Image.open(path) as im:
        assert im.format == "PNG"
        return im.size


def test_evaluate_recomputes_the_test_metrics(classification_run):
    values = evaluate_run(classification_run.run_dir)
    saved = classification_run.results["test"]
    assert set(values) == set(saved)
    for k in saved:
        assert values[k] == pytest.approx(saved[k], rel=1e-5, abs=1e-6)
    result = RUNNER.invoke(app, ["evaluate", str(classification_run.run_dir), "--split", "val"])
    assert result.exit_code == 0, result.output
    assert "val accuracy" in result.output and "val loss" in result.output
    result = RUNNER.invoke(app, ["evaluate", str(classification_run.run_dir)])
    assert "(results.json:" in result.output
    assert "test macro_f1" in result.output and "per class (test)" in result.output
    assert "macro avg" in result.output


def test_predict_draws_top_classes_for_each_image(classification_run, tmp_path):
    images = [_image(tmp_path / "a.png"), _image(tmp_path / "b.jpg", (50, 50), 1)]
    (tmp_path / "more").mkdir()
    _image(tmp_path / "more" / "a.png", seed=2)  # same stem as a.png: numbered
    written = predict_files(classification_run.run_dir, [*images, tmp_path / "more"])
    out = classification_run.run_dir / "predictions"
    assert written == [out / "a.png", out / "b.png", out / "a-1.png"]
    assert all(_png_size(p)[0] > 400 for p in written)
    result = RUNNER.invoke(
        app, ["predict", str(classification_run.run_dir), str(images[0]), "--out",
              str(tmp_path / "pngs")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    # one line per image: the image, its top class and probability, then "-> PICTURE"
    assert result.output.strip().endswith(f"-> {tmp_path / 'pngs' / 'a.png'}"), result.output


def test_predict_names_a_corrupt_image(classification_run, tmp_path):
    bad = tmp_path / "broken.jpg"
    good = _image(tmp_path / "good.jpg")
    bad.write_bytes(good.read_bytes()[:100])
    with pytest.raises(DataError, match="broken.jpg: corrupt or truncated"):
        predict_files(classification_run.run_dir, [bad], tmp_path / "o")
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    result = RUNNER.invoke(app, ["predict", str(classification_run.run_dir), str(empty)])
    assert result.exit_code == 1 and "empty.png" in result.output


def test_a_run_without_a_model_or_config_is_a_data_error(tmp_path):
    result = RUNNER.invoke(app, ["evaluate", str(tmp_path)])
    assert result.exit_code == 1 and "config.yaml is missing" in result.output
    (tmp_path / runfiles.CONFIG).write_text("task: classification\n")
    with pytest.raises(DataError, match="no saved model"):
        load_run(tmp_path)


def _save_run(run_dir, model, config):
    (run_dir / "checkpoints").mkdir(parents=True)
    (run_dir / runfiles.CONFIG).write_text(yaml.safe_dump(config))
    model.save(run_dir / runfiles.LAST_MODEL)  # no best.keras: the fallback is used
    return run_dir


def _tiny_segmenter(size):
    import keras

    from cnnrun.model.losses import mean_iou, pixel_accuracy

    keras.utils.set_random_seed(0)
    inputs = keras.Input((size, size, 3))
    x = keras.layers.Conv2D(4, 3, padding="same", activation="relu")(inputs)
    model = keras.Model(inputs, keras.layers.Conv2D(3, 1, activation="softmax")(x))
    model.compile("adam", "sparse_categorical_crossentropy",
                  metrics=[mean_iou(3), pixel_accuracy()])  # fmt: skip
    return model


@pytest.mark.filterwarnings("ignore:Skipping variable loading for optimizer")
def test_segmentation_run_evaluate_and_predict(tmp_path):
    from cnnrun.data.folders import read_oxford_pets

    pets = make_pets(tmp_path / "pets", n=2, size=(40, 30))
    model = _tiny_segmenter(16)
    config = {"task": "segmentation", "data": {"dataset": "oxford_pets", "path": str(pets),
              "batch_size": 2}}  # fmt: skip
    run = _save_run(tmp_path / "run", model, config)
    data = read_oxford_pets(pets, (16, 16))
    splits = SimpleNamespace(x_test=data.images, y_test=data.masks)
    values = evaluate_run(run, splits=splits)
    assert set(values) == {"loss", "mean_iou", "pixel_accuracy"}
    pred = model.predict(data.images / 255.0, verbose=0).argmax(-1)
    assert values["pixel_accuracy"] == pytest.approx((pred == data.masks).mean(), abs=1e-6)
    (out,) = predict_files(run, [pets / "images" / "Cat_1.jpg"], tmp_path / "o")
    with_truth = _png_size(out)[0]
    loose = _image(tmp_path / "loose.png")  # not in a pets folder: no true mask
    (out2,) = predict_files(run, [loose], tmp_path / "o")
    assert with_truth > _png_size(out2)[0] * 1.3  # image | true | predicted


def _tiny_keypointer(size):
    import keras

    from cnnrun.model.losses import keypoint_error_px, pck, visible_mse

    keras.utils.set_random_seed(0)
    inputs = keras.Input((size, size, 3))
    x = keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(4, 3, strides=4)(inputs))
    model = keras.Model(inputs, keras.layers.Dense(48, activation="sigmoid")(x))
    model.compile("adam", visible_mse(),
                  metrics=[keypoint_error_px((size, size)), pck((size, size))])  # fmt: skip
    return model


@pytest.mark.filterwarnings("ignore:Skipping variable loading for optimizer")
def test_keypoints_run_evaluate_and_predict(tmp_path):
    from cnnrun.data.folders import read_stanford_extra

    dogs = make_dogs(tmp_path / "dogs", n=2)
    model = _tiny_keypointer(32)
    config = {"task": "keypoints", "data": {"dataset": "stanford_extra", "path": str(dogs)}}
    run = _save_run(tmp_path / "run", model, config)
    data = read_stanford_extra(dogs, image_size=(32, 32))
    values = evaluate_run(run, splits=SimpleNamespace(x_test=data.images, y_test=data.keypoints))
    assert set(values) == {"loss", "keypoint_error_px", "pck"}
    assert 0 < values["keypoint_error_px"] < 32 * 1.5
    image = dogs / "Images" / data.names[0]
    (out,) = predict_files(run, [image], tmp_path / "o")
    assert _png_size(out)[0] > 500  # the joints' legend beside the photo


def test_safe_mode_refuses_a_model_with_python_code(tmp_path):
    import keras

    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Lambda(lambda t: t * 2)(inputs))
    run = _save_run(tmp_path / "run", model, {"task": "classification"})
    with pytest.raises(DataError, match="last.keras: Keras cannot load the model"):
        load_run(run)


@pytest.mark.skipif(not (SHARED_DATA / "stanford_extra").is_dir(), reason="no shared data")
@pytest.mark.filterwarnings("ignore:Skipping variable loading for optimizer")
def test_predict_finds_true_keypoints_of_a_real_dog(tmp_path):
    root = SHARED_DATA / "stanford_extra"
    run = _save_run(tmp_path / "run", _tiny_keypointer(32),
                    {"task": "keypoints", "data": {"dataset": "stanford_extra"}})  # fmt: skip
    entries = json.loads((root / "StanfordExtra_sample.json").read_text())
    image = root / "Images" / entries[0]["img_path"]
    (out,) = predict_files(run, [image], tmp_path / "o")
    assert _png_size(out)[0] > 500
