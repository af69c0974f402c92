"""Issue 15, item 7: a hostile .npz is refused with the file, the key and the first bad index.

All of these are found while the data is read, so no run folder is created, and the exit
code is 1 (a data problem).
"""

from __future__ import annotations

import io
import re

import numpy as np
import pytest
from hostile_support import NPZ_CONFIG, assert_clean_error, cnnrun, run_folders, small_arrays


def _npz_bytes(**changes) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **small_arrays(**changes))
    return buf.getvalue()


def _train(tmp_path, content: bytes):
    (tmp_path / "data.npz").write_bytes(content)
    cfg = NPZ_CONFIG.format(path="data.npz", loss="sparse_categorical_crossentropy")
    (tmp_path / "exp.yaml").write_text(cfg)
    return cnnrun("train", "exp.yaml", "--runs-dir", "runs", cwd=tmp_path, timeout=240)


@pytest.mark.slow  # TensorFlow loads before the data; in-process: tests/data/test_array_checks.py
def test_a_truncated_npz_is_a_clear_data_error(tmp_path):
    whole = _npz_bytes()
    res = _train(tmp_path, whole[: len(whole) // 2])
    assert_clean_error(res, 1, "data.npz")
    assert "BadZipFile" not in res.output, res
    assert not run_folders(tmp_path / "runs")


def test_random_bytes_are_not_called_pickled_data(tmp_path):
    res = _train(tmp_path, np.random.default_rng(1).bytes(5000))
    line = assert_clean_error(res, 1, "data.npz")
    assert "pickle" not in line.lower() and "allow_pickle" not in line, res
    assert "npz" in line.lower(), res
    assert not run_folders(tmp_path / "runs")


@pytest.mark.slow  # TensorFlow loads before the data; in-process: tests/data/test_array_checks.py
def test_huge_labels_do_not_wrap_around(tmp_path):
    y = np.random.default_rng(2).integers(0, 3, 64).astype(np.int64)
    y[37] = 10**12
    res = _train(tmp_path, _npz_bytes(y_train=y))
    line = assert_clean_error(res, 1, "data.npz", "y_train")
    assert "-727379968" not in res.output, res  # the int32 wrap-around of 10**12
    assert re.search(r"\b37\b", line) and "1000000000000" in line, res
    assert not run_folders(tmp_path / "runs")


@pytest.mark.slow  # TensorFlow loads before the data; in-process: tests/data/test_array_checks.py
def test_fractional_labels_are_refused(tmp_path):
    y = np.random.default_rng(3).integers(0, 3, 64).astype(np.float64)
    y[37] = 2.5
    res = _train(tmp_path, _npz_bytes(y_train=y))
    line = assert_clean_error(res, 1, "data.npz", "y_train")
    assert re.search(r"\b37\b", line) and "2.5" in line, res
    assert not run_folders(tmp_path / "runs")


@pytest.mark.slow  # TensorFlow loads before the data; in-process: tests/data/test_array_checks.py
@pytest.mark.parametrize("where", ["x_train", "x_test"])
def test_nan_pixels_are_refused_with_the_first_bad_index(tmp_path, where):
    n = 64 if where == "x_train" else 32
    x = np.random.default_rng(4).random((n, 12, 12)).astype(np.float32)
    x[23, 5, 6] = np.nan
    x[29, 1, 1] = np.nan
    res = _train(tmp_path, _npz_bytes(**{where: x}))
    line = assert_clean_error(res, 1, "data.npz", where)
    assert re.search(r"\b23\b", line), res  # the first bad example
    assert not run_folders(tmp_path / "runs")


@pytest.mark.slow  # TensorFlow loads before the data; in-process: tests/data/test_array_checks.py
def test_an_all_nan_data_set_does_not_complete(tmp_path):
    nan = np.full((64, 12, 12), np.nan, np.float32)
    res = _train(tmp_path, _npz_bytes(x_train=nan, x_test=nan[:32]))
    assert_clean_error(res, 1, "data.npz", "x_train")
    assert not run_folders(tmp_path / "runs")
