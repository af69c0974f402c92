"""Issue 15, items 4 and 7, in-process: arrays are checked before any training.

`read_npz` refuses what is not an .npz (or is damaged, or pickled) in one line, and
`check_arrays` finds length, one-hot, fractional, out-of-range and non-finite problems,
naming the source, the array and the first bad example. The same through `cnnrun train`
is in tests/data/test_npz_hostile.py and tests/train/test_training_errors.py.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from hostile_support import small_arrays

from cnnrun.data.arrays import ArrayData
from cnnrun.data.loaders import read_npz
from cnnrun.data.sanity import check_arrays
from cnnrun.errors import DataError


def _check(**changes) -> ArrayData:
    a = small_arrays(**changes)
    data = ArrayData(a["x_train"], a["y_train"], a["x_test"], a["y_test"], None, "data.npz")
    return check_arrays(data, "classification", 3)


def _refused(**changes) -> str:
    with pytest.raises(DataError) as info:
        _check(**changes)
    message = str(info.value)
    assert message.startswith("data.npz: ") and "\n" not in message
    return message


def _with(key: str, index: int, value, dtype=None) -> dict[str, np.ndarray]:  # noqa: ANN001
    y = small_arrays()[key].astype(dtype or np.int64)
    y[index] = value
    return {key: y}


def test_good_arrays_pass_and_column_labels_are_flattened():
    y = small_arrays()["y_train"].reshape(-1, 1)
    assert _check(y_train=y).y_train.shape == (64,)


def test_a_negative_label_is_named_with_its_index():
    assert "y_train[37] = -1 is negative" in _refused(**_with("y_train", 37, -1))


def test_a_huge_label_does_not_wrap_around():
    message = _refused(**_with("y_test", 5, 10**12))
    assert "y_test[5] = 1000000000000" in message and "-727379968" not in message


def test_a_fractional_label_is_refused():
    assert "y_train[37] = 2.5" in _refused(**_with("y_train", 37, 2.5, np.float64))


def test_whole_float_labels_are_fine():
    assert _check(y_train=small_arrays()["y_train"].astype(np.float32)).y_train.dtype == np.float32


def test_lengths_must_match():
    message = _refused(y_train=np.zeros(60, np.int64))
    assert "x_train has 64" in message and "y_train has 60" in message


def test_one_hot_labels_are_recognised():
    y = np.eye(3, dtype=np.float32)[small_arrays()["y_train"]]
    assert "y_train looks one-hot (shape (64, 3))" in _refused(y_train=y)


@pytest.mark.parametrize(("key", "bad"), [("x_train", np.inf), ("x_test", np.nan)])
def test_non_finite_pixels_name_the_first_bad_example(key, bad):
    n = 64 if key == "x_train" else 32
    x = np.random.default_rng(4).random((n, 12, 12)).astype(np.float32)
    x[23, 5, 6] = bad
    x[29, 1, 1] = bad
    assert f"{key}[23] has NaN or infinite pixels" in _refused(**{key: x})


def test_read_npz_refuses_what_is_not_an_npz(tmp_path):
    path = tmp_path / "data.npz"
    path.write_bytes(np.random.default_rng(1).bytes(5000))
    with pytest.raises(DataError, match=r"data\.npz: not an \.npz file") as info:
        read_npz(path)
    assert "pickle" not in str(info.value)


def test_read_npz_refuses_a_truncated_file(tmp_path):
    buf = io.BytesIO()
    np.savez(buf, **small_arrays())
    path = tmp_path / "data.npz"
    path.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    with pytest.raises(DataError, match=r"not a valid \.npz \(a truncated or damaged zip\)"):
        read_npz(path)


def test_read_npz_names_a_pickled_array(tmp_path):
    path = tmp_path / "data.npz"
    arrays = small_arrays()
    arrays["y_train"] = np.array([{"a": 1}] * 64, dtype=object)
    np.savez(path, **arrays)
    with pytest.raises(DataError, match="y_train holds Python objects"):
        read_npz(path)
