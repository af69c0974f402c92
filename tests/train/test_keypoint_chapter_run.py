"""§7.3's data settings end to end: a (1, 1, 48) model, whole batches, the example's keypoints.

A small StanfordExtra folder, trained with the chapter file's data keys (drop_remainder,
keypoints: no swap, kept outside, invisible moved) and augmentation, then evaluated and
used for predictions: every reader of a keypoint model takes its (1, 1, 48) output.
"""

import json

import pytest
import yaml
from folder_factory import make_dogs
from PIL import Image
from rich.console import Console

from cnnrun import runfiles
from cnnrun.checks import load_experiment
from cnnrun.train.trainer import TrainOptions, train


def _config(dogs):
    return {
        "name": "dogs",
        "seed": 4,
        "task": "keypoints",
        "data": {
            "dataset": "stanford_extra",
            "path": str(dogs),
            "test_split": 0.25,  # 16 dogs: 4 test, 4 validation, 8 training (2 batches)
            "validation_split": 0.34,
            "batch_size": 4,
            "drop_remainder": True,
            "keypoints": {"swap_flipped": False, "out_of_image": "keep", "invisible": "transform"},
            "augment": [
                {"Fliplr": 0.5},
                {
                    "Sometimes": {
                        "p": 0.5,
                        "then": [{"Affine": {"rotate": 10, "scale": [0.5, 0.7]}}],
                    }
                },
            ],
        },  # fmt: skip
        "model": {
            "input_shape": [32, 32, 3],
            "layers": [
                {"Conv2D": {"filters": 8, "kernel_size": 3, "activation": "relu"}},
                "MaxPooling2D",  # (15, 15, 8)
                {"Conv2D": {"filters": 48, "kernel_size": 15, "activation": "sigmoid"}},
            ],
        },
        "optimizer": {"name": "adam", "learning_rate": 1.0e-3},
        "loss": "mse",
        "metrics": ["pck"],
        "epochs": 1,  # the best model is the last: evaluate gives the run's test figures
    }


@pytest.mark.filterwarnings("ignore:Skipping variable loading for optimizer")
def test_a_one_by_one_keypoint_model_trains_evaluates_and_predicts(tmp_path):
    from cnnrun.predict.evaluate import evaluate_run
    from cnnrun.predict.images import predict_files

    dogs = make_dogs(tmp_path / "dogs", n=16)
    path = tmp_path / "dogs.yaml"
    path.write_text(yaml.safe_dump(_config(dogs), sort_keys=False))
    console = Console(file=open(tmp_path / "console.txt", "w"), width=120)
    result = train(load_experiment(path), TrainOptions(runs_dir=tmp_path / "runs"), console)
    run = result.run_dir
    results = json.loads((run / runfiles.RESULTS).read_text())
    assert results["epochs_completed"] == 1 and set(results["test"]) == {"loss", "pck"}
    pictures = sorted((run / runfiles.PREDICTIONS).glob("*.png"))
    assert [p.name for p in pictures] == [f"val-{i:03d}.png" for i in range(4)]
    assert "prediction pictures not written" not in (tmp_path / "console.txt").read_text()

    test = evaluate_run(run)  # reads the folder again, as the run split it
    assert test["loss"] == pytest.approx(results["test"]["loss"], rel=1e-4)
    assert set(evaluate_run(run, "val")) == {"loss", "pck"}
    (out,) = predict_files(run, [dogs / "Images" / "n02085620-Chihuahua/n02085620_0.jpg"],
                           tmp_path / "out")  # fmt: skip
    with Image.open(out) as im:
        assert im.format == "PNG" and im.size[0] > 500  # the joints' legend beside the photo
