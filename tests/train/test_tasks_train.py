"""Segmentation and keypoints end to end (issue 5): folders in the official layouts,
synthetic data, validation of task names, augmentation in the training stream, learning."""

import json

import numpy as np
import pytest
import yaml
from folder_factory import make_dogs
from PIL import Image
from rich.console import Console
from typer.testing import CliRunner

from cnnrun.checks import load_experiment
from cnnrun.cli.app import app
from cnnrun.errors import ConfigError, DataError

RUNNER = CliRunner()

SEGMENTER = {  # a small U-Net as a graph: two poolings, skip connections by Concatenate
    "input_shape": [32, 32, 3],
    "graph": [
        {"name": "c1", "layer": {"Conv2D": {"filters": 8, "kernel_size": 3, "padding": "same",
         "activation": "relu"}}, "input": "input"},
        {"name": "p1", "layer": "MaxPooling2D", "input": "c1"},
        {"name": "c2", "layer": {"Conv2D": {"filters": 16, "kernel_size": 3, "padding": "same",
         "activation": "relu"}}, "input": "p1"},
        {"name": "p2", "layer": "MaxPooling2D", "input": "c2"},
        {"name": "c3", "layer": {"Conv2D": {"filters": 32, "kernel_size": 3, "padding": "same",
         "activation": "relu"}}, "input": "p2"},
        {"name": "u2", "layer": "UpSampling2D", "input": "c3"},
        {"name": "m2", "layer": "Concatenate", "inputs": ["u2", "c2"]},
        {"name": "d2", "layer": {"Conv2D": {"filters": 16, "kernel_size": 3, "padding": "same",
         "activation": "relu"}}, "input": "m2"},
        {"name": "u1", "layer": "UpSampling2D", "input": "d2"},
        {"name": "m1", "layer": "Concatenate", "inputs": ["u1", "c1"]},
        {"name": "d1", "layer": {"Conv2D": {"filters": 8, "kernel_size": 3, "padding": "same",
         "activation": "relu"}}, "input": "m1"},
        {"name": "mask", "layer": {"Conv2D": {"filters": 3, "kernel_size": 1,
         "activation": "softmax"}}, "input": "d1"},
    ],
}  # fmt: skip


def keypointer(joints=24, size=32):
    return {
        "input_shape": [size, size, 3],
        "layers": [
            {"Conv2D": {"filters": 16, "kernel_size": 3, "padding": "same", "activation": "relu"}},
            "MaxPooling2D",
            {"Conv2D": {"filters": 32, "kernel_size": 3, "padding": "same", "activation": "relu"}},
            "MaxPooling2D",
            "Flatten",
            {"Dense": {"units": 64, "activation": "relu"}},
            {"Dense": {"units": 2 * joints, "activation": "sigmoid"}},
        ],
    }


