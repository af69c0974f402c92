"""Feeding arrays to Keras with tf.data: uint8 kept in memory, scaled to [0, 1] per batch.

The training stream is shuffled per epoch with a stateless shuffle seeded by
``(seed, epoch)``, so epoch *k* sees the same order whether the run started at epoch 1 or
was resumed at epoch *k* — part of what makes a resumed run equal an uninterrupted one.
Augmentation (``data.augment``) is seeded by ``(seed, epoch, batch)`` for the same reason.
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
        if labels.dtype == tf.uint8:  # masks are kept small in memory
            labels = tf.cast(labels, tf.int32)
        if one_hot:
            labels = tf.one_hot(labels, one_hot)
        return images, labels

    return prepare


def dataset(
    x: np.ndarray,
    y: np.ndarray,
    batch_size: int,
    *,
    one_hot: int | None = None,
    drop_remainder: bool = False,
    scale: bool | None = None,
) -> Any:
    """A batched, prefetched ``tf.data.Dataset`` of ``(images, labels)``, in order.

    Args:
        x: Images; ``uint8`` ones are divided by 255 on the fly, as the chapter does.
        y: Integer labels.
        batch_size: Examples per batch.
        one_hot: Number of classes when the loss wants one-hot labels (categorical CE).
        drop_remainder: Leave out the last partial batch (``data.drop_remainder``).
        scale: Divide the images by 255 (None: when they are ``uint8``); see
            :func:`cnnrun.data.pixels.divide_by_255`.
    """
    import_keras()
    import tensorflow as tf

    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(batch_size, drop_remainder=drop_remainder)
    prepare = _prepare(tf, x.dtype == np.uint8 if scale is None else scale, one_hot)
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
    augment: Any = None,
    drop_remainder: bool = False,
    scale: bool | None = None,
) -> tuple[Any, int]:
    """The batches of epochs ``first_epoch .. epochs-1`` (0-based) as one stream.

    Use with ``model.fit(stream, steps_per_epoch=steps, initial_epoch=first_epoch, ...)``.

    Args:
        x: Images (``uint8`` ones are divided by 255 on the fly).
        y: Labels: classes, masks or keypoints.
        batch_size: Examples per batch.
        first_epoch: The first epoch of the stream (0-based; a resumed run's).
        epochs: The end of the stream (exclusive).
        seed: Seeds each epoch's shuffle with ``(seed, epoch)``.
        shuffle: Shuffle each epoch.
        one_hot: Number of classes when the loss wants one-hot labels.
        augment: ``fn(images, labels, seed) -> (images, labels)`` on NumPy batches
            (:func:`cnnrun.train.augment_stream.make_augment`), run before scaling with a seed
            from ``(seed, epoch, batch index)``.
        drop_remainder: ``n // batch_size`` batches per epoch: each epoch leaves out the
            examples its order puts last (with shuffling, different ones each epoch).
        scale: Divide the images by 255 (None: when they are ``uint8``).

    Returns:
        The dataset and the number of steps per epoch.
    """
    import_keras()
    import tensorflow as tf

    n = len(x)
    steps = n // batch_size if drop_remainder else -(-n // batch_size)
    xs, ys = tf.constant(x), tf.constant(y)

    def epoch_batches(epoch: Any) -> Any:
        order = tf.range(n, dtype=tf.int64)
        if shuffle:
            order = tf.random.experimental.stateless_shuffle(
                order, seed=tf.stack([tf.constant(seed, tf.int64), epoch])
            )
        batches = tf.data.Dataset.from_tensor_slices(order).batch(batch_size, drop_remainder)
        batches = batches.enumerate()
        return batches.map(lambda i, idx: (epoch, i, idx))

    def gather(epoch: Any, i: Any, idx: Any) -> tuple[Any, Any, Any, Any]:
        return tf.gather(xs, idx), tf.gather(ys, idx), epoch, i

    ds = (
        tf.data.Dataset.range(first_epoch, epochs)
        .flat_map(epoch_batches)
        .map(gather, num_parallel_calls=tf.data.AUTOTUNE)
    )
    if augment is not None:
        from cnnrun.train.augment_stream import augment_in_graph

        ds = ds.map(augment_in_graph(tf, augment, seed), num_parallel_calls=tf.data.AUTOTUNE)
    else:
        ds = ds.map(lambda images, labels, epoch, i: (images, labels))
    ds = ds.map(
        _prepare(tf, x.dtype == np.uint8 if scale is None else scale, one_hot),
        num_parallel_calls=tf.data.AUTOTUNE,
    ).prefetch(tf.data.AUTOTUNE)
    return ds, steps
