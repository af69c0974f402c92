"""Faults during training: kills, Ctrl-C, SIGTERM, torn checkpoints, NaN, a full disk."""

import csv
import errno
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO
from rich.console import Console

from cnnrun import runfiles
from cnnrun.checks import load_experiment
from cnnrun.errors import DataError
from cnnrun.train import resume
from cnnrun.train.trainer import TrainOptions, train

SLOW_ENOUGH = """\
name: kt
seed: 5
data: {dataset: synthetic, limit: 12000, test_limit: 64, validation_split: 0.2, batch_size: 32}
model:
  input_shape: [28, 28, 1]
  layers:
    - Conv2D: {filters: 16, kernel_size: 3, activation: relu}
    - MaxPooling2D: [2, 2]
    - Dropout: 0.3
    - Flatten
    - Dense: {units: 5, activation: softmax}
optimizer: {name: adam, learning_rate: 1.0e-3}
schedule: {name: exponential_per_epoch, decay_rate: 0.8}
callbacks:
  - early_stopping: {patience: 3}
  - reduce_lr_on_plateau: {patience: 1, factor: 0.5, min_delta: 0.5}
epochs: 5
"""


def _cli(*args, **popen):
    env = dict(os.environ, PYTHONPATH=str(REPO))
    cmd = [sys.executable, "-m", "cnnrun", "train", *map(str, args)]
    if popen:
        return subprocess.Popen(cmd, env=env, text=True, **popen)
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)


def _rows(run):
    with open(run / runfiles.METRICS) as f:
        return list(csv.DictReader(f))


def _status(run):
    return json.loads((run / runfiles.RUN).read_text())


def _wait_for_rows(runs: Path, n: int, proc, timeout=300.0) -> Path:
    end = time.time() + timeout
    while time.time() < end:
        assert proc.poll() is None, "training ended before it could be stopped"
        for run in runs.glob("*"):
            metrics = run / runfiles.METRICS
            if metrics.exists() and len(metrics.read_text().splitlines()) > n:
                return run
        time.sleep(0.02)
    raise AssertionError("training did not reach the epoch")


def _weights(path):
    import keras

    return keras.saving.load_model(path).get_weights()


@pytest.fixture
def kt(tmp_path):
    path = tmp_path / "kt.yaml"
    path.write_text(SLOW_ENOUGH)
    return path


def test_sigkill_in_epoch_3_then_resume_equals_an_uninterrupted_run(kt, tmp_path):
    whole = _cli(kt, "--runs-dir", tmp_path / "a")
    assert whole.returncode == 0, whole.stderr
    run_a = Path(whole.stdout.strip().splitlines()[-1])

    proc = _cli(kt, "--runs-dir", tmp_path / "b", stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL)  # fmt: skip
    run_b = _wait_for_rows(tmp_path / "b", 2, proc)  # epoch 2 written: epoch 3 running
    while not [e for e in json.loads((run_b / resume.STATE).read_text())["epochs"]
               if e["epoch"] == 2]:  # fmt: skip
        time.sleep(0.01)  # epoch 2's checkpoint is saved just after its metrics row
    time.sleep(random.uniform(0.05, 0.5))  # somewhere in epoch 3 (about 2 s or more)
    proc.kill()
    proc.wait()
    assert _status(run_b)["status"] == "running"  # what a SIGKILL leaves; compare shows stale

    again = _cli("--resume", run_b)
    assert again.returncode == 0, again.stderr
    a, b = _rows(run_a), _rows(run_b)
    assert [r["epoch"] for r in b] == ["1", "2", "3", "4", "5"]
    assert (run_b / runfiles.METRICS).read_text().count("epoch,lr") == 1
    assert [r["lr"] for r in b] == [r["lr"] for r in a]
    assert [r["loss"] for r in b] == [r["loss"] for r in a]
    last_a, last_b = _weights(run_a / runfiles.LAST_MODEL), _weights(run_b / runfiles.LAST_MODEL)
    for wa, wb in zip(last_a, last_b, strict=True):
        np.testing.assert_allclose(wa, wb, rtol=0, atol=1e-6)
    record = _status(run_b)
    assert record["status"] == "completed" and record["resumes"][0]["from_epoch"] == 2