def write(tmp_path, config, name="exp.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def segmentation_config(**data):
    return {
        "name": "seg",
        "seed": 3,
        "task": "segmentation",
        "data": {"dataset": "synthetic", "batch_size": 8, **data},
        "model": SEGMENTER,
        "optimizer": {"name": "adam", "learning_rate": 0.01},
        "loss": "sparse_categorical_crossentropy",
        "metrics": ["mean_iou", "pixel_accuracy"],
        "epochs": 1,
    }


def keypoint_config(joints=24, **data):
    return {
        "name": "kp",
        "seed": 3,
        "task": "keypoints",
        "data": {"dataset": "synthetic", "batch_size": 8, **data},
        "model": keypointer(joints),
        "optimizer": {"name": "adam", "learning_rate": 0.003},
        "loss": "visible_mse",
        "metrics": ["keypoint_error_px", "pck"],
        "epochs": 1,
    }


def train(path, tmp_path, *args):
    res = RUNNER.invoke(app, ["train", str(path), "--runs-dir", str(tmp_path / "runs"), *args])
    assert res.exit_code == 0, res.output
    run = tmp_path / "runs" / res.output.strip().splitlines()[-1].rsplit("/", 1)[-1]
    return run, res.output


def make_pet_folder(root, n=20, size=(48, 36), seed=0):
    """Oxford-IIIT Pet's layout: photos with a bright ellipse (the pet) and trimaps 1/2/3."""
    rng = np.random.default_rng(seed)
    (root / "images").mkdir(parents=True)
    (root / "annotations" / "trimaps").mkdir(parents=True)
    w, h = size
    yy, xx = np.mgrid[0:h, 0:w]
    for i in range(n):
        cx, cy = rng.uniform(0.3, 0.7) * w, rng.uniform(0.3, 0.7) * h
        d = np.hypot((xx - cx) / (0.25 * w), (yy - cy) / (0.25 * h))
        img = rng.normal(50, 15, (h, w, 3))
        img[d <= 1] = (230, 180, 90)
        Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(
            root / "images" / f"Bengal_{i}.jpg", quality=90
        )
        trimap = np.where(d <= 0.9, 1, np.where(d <= 1.1, 3, 2)).astype(np.uint8)
        Image.fromarray(trimap).save(root / "annotations" / "trimaps" / f"Bengal_{i}.png")
    return root


# ---------------------------------------------------------------------------------------
# Real-layout folders, one epoch


def test_oxford_pets_folder_trains_one_epoch(tmp_path):
    pets = make_pet_folder(tmp_path / "pets")
    cfg = segmentation_config(
        dataset="oxford_pets", path=str(pets), augment=[{"Fliplr": 0.5}], validation_split=0.2
    )
    run, output = train(write(tmp_path, cfg), tmp_path)
    # 20 photos: the last 2 (test_split 0.1) test, then 20% of 18 validation.
    assert "15 training / 3 validation / 2 test examples" in output.replace("\n", " ")
    header = (run / "metrics.csv").read_text().splitlines()[0].split(",")
    assert {"mean_iou", "pixel_accuracy", "val_mean_iou", "val_pixel_accuracy"} <= set(header)
    results = json.loads((run / "results.json").read_text())
    assert set(results["test"]) == {"loss", "mean_iou", "pixel_accuracy"}
    assert json.loads((run / "class_names.json").read_text()) == ["pet", "background", "border"]
    pngs = sorted((run / "predictions").glob("*.png"))
    assert [p.name for p in pngs] == [f"val-{i:03d}.png" for i in range(3)]
    # evaluate and predict are cnnrun commands, and read the same folder data
    res = RUNNER.invoke(app, ["evaluate", str(run)])
    assert res.exit_code == 0, res.output
    line = next(x for x in res.output.splitlines() if x.startswith("test mean_iou"))
    assert float(line.split()[2]) == pytest.approx(results["test"]["mean_iou"], abs=1e-4)
    res = RUNNER.invoke(
        app, ["predict", str(run), str(pets / "images" / "Bengal_0.jpg"), "--out", str(tmp_path)]
    )
    assert res.exit_code == 0 and (tmp_path / "Bengal_0.png").is_file(), res.output


def test_stanford_extra_folder_trains_one_epoch(tmp_path):
    dogs = make_dogs(tmp_path / "dogs", n=12, json_name="StanfordExtra_sample.json")
    (dogs / "other.json").write_text("[]")  # two JSON files: the name must be given
    cfg = keypoint_config(
        dataset="stanford_extra", path=str(dogs), json_name="StanfordExtra_sample.json",
        validation_split=0.2, augment=[{"Fliplr": 0.5}, {"Affine": {"rotate": [-10, 10]}}],
    )  # fmt: skip
    run, output = train(write(tmp_path, cfg), tmp_path)
    assert "9 training / 2 validation / 1 test examples" in output.replace("\n", " ")
    header = (run / "metrics.csv").read_text().splitlines()[0].split(",")
    assert {"keypoint_error_px", "pck", "val_keypoint_error_px", "val_pck"} <= set(header)
    results = json.loads((run / "results.json").read_text())
    assert set(results["test"]) == {"loss", "keypoint_error_px", "pck"}
    assert 0 <= results["test"]["pck"] <= 1 and results["test"]["keypoint_error_px"] > 0
    assert len(list((run / "predictions").glob("val-*.png"))) == 2
    assert not (run / "class_names.json").exists()  # joints are not classes


def test_a_corrupt_photo_is_named_before_training_or_skipped_and_counted(tmp_path):
    pets = make_pet_folder(tmp_path / "pets", n=12)
    (pets / "images" / "Bengal_3.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    cfg = segmentation_config(dataset="oxford_pets", path=str(pets))
    path = write(tmp_path, cfg)
    res = RUNNER.invoke(app, ["train", str(path), "--runs-dir", str(tmp_path / "runs")])
    assert res.exit_code == 1
    assert "Bengal_3.jpg" in res.output and "skip" in res.output
    assert not (tmp_path / "runs").exists()  # nothing created
    cfg["data"]["skip_bad_images"] = True
    run, output = train(write(tmp_path, cfg), tmp_path)
    assert "skipped 1 unreadable file(s)" in output
    assert "9 training / 1 validation / 1 test" in output.replace("\n", " ")  # 11 read
    assert json.loads((run / "results.json").read_text())["epochs_completed"] == 1


# ---------------------------------------------------------------------------------------
# Data: splits and synthetic stand-ins


def test_splits_of_each_task(tmp_path):
    from cnnrun.config.schema import DataConfig
    from cnnrun.data.prepare import load_splits

    pets = make_pet_folder(tmp_path / "pets", n=10, size=(20, 30))
    cfg = DataConfig(dataset="oxford_pets", path=str(pets), test_split=0.2, validation="none")
    s = load_splits(cfg, (16, 24, 3), 3, task="segmentation")
    assert s.x_train.shape == (8, 16, 24, 3) and s.y_train.shape == (8, 16, 24)
    assert s.x_test.shape == (2, 16, 24, 3) and s.y_train.dtype == np.uint8
    assert set(np.unique(s.y_test)) <= {0, 1, 2}
    with pytest.raises(DataError, match="labels up to 2, but the model predicts 2 classes"):
        load_splits(cfg, (16, 24, 3), 2, task="segmentation")
    grey = load_splits(cfg, (16, 24, 1), 3, task="segmentation")
    assert grey.x_train.shape == (8, 16, 24, 1)

    kp = DataConfig(dataset="synthetic", limit=12, test_limit=4, validation_split=0.25)
    s = load_splits(kp, (20, 20, 3), 48, task="keypoints")
    assert s.y_train.shape == (9, 72) and s.y_train.dtype == np.float32
    assert s.y_val.shape == (3, 72) and s.y_test.shape == (4, 72)
    assert s.x_train.dtype == np.uint8 and s.class_names[0] == "joint 0"
    with pytest.raises(DataError, match="even number"):
        load_splits(kp, (20, 20, 3), 5, task="keypoints")

    seg = DataConfig(dataset="synthetic", limit=6, test_limit=2, validation="none")
    s = load_splits(seg, (24, 24, 3), 3, task="segmentation")
    assert s.y_train.shape == (6, 24, 24) and s.x_test.shape == (2, 24, 24, 3)
    assert set(np.unique(s.y_train)) == {0, 1, 2}

    dogs = make_dogs(tmp_path / "dogs", n=10)
    cfg = DataConfig(dataset="stanford_extra", path=str(dogs), validation="none")
    s = load_splits(cfg, (32, 32, 3), 48, task="keypoints")
    assert len(s.x_train) == 9 and len(s.x_test) == 1  # test_split 0.1 by default
    assert s.class_names[0] == "Left front leg: paw"
    with pytest.raises(DataError, match="24 keypoints, but the model outputs 8 values"):
        load_splits(cfg, (32, 32, 3), 8, task="keypoints")


def test_a_smoke_run_reads_only_a_few_files(tmp_path):
    from cnnrun.config.schema import DataConfig
    from cnnrun.data.prepare import load_splits

    pets = make_pet_folder(tmp_path / "pets", n=30, size=(16, 16))
    cfg = DataConfig(dataset="oxford_pets", path=str(pets), batch_size=2, validation_split=0.5)
    s = load_splits(cfg, (16, 16, 3), 3, smoke=True, task="segmentation")
    # 3 training batches (of 2) before validation is split off, 2 test batches: 17 files
    # read (the test set is their last 10%), not 30.
    assert len(s.x_train) + len(s.x_val) + len(s.x_test) <= 17
    assert len(s.x_test) >= 1 and len(s.x_val) <= 4


# ---------------------------------------------------------------------------------------
# Validation (no TensorFlow) and model shapes


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"task": "keypoints", "metrics": ["mean_iou"]},
         "metrics[0]: the metric 'mean_iou' is for task: segmentation"),
        ({"loss": "visible_mse"}, "the loss 'visible_mse' is for task: keypoints"),
        ({"data": {"dataset": "mnist"}}, "data set 'mnist' has no segmentation labels"),
        ({"metrics": ["pck"], "task": "classification"}, "'pck' is for task: keypoints"),
        ({"metrics": ["mean_iuo"]}, "unknown metric 'mean_iuo'. Did you mean 'mean_iou'?"),
        ({"task": "detection"}, "task: invalid value"),
        ({"data": {"augment": [{"Flipr": 0.5}]}},
         "data.augment[0]: unknown imgaug augmenter 'Flipr'. Did you mean 'Fliplr'?"),
        ({"data": {"augment": [{"Fliplr": {"q": 1}}]}}, "Fliplr has no argument 'q'"),
    ],
)  # fmt: skip
def test_task_names_are_checked(tmp_path, change, message):
    cfg = segmentation_config()
    cfg["metrics"] = ["pixel_accuracy"]
    for key, value in change.items():
        if isinstance(value, dict):
            cfg[key] = {**cfg[key], **value}
        else:
            cfg[key] = value
    if cfg["task"] == "classification":
        cfg["data"]["dataset"] = "synthetic"
    from cnnrun.checks.names import check_augment

    with pytest.raises(ConfigError) as err:
        check_augment(load_experiment(write(tmp_path, cfg)))  # augmenters: where models build
    assert message in err.value.render()


