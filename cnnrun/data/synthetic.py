"""Deterministic generated data, for tests and smoke runs."""

from __future__ import annotations

import numpy as np

from cnnrun.data.arrays import ArrayData


def classification(
    input_shape: tuple[int, ...], num_classes: int, n_train: int, n_test: int, seed: int = 0
) -> ArrayData:
    """Images whose class is a fixed random pattern, blurred by noise: learnable, not trivial.

    Args:
        input_shape: Shape of one image (e.g. ``(28, 28, 1)``).
        num_classes: Number of classes (at least 1).
        n_train: Number of training examples.
        n_test: Number of test examples.
        seed: Seed of the generator; the same seed gives the same arrays.

    Returns:
        ``uint8`` images and integer labels.
    """
    rng = np.random.default_rng(seed)
    num_classes = max(1, num_classes)
    prototypes = rng.uniform(0, 255, size=(num_classes, *input_shape))

    def make(n: int) -> tuple[np.ndarray, np.ndarray]:
        y = np.arange(n) % num_classes
        rng.shuffle(y)
        noise = rng.normal(0, 60, size=(n, *input_shape))
        x = np.clip(prototypes[y] * 0.7 + 40 + noise, 0, 255).astype(np.uint8)
        return x, y.astype(np.int32)

    x_train, y_train = make(n_train)
    x_test, y_test = make(n_test)
    names = [f"class_{i}" for i in range(num_classes)]
    return ArrayData(x_train, y_train, x_test, y_test, names, "synthetic")
