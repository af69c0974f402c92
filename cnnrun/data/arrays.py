"""In-memory data sets as NumPy arrays (no TensorFlow here)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class ArrayData:
    """Train and test examples as arrays, before scaling.

    Attributes:
        x_train: Images, ``uint8`` (scaled by 1/255 when fed) or float.
        y_train: Integer class labels.
        x_test: Test images.
        y_test: Test labels.
        class_names: One name per class (keypoints: per joint), when known.
        source: Where the arrays were read from (a path or a description).
        own_test: False for a data set without a test set of its own (a folder): its
            examples are all in ``x_train`` and ``data.test_split`` holds the last ones out.
        skipped: ``(file, reason)`` of the unreadable files skipped (``skip_bad_images``).
        x_val: Validation images of the data set's own (a folder's ``val/``), or None:
            ``validation: split`` then takes them instead of holding out training images.
        y_val: Their labels.

    Labels are integer classes ``(N,)`` (classification), integer masks ``(N, H, W)``
    (segmentation) or ``float32`` keypoints ``(N, J, 3)`` or ``(N, J * 3)``.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: list[str] | None = None
    source: str = ""
    own_test: bool = True
    skipped: list[tuple[str, str]] = field(default_factory=list)
    x_val: np.ndarray | None = None
    y_val: np.ndarray | None = None

    def limited(self, train: int | None, test: int | None) -> ArrayData:
        """The first ``train`` training and ``test`` test examples (None keeps all).

        A cut is copied, so the full arrays it came from can be freed.
        """
        return ArrayData(
            _first(self.x_train, train),
            _first(self.y_train, train),
            _first(self.x_test, test),
            _first(self.y_test, test),
            self.class_names,
            self.source,
            self.own_test,
            self.skipped,
            self.x_val,
            self.y_val,
        )

    def with_test_split(self, fraction: float) -> ArrayData:
        """Hold out the last ``fraction`` of the examples as the test set.

        For a data set without a test set of its own (``own_test`` false); others are
        returned unchanged.

        Raises:
            ValueError: When the fraction leaves no test or no training example.
        """
        if self.own_test:
            return self
        n = len(self.x_train)
        n_test = int(n * fraction)
        if fraction > 0 and (n_test < 1 or n_test >= n):
            raise ValueError(
                f"test_split {fraction} of {n} examples leaves no test or no training examples"
            )
        cut = n - n_test
        return ArrayData(
            self.x_train[:cut],
            self.y_train[:cut],
            self.x_train[cut:],
            self.y_train[cut:],
            self.class_names,
            self.source,
            True,
            self.skipped,
            self.x_val,
            self.y_val,
        )


@dataclass
class Splits:
    """Train, validation and test arrays shaped for the model."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray | None
    y_val: np.ndarray | None
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: list[str] | None
    source: str
    skipped: list[tuple[str, str]] = field(default_factory=list)


def _labels(y: np.ndarray) -> np.ndarray:
    """Class labels as int32; masks (kept small) and keypoints unchanged."""
    return y.astype("int32") if y.ndim == 1 else y


def fit_to_input(x: np.ndarray, input_shape: tuple[int, ...], name: str) -> np.ndarray:
    """Reshape images to the model's input shape (adds the channel axis of grey images).

    Raises:
        ValueError: When the sizes cannot match.
    """
    target = tuple(input_shape)
    if x.shape[1:] == target:
        return x
    if int(np.prod(x.shape[1:])) == int(np.prod(target)):
        return x.reshape((x.shape[0], *target))
    raise ValueError(
        f"the {name} images have shape {x.shape[1:]}, which cannot be reshaped to the "
        f"model's input_shape {list(target)}"
    )


def split(
    data: ArrayData,
    input_shape: tuple[int, ...],
    validation: str,
    validation_split: float | int,
) -> Splits:
    """Shape the arrays for the model and hold out validation examples.

    Like Keras's ``validation_split``, the held-out examples are the last ones of the
    training set, taken before any shuffling; a data set with validation examples of its
    own (``data.x_val``) gives those instead. ``validation_split`` is a fraction, or a
    count when it is an ``int`` (the last N examples).
    """
    x_train = fit_to_input(data.x_train, input_shape, "training")
    x_test = fit_to_input(data.x_test, input_shape, "test")
    y_train, y_test = _labels(data.y_train), _labels(data.y_test)
    x_val = y_val = None
    if validation == "test":
        x_val, y_val = x_test, y_test
    elif validation == "split" and data.x_val is not None and data.y_val is not None:
        x_val, y_val = fit_to_input(data.x_val, input_shape, "validation"), _labels(data.y_val)
    elif validation == "split" and validation_split > 0:
        if isinstance(validation_split, int):
            n_val = validation_split
        else:
            n_val = int(len(x_train) * validation_split)
        if n_val < 1 or n_val >= len(x_train):
            raise ValueError(
                f"validation_split {validation_split} of {len(x_train)} examples leaves "
                "no validation or no training examples"
            )
        cut = len(x_train) - n_val
        x_train, x_val = x_train[:cut], x_train[cut:]
        y_train, y_val = y_train[:cut], y_train[cut:]
    return Splits(
        x_train, y_train, x_val, y_val, x_test, y_test, data.class_names, data.source,
        list(data.skipped),
    )  # fmt: skip


def _first(array: np.ndarray, n: int | None) -> np.ndarray:
    return array if n is None or n >= len(array) else array[:n].copy()