def test_task_metric_names_are_listed():
    from cnnrun import catalog
    from cnnrun.cli.listing import rows
    from cnnrun.model import losses as task_metrics

    assert set(catalog.TASK_METRICS) == {*task_metrics.SEGMENTATION_METRICS,
                                         *task_metrics.KEYPOINT_METRICS}  # fmt: skip
    assert "visible_mse" in dict(rows("losses")) and "pck" in dict(rows("metrics"))
    res = RUNNER.invoke(app, ["list", "datasets"])
    assert "oxford_pets" in res.output and "stanford_extra" in res.output


def test_output_shape_must_fit_the_task(tmp_path):
    from cnnrun.model.build import build_model

    cfg = segmentation_config()
    cfg["model"] = {"input_shape": [16, 16, 3], "layers": [
        {"Conv2D": {"filters": 3, "kernel_size": 3, "activation": "softmax"}}]}  # fmt: skip
    loaded = load_experiment(write(tmp_path, cfg))
    with pytest.raises(ConfigError) as err:
        build_model(loaded.experiment, loaded)
    text = err.value.render()
    assert "(None, 14, 14, 3), but task: segmentation needs (batch, 16, 16, classes)" in text
    assert "model.layers[0]" in text and "padding: same" in text

    cfg = keypoint_config()
    cfg["model"]["layers"][-1] = {"Dense": {"units": 47}}
    loaded = load_experiment(write(tmp_path, cfg))
    with pytest.raises(ConfigError, match="task: keypoints needs \\(batch, 2 \\* joints\\)"):
        build_model(loaded.experiment, loaded)

    cfg = segmentation_config()
    cfg["model"] = {"builder": "unet_xception", "input_shape": [32, 32, 3],
                    "args": {"num_classes": 3, "width": 0.125}}  # fmt: skip
    loaded = load_experiment(write(tmp_path, cfg))
    model = build_model(loaded.experiment, loaded)
    assert tuple(model.output.shape) == (None, 32, 32, 3)


