"""Checks on arrays before any training: shapes, labels and pixels a model can learn from.

Each problem is a :class:`DataError` naming the data's source (the ``.npz`` file), the
array (``x_train``, ``y_test``, ...) and the first bad example, found before a run folder
is created. Labels are checked in the dtype they were stored in, before any cast to int32
could wrap a huge label around.
"""

from __future__ import annotations

import numpy as np

from cnnrun.data.arrays import ArrayData
from cnnrun.errors import DataError

_CHUNK = 4096  # examples checked at a time for finite pixels (bounded extra memory)


def check_arrays(data: ArrayData, task: str, num_classes: int) -> ArrayData:
    """Check the arrays of ``data``; classification labels come back shaped ``(N,)``.

    Raises:
        DataError: On lengths that differ, one-hot or fractional labels, labels outside
            ``0 .. num_classes - 1``, or images with NaN or infinite pixels.
    """
    where = data.source or "the data set"
    ys = {"y_train": data.y_train, "y_test": data.y_test}
    for x_key, y_key in (("x_train", "y_train"), ("x_test", "y_test")):
        x, y = getattr(data, x_key), ys[y_key]
        if len(x) != len(y):
            raise DataError(
                f"{where}: {x_key} has {len(x)} examples but {y_key} has {len(y)} labels; "
                "they must be as many"
            )
        _finite_pixels(x, x_key, where)
        if task == "classification":
            ys[y_key] = _class_labels(y, y_key, where, num_classes)
    if task != "classification":
        return data
    data.y_train, data.y_test = ys["y_train"], ys["y_test"]
    return data


def _finite_pixels(x: np.ndarray, key: str, where: str) -> None:
    if not np.issubdtype(x.dtype, np.floating) or not len(x):
        return
    for start in range(0, len(x), _CHUNK):
        part = x[start : start + _CHUNK].reshape(min(_CHUNK, len(x) - start), -1)
        bad = ~np.isfinite(part).all(axis=1)
        if bad.any():
            i = start + int(np.argmax(bad))
            raise DataError(
                f"{where}: {key}[{i}] has NaN or infinite pixels (the first such example); "
                "a model cannot learn from them: fix or drop those examples"
            )


def _class_labels(y: np.ndarray, key: str, where: str, num_classes: int) -> np.ndarray:
    if y.ndim == 2 and y.shape[1] == 1:
        y = y.reshape(-1)
    if y.ndim != 1:
        one_hot = (
            y.ndim == 2 and y.size and bool(np.isin(y, (0, 1)).all() and (y.sum(axis=1) == 1).all())
        )
        raise DataError(
            f"{where}: {key} "
            + ("looks one-hot " if one_hot else "is not one class index per example ")
            + f"(shape {tuple(y.shape)}): store class indices, shape ({len(y)},)"
        )
    if not (np.issubdtype(y.dtype, np.integer) or np.issubdtype(y.dtype, np.floating)):
        raise DataError(f"{where}: {key} holds {y.dtype} values: class labels are integers")
    if np.issubdtype(y.dtype, np.floating):
        bad = ~np.isfinite(y) | (np.mod(y, 1) != 0)
        if bad.any():
            i = int(np.argmax(bad))
            raise DataError(
                f"{where}: {key}[{i}] = {y[i].item()} is not a whole number: class labels are "
                f"0 to {num_classes - 1}"
            )
    low = y < 0
    if low.any():
        i = int(np.argmax(low))
        raise DataError(
            f"{where}: {key}[{i}] = {_shown(y[i])} is negative: class labels are 0 to "
            f"{num_classes - 1}"
        )
    high = y >= num_classes
    if high.any():
        i = int(np.argmax(high))
        top = _shown(y.max())
        hint = f": give the last layer {top + 1} units" if y.max() < 100_000 else ""
        raise DataError(
            f"{where}: {key}[{i}] = {_shown(y[i])}: labels up to {top}, but the model "
            f"predicts {num_classes} classes{hint}"
        )
    return y


def _shown(value: np.generic) -> int | float:
    """A label as the user wrote it: whole numbers without a trailing ``.0``."""
    v = value.item()
    return int(v) if isinstance(v, float) and v.is_integer() else v
