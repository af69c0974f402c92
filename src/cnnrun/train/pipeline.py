"""Feeding arrays to Keras with tf.data: uint8 kept in memory, scaled to [0, 1] per batch."""

from __future__ import annotations

from typing import Any

import numpy as np

from cnnrun.tf_env import import_keras


def dataset(
    x: np.ndarray,
    y: np.ndarray,
    batch_size: int,
    *,
    one_hot: int | None = None,
    shuffle: bool = False,
    seed: int = 0,
) -> Any:
    """A batched, prefetched ``tf.data.Dataset`` of ``(images, labels)``.

    Args:
        x: Images; ``uint8`` ones are divided by 255 on the fly, as the chapter does.
        y: Integer labels.
        batch_size: Examples per batch.
        one_hot: Number of classes when the loss wants one-hot labels (categorical CE).
        shuffle: Reshuffle all examples each epoch.
        seed: Shuffle seed.
    """
    import_keras()
    import tensorflow as tf

    ds = tf.data.Dataset.from_tensor_slices((x, y))
    if shuffle:
        ds = ds.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size)
    scale = x.dtype == np.uint8

    def prepare(images: Any, labels: Any) -> tuple[Any, Any]:
        images = tf.cast(images, tf.float32)
        if scale:
            images = images / 255.0
        if one_hot:
            labels = tf.one_hot(labels, one_hot)
        return images, labels

    return ds.map(prepare, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)