def test_a_keras_loss_on_keypoints_uses_x_and_y(tmp_path):
    import keras

    from cnnrun.model.build import build_model, compile_model

    cfg = keypoint_config(joints=2)
    cfg["loss"] = "mse"
    loaded = load_experiment(write(tmp_path, cfg))
    model = build_model(loaded.experiment, loaded)
    compile_model(model, loaded.experiment, loaded)
    y_true = np.array([[0.5, 0.5, 1, 0, 0, 0]], np.float32)  # joint 1 invisible, at (0, 0)
    y_pred = np.array([[0.7, 0.5, 0.1, 0.1]], np.float32)
    loss = float(model.loss(y_true, y_pred))
    assert loss == pytest.approx((0.2**2 + 0.1**2 + 0.1**2) / 4)  # all joints, as the chapter
    assert isinstance(model.loss, keras.losses.Loss)


# ---------------------------------------------------------------------------------------
# Augmentation in the training stream


def _stream_batches(exp, splits, first_epoch):
    from cnnrun.train.augment_stream import make_augment
    from cnnrun.train.pipeline import training_stream

    augment = make_augment(exp, splits.class_names)
    ds, steps = training_stream(
        splits.x_train, splits.y_train, 4, first_epoch=first_epoch, epochs=2, seed=exp.seed,
        augment=augment,
    )  # fmt: skip
    return [(x.numpy(), y.numpy()) for x, y in ds], steps


def test_augmentation_is_deterministic_per_epoch_and_batch(tmp_path):
    from cnnrun.data.prepare import load_splits

    cfg = segmentation_config(
        limit=8,
        test_limit=2,
        validation="none",
        augment=[{"Fliplr": 0.5}, {"Affine": {"rotate": [-20, 20]}}],
    )
    exp = load_experiment(write(tmp_path, cfg)).experiment
    splits = load_splits(exp.data, (32, 32, 3), 3, task="segmentation")
    full, steps = _stream_batches(exp, splits, 0)
    again, _ = _stream_batches(exp, splits, 0)
    resumed, _ = _stream_batches(exp, splits, 1)  # a run resumed after epoch 1
    assert len(full) == 2 * steps
    for (x1, y1), (x2, y2) in zip(full, again, strict=True):
        np.testing.assert_array_equal(x1, x2)
        np.testing.assert_array_equal(y1, y2)
    for (x1, y1), (x2, y2) in zip(full[steps:], resumed, strict=True):
        np.testing.assert_array_equal(x1, x2)
        np.testing.assert_array_equal(y1, y2)
    # augmented: images differ from the originals, and masks moved with them
    x0 = splits.x_train / 255.0
    assert not any(np.allclose(full[0][0][0], img) for img in x0)
    assert full[0][1].dtype == np.int32 and set(np.unique(full[0][1])) <= {0, 1, 2}
    # no augmentation: the stream is the plain shuffled data
    exp.data.augment = []
    plain, _ = _stream_batches(exp, splits, 0)
    assert any(np.allclose(plain[0][0][0], img) for img in x0)


