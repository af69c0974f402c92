import csv
import json

import pytest
from rich.console import Console

from cnnrun import runfiles
from cnnrun.checks import load_experiment
from cnnrun.config.yaml_io import load_yaml_file
from cnnrun.train import callbacks as cb
from cnnrun.train.trainer import TrainOptions, train


def _train(path, tmp_path, overrides=(), smoke=False):
    loaded = load_experiment(path, list(overrides))
    console = Console(file=open(tmp_path / "console.txt", "w"), width=120)
    return train(loaded, TrainOptions(runs_dir=tmp_path / "runs", smoke=smoke), console)


def _rows(run_dir):
    with open(run_dir / runfiles.METRICS) as f:
        return list(csv.DictReader(f))


def test_a_run_folder_holds_every_artifact(tiny_config, tmp_path):
    result = _train(tiny_config, tmp_path)
    run = result.run_dir
    assert run.parent == tmp_path / "runs" and run.name.endswith("-tiny")
    for name in (
        runfiles.CONFIG,
        runfiles.RUN,
        runfiles.SUMMARY,
        runfiles.METRICS,
        runfiles.RESULTS,
        runfiles.CURVES,
        runfiles.BEST_MODEL,
        runfiles.LAST_MODEL,
        runfiles.CONFUSION,
    ):
        assert (run / name).is_file(), name
    assert (run / runfiles.TENSORBOARD).is_dir()  # on by default
    results = json.loads((run / runfiles.RESULTS).read_text())
    assert set(results) == {
        "test", "best", "params", "epochs_completed", "wall_time_s", "train_samples_per_s",
        "train_flops_per_s", "per_class",
    }  # fmt: skip
    assert results["train_flops_per_s"] == pytest.approx(
        3 * 8603 * results["train_samples_per_s"], rel=1e-3
    )
    assert set(results["test"]) == {"loss", "accuracy", "macro_f1"}
    assert results["epochs_completed"] == 2
    assert results["best"]["monitor"] == "val_loss" and results["best"]["epoch"] in (1, 2)
    assert results["params"]["total"] == 4 * 9 + 4 + 100 * 3 + 3
    assert results["train_samples_per_s"] > 0
    record = json.loads((run / runfiles.RUN).read_text())
    assert record["status"] == "completed" and record["ended_at"] and record["seed"] == 7
    assert set(record["versions"]) >= {"cnnrun", "keras", "tensorflow", "python"}


def test_metrics_csv_has_one_row_per_epoch_with_lr(tiny_config, tmp_path):
    result = _train(
        tiny_config,
        tmp_path,
        ["epochs=3", "schedule={name: exponential_per_epoch, decay_rate: 0.5}"],
    )
    rows = _rows(result.run_dir)
    assert list(rows[0]) == [
        "epoch",
        "lr",
        "loss",
        "accuracy",
        "val_loss",
        "val_accuracy",
        "seconds",
    ]
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3]
    assert [float(r["lr"]) for r in rows] == pytest.approx([1e-2, 5e-3, 2.5e-3])


def test_step_and_cosine_schedules_follow_their_formula(tiny_config, tmp_path):
    rows = _rows(
        _train(
            tiny_config, tmp_path, ["epochs=4", "schedule={name: step, factor: 0.1, every: 2}"]
        ).run_dir
    )
    assert [float(r["lr"]) for r in rows] == pytest.approx([1e-2, 1e-2, 1e-3, 1e-3])
    rows = _rows(
        _train(
            tiny_config, tmp_path, ["epochs=3", "schedule={name: cosine, min_learning_rate: 0.0}"]
        ).run_dir
    )
    assert [float(r["lr"]) for r in rows] == pytest.approx([1e-2, 7.5e-3, 2.5e-3])


def test_resolved_config_reproduces_the_run(tiny_config, tmp_path):
    first = _train(tiny_config, tmp_path)
    again = _train(first.run_dir / runfiles.CONFIG, tmp_path)
    a, b = _rows(first.run_dir), _rows(again.run_dir)
    assert [r["loss"] for r in a] == [r["loss"] for r in b]
    cfg, _ = load_yaml_file(first.run_dir / runfiles.CONFIG)
    assert cfg["data"]["dataset"] == "synthetic" and cfg["data"]["batch_size"] == 16


def test_synthetic_data_is_learnt(tiny_config, tmp_path):
    result = _train(tiny_config, tmp_path, ["epochs=6", "data.limit=300"])
    assert result.results["test"]["accuracy"] > 0.8  # 3 classes: chance is 0.33


def test_categorical_crossentropy_gets_one_hot_labels(tiny_config, tmp_path):
    result = _train(tiny_config, tmp_path, ["loss=categorical_crossentropy", "epochs=1"])
    assert result.results["test"]["loss"] > 0


def test_no_validation_monitors_training_loss(tiny_config, tmp_path):
    result = _train(tiny_config, tmp_path, ["data.validation=none", "epochs=1"])
    assert result.results["best"]["monitor"] == "loss"
    assert list(_rows(result.run_dir)[0]) == ["epoch", "lr", "loss", "accuracy", "seconds"]


def test_smoke_caps_epochs_and_batches(tiny_config, tmp_path):
    result = _train(tiny_config, tmp_path, ["epochs=10"], smoke=True)
    assert result.results["epochs_completed"] == 2
    assert json.loads((result.run_dir / runfiles.RUN).read_text())["smoke"] is True


def test_early_stopping_and_tensorboard_callbacks(tiny_config, tmp_path):
    result = _train(
        tiny_config,
        tmp_path,
        [
            "epochs=30",
            "callbacks=[{early_stopping: {monitor: val_loss, patience: 0, min_delta: 10}}, "
            "tensorboard]",
        ],
    )
    assert result.results["epochs_completed"] == 2
    assert (result.run_dir / runfiles.TENSORBOARD).is_dir()


def test_interrupt_is_recorded_and_keeps_completed_epochs(tiny_config, tmp_path, monkeypatch):
    def interrupt(self, epoch, logs=None):
        if epoch == 1:
            raise KeyboardInterrupt

    monkeypatch.setattr(cb.RichProgress, "on_epoch_end", interrupt)
    with pytest.raises(KeyboardInterrupt):
        _train(tiny_config, tmp_path, ["epochs=4"])
    (run,) = (tmp_path / "runs").iterdir()
    record = json.loads((run / runfiles.RUN).read_text())
    assert record["status"] == "interrupted" and record["epochs_completed"] == 2
    assert len(_rows(run)) == 2 and (run / runfiles.CURVES).exists()


def test_a_crash_is_recorded_as_failed(tiny_config, tmp_path, monkeypatch):
    def boom(self, epoch, logs=None):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(cb.Checkpointer, "on_epoch_end", boom)
    with pytest.raises(RuntimeError):
        _train(tiny_config, tmp_path)
    (run,) = (tmp_path / "runs").iterdir()
    record = json.loads((run / runfiles.RUN).read_text())
    assert record["status"] == "failed" and record["reason"] == "RuntimeError: disk on fire"


def test_checkpoint_mode_follows_the_metric():
    assert cb.infer_mode("val_loss") == "min"
    assert cb.infer_mode("val_accuracy") == "max"
    assert cb.infer_mode("mae") == "min"
