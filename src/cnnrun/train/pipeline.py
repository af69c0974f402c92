"""Feeding arrays to Keras with tf.data: uint8 kept in memory, scaled to [0, 1] per batch.

The training stream is shuffled per epoch with a stateless shuffle seeded by
``(seed, epoch)``, so epoch *k* sees the same order whether the run started at epoch 1 or
was resumed at epoch *k* — part of what makes a resumed run equal an uninterrupted one.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cnnrun.tf_env import import_keras


def _prepare(tf: Any, scale: bool, one_hot: int | None) -> Any:
    def prepare(images: Any, labels: Any) -> tuple[Any, Any]:
        images = tf.cast(images, tf.float32)
        if scale:
            images = images / 255.0
        if one_hot:
            labels = tf.one_hot(labels, one_hot)
        return images, labels

    return prepare


def dataset(x: np.ndarray, y: np.ndarray, batch_size: int, *, one_hot: int | None = None) -> Any:
    """A batched, prefetched ``tf.data.Dataset`` of ``(images, labels)``, in order.

    Args:
        x: Images; ``uint8`` ones are divided by 255 on the fly, as the chapter does.
        y: Integer labels.
        batch_size: Examples per batch.
        one_hot: Number of classes when the loss wants one-hot labels (categorical CE).
    """
    import_keras()
    import tensorflow as tf

    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(batch_size)
    prepare = _prepare(tf, x.dtype == np.uint8, one_hot)
    return ds.map(prepare, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


def training_stream(
    x: np.ndarray,
    y: np.ndarray,
    batch_size: int,
    *,
    first_epoch: int,
    epochs: int,
    seed: int,
    shuffle: bool = True,
    one_hot: int | None = None,
) -> tuple[Any, int]:
    """The batches of epochs ``first_epoch .. epochs-1`` (0-based) as one stream.

    Use with ``model.fit(stream, steps_per_epoch=steps, initial_epoch=first_epoch, ...)``.

    Returns:
        The dataset and the number of steps per epoch.
    """
    import_keras()
    import tensorflow as tf

    n = len(x)
    steps = -(-n // batch_size)
    xs, ys = tf.constant(x), tf.constant(y)

    def epoch_batches(epoch: Any) -> Any:
        order = tf.range(n, dtype=tf.int64)
        if shuffle:
            order = tf.random.experimental.stateless_shuffle(
                order, seed=tf.stack([tf.constant(seed, tf.int64), epoch])
            )
        return tf.data.Dataset.from_tensor_slices(order).batch(batch_size)

    def gather(idx: Any) -> tuple[Any, Any]:
        return tf.gather(xs, idx), tf.gather(ys, idx)

    ds = (
        tf.data.Dataset.range(first_epoch, epochs)
        .flat_map(epoch_batches)
        .map(gather, num_parallel_calls=tf.data.AUTOTUNE)
        .map(_prepare(tf, x.dtype == np.uint8, one_hot), num_parallel_calls=tf.data.AUTOTUNE)
        .prefetch(tf.data.AUTOTUNE)
    )
    return ds, steps