def test_keypoints_flip_with_their_image_in_the_stream(tmp_path):
    from cnnrun.config.schema import DataConfig
    from cnnrun.data.prepare import load_splits

    dogs = make_dogs(tmp_path / "dogs", n=4)
    cfg = keypoint_config(dataset="stanford_extra", path=str(dogs), augment=[{"Fliplr": 1.0}])
    exp = load_experiment(write(tmp_path, cfg)).experiment
    data = DataConfig(dataset="stanford_extra", path=str(dogs), validation="none", test_split=0)
    splits = load_splits(data, (32, 32, 3), 48, task="keypoints")
    batches, _ = _stream_batches(exp, splits, 0)
    kp = batches[0][1].reshape(-1, 24, 3)[0]
    # make_dogs: joint 0 (left front paw) at x 0.25, joint 6 (right front paw) at x 0.75;
    # mirrored, the left paw is now at 1 - 0.75 and the right one at 1 - 0.25.
    # (Their heights, 0.2 and 0.8, tell them apart.)
    assert kp[0] == pytest.approx([0.25, 0.8, 1], abs=0.02)
    assert kp[6] == pytest.approx([0.75, 0.2, 1], abs=0.02)
    assert kp[16, 0] == pytest.approx(0.0, abs=0.02)  # clipped to x = 1, mirrored to 0


# ---------------------------------------------------------------------------------------
# Learning


def _train_api(tmp_path, cfg):
    from cnnrun.train.trainer import TrainOptions
    from cnnrun.train.trainer import train as run_training

    console = Console(file=open(tmp_path / "console.txt", "w"))
    loaded = load_experiment(write(tmp_path, cfg))
    return run_training(loaded, TrainOptions(runs_dir=tmp_path / "runs"), console)


def test_a_small_unet_segments_synthetic_shapes(tmp_path):
    cfg = segmentation_config(limit=256, test_limit=64, batch_size=16, validation="none")
    cfg["epochs"] = 5
    result = _train_api(tmp_path, cfg)
    from cnnrun.data.folders import synthetic_segmentation

    _, masks = synthetic_segmentation((32, 32, 3), 3, 256 + 64)
    background = (masks[256:] == 1).mean()
    baseline = background / 3  # all background: IoU of that class, 0 for pet and border
    test = result.results["test"]
    assert test["mean_iou"] > baseline + 0.3, (test, baseline)
    assert test["pixel_accuracy"] > background + 0.1


def test_a_small_keypoint_model_beats_the_mean_keypoint(tmp_path):
    cfg = keypoint_config(joints=4, limit=512, test_limit=64, batch_size=16, validation="none")
    cfg["epochs"] = 6
    result = _train_api(tmp_path, cfg)
    from cnnrun.data.folders import synthetic_keypoints

    _, kp = synthetic_keypoints((32, 32, 3), 512 + 64, 4)
    train, test = kp[:512], kp[512:]
    mean = np.stack([train[train[:, j, 2] > 0, j, :2].mean(0) for j in range(4)])
    visible = test[..., 2] > 0
    mean_error = (np.linalg.norm((test[..., :2] - mean) * 32, axis=-1))[visible].mean()
    got = result.results["test"]
    assert got["keypoint_error_px"] < 0.5 * mean_error, (got, mean_error)
    assert got["pck"] > 0.3


def test_main_metric_of_each_task():
    from cnnrun.runs.record import is_lower_better, main_metric

    assert main_metric(["epoch", "lr", "loss", "mean_iou", "pixel_accuracy"]) == "mean_iou"
    assert main_metric(["loss", "keypoint_error_px", "pck"]) == "keypoint_error_px"
    assert is_lower_better("keypoint_error_px") and is_lower_better("test_keypoint_error_px")
    assert not is_lower_better("mean_iou") and not is_lower_better("val_pck")
