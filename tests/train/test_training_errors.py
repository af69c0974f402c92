"""Issue 15, item 4: no traceback during training, whatever fails.

Every failure gives one `error:` line naming what to fix and the documented exit code;
a failure inside a run folder also leaves a one-line `reason` in run.json and the full
traceback in the run folder's error.log. Data shape and label problems are found before
the run folder is created.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from hostile_support import (
    NPZ_CONFIG,
    TINY,
    MiB,
    assert_clean_error,
    cnnrun,
    record,
    run_folders,
    small_arrays,
)


def _npz(tmp_path, *, loss="sparse_categorical_crossentropy", **arrays):
    np.savez(tmp_path / "data.npz", **small_arrays(**arrays))
    (tmp_path / "exp.yaml").write_text(NPZ_CONFIG.format(path="data.npz", loss=loss))
    return "exp.yaml"


def _train(tmp_path, config, *args, **kw):
    return cnnrun("train", config, "--runs-dir", "runs", *args, cwd=tmp_path, timeout=240, **kw)


def _assert_failed_run(tmp_path, res, *needles):
    """A failure inside a run: one line, run.json's reason one line, error.log has the rest."""
    assert_clean_error(res, 1, *needles)
    (run,) = run_folders(tmp_path / "runs")
    data = record(run)
    assert data["status"] == "failed", data
    reason = data["reason"]
    assert reason and "\n" not in reason and len(reason) < 500, reason
    log = run / "error.log"
    assert log.is_file(), sorted(p.name for p in run.iterdir())
    assert "Traceback" in log.read_text(errors="replace")
    return data


def test_an_infinite_learning_rate_is_a_config_error(tmp_path):
    (tmp_path / "inf.yaml").write_text(TINY.replace("learning_rate: 1.0e-2", "learning_rate: .inf"))
    res = cnnrun("validate", "inf.yaml", cwd=tmp_path, timeout=60)
    line = assert_clean_error(res, 2, "learning_rate")
    assert "inf.yaml:16" in line, res  # the optimizer's line


@pytest.mark.parametrize("key", ["optimizer.learning_rate", "schedule.initial_learning_rate"])
def test_infinite_numbers_from_set_are_refused_before_training(tmp_path, key):
    (tmp_path / "tiny.yaml").write_text(TINY)
    extra = ["--set", "schedule={name: exponential_per_epoch, decay_rate: 0.9}"]
    res = _train(tmp_path, "tiny.yaml", *([] if key.startswith("optimizer") else extra),
                 "--set", f"{key}=.inf")  # fmt: skip
    assert_clean_error(res, 2, key.split(".")[-1])
    assert not run_folders(tmp_path / "runs")


@pytest.mark.slow  # TensorFlow loads before the data; in-process: tests/data/test_array_checks.py
def test_a_nan_loss_is_one_line_and_a_failed_run_with_error_log(tmp_path):
    (tmp_path / "tiny.yaml").write_text(TINY)
    res = _train(
        tmp_path, "tiny.yaml", "--epochs", "3",
        "--set", "optimizer={name: sgd, learning_rate: 0.01}",
        "--set", "schedule={name: step, factor: 1.0e+30, every: 1}",
    )  # fmt: skip
    data = _assert_failed_run(tmp_path, res, "nan")
    assert data["reason"].startswith("nan:"), data


@pytest.mark.slow  # TensorFlow loads before the data; in-process: tests/data/test_array_checks.py
def test_a_full_disk_is_one_line_and_a_failed_run_with_error_log(tmp_path):
    # The checkpoint (~2 MB with its optimizer state) is the first file over 1 MiB: its write
    # fails with EFBIG, as a full disk fails with ENOSPC.
    big = TINY.replace(
        "    - Flatten\n", "    - Flatten\n    - Dense: {units: 1500, activation: relu}\n"
    )
    (tmp_path / "big.yaml").write_text(big)
    res = _train(tmp_path, "big.yaml", "--epochs", "1", fsize=1 * MiB)
    data = _assert_failed_run(tmp_path, res, "File too large")
    assert re.search(r"Errno 27|File too large", data["reason"]), data


def test_a_negative_label_is_found_before_the_run_folder(tmp_path):
    y = np.random.default_rng(1).integers(0, 3, 64)
    y[37] = -1
    res = _train(tmp_path, _npz(tmp_path, y_train=y))
    line = assert_clean_error(res, 1, "data.npz", "y_train")
    assert re.search(r"\b37\b", line) and "-1" in line, res
    assert not run_folders(tmp_path / "runs")


@pytest.mark.slow  # TensorFlow loads before the data; in-process: tests/data/test_array_checks.py
def test_x_and_y_of_different_lengths_are_found_before_the_run_folder(tmp_path):
    res = _train(tmp_path, _npz(tmp_path, y_train=np.zeros(60, np.int64)))
    assert_clean_error(res, 1, "data.npz", "y_train", "60", "64")
    assert not run_folders(tmp_path / "runs")


@pytest.mark.slow  # TensorFlow loads before the data; in-process: tests/data/test_array_checks.py
def test_one_hot_labels_are_found_before_the_run_folder(tmp_path):
    y = np.eye(3, dtype=np.float32)[np.random.default_rng(2).integers(0, 3, 64)]
    res = _train(tmp_path, _npz(tmp_path, y_train=y))
    line = assert_clean_error(res, 1, "data.npz", "y_train")
    assert "one-hot" in line.lower() or "(64, 3)" in line, res
    assert not run_folders(tmp_path / "runs")


@pytest.mark.slow  # TensorFlow loads before the data; in-process: tests/data/test_array_checks.py
def test_infinite_pixels_are_found_before_the_run_folder(tmp_path):
    x = np.random.default_rng(3).random((64, 12, 12)).astype(np.float32)
    x[37, 3, 4] = np.inf
    res = _train(tmp_path, _npz(tmp_path, x_train=x))
    line = assert_clean_error(res, 1, "data.npz", "x_train")
    assert re.search(r"\b37\b", line), res
    assert not run_folders(tmp_path / "runs")