@pytest.mark.parametrize(
    ("sig", "code", "status"),
    [  # Ctrl-C's exit code and resume hint: tests/cli/test_train_messages.py (fast suite)
        pytest.param(signal.SIGINT, 130, "interrupted", marks=pytest.mark.slow),
        (signal.SIGTERM, 143, "killed"),
    ],
)
def test_ctrl_c_and_sigterm_are_recorded_and_resumable(kt, tmp_path, sig, code, status):
    proc = _cli(kt, "--runs-dir", tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    run = _wait_for_rows(tmp_path, 1, proc)
    proc.send_signal(sig)
    time.sleep(0.05)
    proc.send_signal(sig)  # a second one does no harm
    _, err = proc.communicate(timeout=300)  # a loaded machine needs minutes
    assert proc.returncode == code, err[-2000:]
    record = _status(run)
    assert record["status"] == status and "resume" in record["reason"], (record, err[-2000:])
    done = len(_rows(run))
    assert done >= 1 and (run / runfiles.CURVES).exists(), err[-2000:]
    again = _cli(run)  # a run folder in place of CONFIG resumes it
    assert again.returncode == 0, again.stderr
    assert [int(r["epoch"]) for r in _rows(run)] == [1, 2, 3, 4, 5]


def _train(path, tmp_path, overrides=(), resume_dir=None):
    loaded = load_experiment(path, list(overrides))
    console = Console(file=open(tmp_path / "console.txt", "a"), width=120)
    options = TrainOptions(runs_dir=tmp_path / "runs", resume_dir=resume_dir)
    return train(loaded, options, console)


def test_state_keeps_two_checkpoints_and_last_points_at_the_newest(tiny_config, tmp_path):
    run = _train(tiny_config, tmp_path, ["epochs=4"]).run_dir
    names = sorted(p.name for p in (run / runfiles.CHECKPOINTS).glob("epoch-*.keras"))
    assert names == ["epoch-0003.keras", "epoch-0004.keras"]
    assert os.path.samefile(run / runfiles.LAST_MODEL, run / resume.epoch_checkpoint(4))
    assert [s.epoch for s in resume.candidates(run)] == [4, 3]
    assert not list(run.rglob(".tmp-*"))


def test_a_damaged_newest_checkpoint_falls_back_to_the_one_before(tiny_config, tmp_path):
    run = _train(tiny_config, tmp_path, ["epochs=3"]).run_dir
    state = json.loads((run / resume.STATE).read_text())
    record = _status(run)
    record["status"] = "interrupted"
    (run / runfiles.RUN).write_text(json.dumps(record))
    (run / resume.epoch_checkpoint(3)).write_bytes(b"torn")
    loaded = load_experiment(run / runfiles.CONFIG, ["epochs=4"])
    _train(run / runfiles.CONFIG, tmp_path, ["epochs=4"], resume_dir=run)
    assert "cannot be loaded" in (tmp_path / "console.txt").read_text()
    assert [int(r["epoch"]) for r in _rows(run)] == [1, 2, 3, 4]
    assert state["epochs"][-1]["epoch"] == 3 and loaded.experiment.epochs == 4


def test_no_loadable_checkpoint_is_a_clear_error(tiny_config, tmp_path):
    run = _train(tiny_config, tmp_path, ["epochs=2"]).run_dir
    for ckpt in (run / runfiles.CHECKPOINTS).glob("epoch-*.keras"):
        ckpt.write_bytes(b"")
    with pytest.raises(DataError, match="no checkpoint can be loaded"):
        _train(run / runfiles.CONFIG, tmp_path, ["epochs=3"], resume_dir=run)


def test_a_checkpoint_write_cut_short_leaves_the_previous_one_loadable(
    tiny_config, tmp_path, monkeypatch
):
    import keras

    real_save = keras.Model.save
    calls = {"n": 0}

    def torn_save(self, filepath, *args, **kwargs):
        calls["n"] += 1
        if "epoch-0002" in str(filepath):
            Path(filepath).write_bytes(b"PK\x03\x04 half a zip")
            raise KeyboardInterrupt  # the process is stopped mid-write
        return real_save(self, filepath, *args, **kwargs)

    monkeypatch.setattr(keras.Model, "save", torn_save)
    with pytest.raises(KeyboardInterrupt):
        _train(tiny_config, tmp_path, ["epochs=3"])
    (run,) = (tmp_path / "runs").iterdir()
    assert [s.epoch for s in resume.candidates(run)] == [1]
    assert not (run / resume.epoch_checkpoint(2)).exists() and not list(run.rglob(".tmp-*"))
    monkeypatch.setattr(keras.Model, "save", real_save)
    assert len(_weights(run / runfiles.LAST_MODEL)) == 4


def test_a_full_disk_fails_the_run_and_keeps_what_was_written(tiny_config, tmp_path, monkeypatch):
    import keras

    real_save = keras.Model.save

    def full(self, filepath, *args, **kwargs):
        if "epoch-0002" in str(filepath):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_save(self, filepath, *args, **kwargs)

    monkeypatch.setattr(keras.Model, "save", full)
    with pytest.raises(OSError):
        _train(tiny_config, tmp_path, ["epochs=3"])
    (run,) = (tmp_path / "runs").iterdir()
    record = _status(run)
    assert record["status"] == "failed" and "No space left on device" in record["reason"]
    assert [s.epoch for s in resume.candidates(run)] == [1]
    assert [int(r["epoch"]) for r in _rows(run)] == [1, 2]
    monkeypatch.setattr(keras.Model, "save", real_save)
    assert len(_weights(run / resume.epoch_checkpoint(1))) == 4
    failed_trace = (run / runfiles.ERROR_LOG).read_text()
    assert "No space left on device" in failed_trace

    # The disk has room again: the resumed run completes, and its folder holds no
    # current-looking traceback; the failed attempt's is kept under the resume's number.
    _train(run / runfiles.CONFIG, tmp_path, ["epochs=3"], resume_dir=run)
    assert _status(run)["status"] == "completed"
    assert not (run / runfiles.ERROR_LOG).exists()
    earlier = run / runfiles.EARLIER_ERROR_LOG.format(1)
    assert earlier.read_text() == failed_trace
    assert _status(run)["resumes"][0]["error_log"] == earlier.name


def test_nan_loss_fails_the_run_and_keeps_the_last_good_checkpoint(tiny_config, tmp_path):
    from cnnrun.train.fit import NanLossError

    with pytest.raises(NanLossError):
        _train(tiny_config, tmp_path,
               ["epochs=4", "optimizer={name: sgd, learning_rate: 0.01}",
                "schedule={name: step, factor: 1.0e+30, every: 1}"])  # fmt: skip
    (run,) = (tmp_path / "runs").iterdir()
    record = _status(run)
    assert record["status"] == "failed" and record["reason"].startswith("nan:")
    good = [s.epoch for s in resume.candidates(run)]
    assert good and max(good) < len(_rows(run))
    assert all(np.isfinite(w).all() for w in _weights(run / runfiles.LAST_MODEL))


def test_resuming_a_completed_run_needs_more_epochs(tiny_config, tmp_path):
    from cnnrun.train.run_folder import resumable_config

    run = _train(tiny_config, tmp_path, ["epochs=2"]).run_dir
    with pytest.raises(DataError, match="already completed 2 epochs"):
        resumable_config(run)
    assert resumable_config(run, 3) == run / runfiles.CONFIG
    _train(run / runfiles.CONFIG, tmp_path, ["epochs=3"], resume_dir=run)
    assert [int(r["epoch"]) for r in _rows(run)] == [1, 2, 3]
    assert "epochs: 3" in (run / runfiles.CONFIG).read_text()


@pytest.mark.parametrize(
    "name",
    ["../x", "/abs", "..\\x", "%2e%2e%2fx", "a\x00b", "x" * 300, "..", ".", "a/../../b"],
)
def test_hostile_run_names_stay_inside_the_runs_folder(name, tmp_path):
    from cnnrun.train.run_folder import create, safe_name

    runs = tmp_path / "runs"
    run = create(runs, name)
    assert run.parent == runs and run.is_dir()
    assert "/" not in safe_name(name) and "\\" not in safe_name(name)
    assert ".." not in safe_name(name) and "\x00" not in safe_name(name)
    assert len(run.name) <= 100
    assert sorted(p.name for p in tmp_path.iterdir()) == ["runs"]


def test_a_streamed_checkpoint_is_a_keras_file_keras_loads(tiny_config, tmp_path):
    import zipfile

    import keras

    run = _train(tiny_config, tmp_path, ["epochs=1"]).run_dir
    model = keras.saving.load_model(run / runfiles.LAST_MODEL)
    path = tmp_path / "again.keras"
    resume.save_keras(model, path)
    names = zipfile.ZipFile(path).namelist()
    assert names[:2] == ["metadata.json", "config.json"] and "model.weights.h5" in names
    again = keras.saving.load_model(path)
    for a, b in zip(model.get_weights(), again.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    saved = [v.numpy() for v in model.optimizer.variables]
    loaded = [v.numpy() for v in again.optimizer.variables]
    assert len(saved) == len(loaded) > 2
    for a, b in zip(saved, loaded, strict=True):
        np.testing.assert_array_equal(a, b)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".tmp-")) == []
