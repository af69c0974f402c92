"""The experiment's ``data.augment`` as a function of one training batch (NumPy, imgaug).

The training stream (:func:`cnnrun.train.pipeline.training_stream`) calls it through
``tf.numpy_function`` with a seed made of the run's seed, the epoch and the batch's index,
so a batch is augmented the same way whether the run went straight through or was
resumed. Images are augmented as ``uint8``, before scaling; masks and keypoints move
with their image (:func:`cnnrun.data.augment.augment_batch`): masks with nearest neighbour,
pixels brought in from outside the image (rotation, zoom out) as background; keypoints
as ``data.keypoints`` says (by default left/right joints swapped on mirrored images).
Validation and test data are never augmented.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from cnnrun.config.schema import Experiment

AugmentFn = Callable[[np.ndarray, np.ndarray, int], tuple[np.ndarray, np.ndarray]]


def batch_seed(seed: int, epoch: int, batch: int) -> int:
    """A seed for one batch: a function of ``(seed, epoch, batch)`` alone."""
    state = np.random.SeedSequence([int(seed), int(epoch), int(batch)]).generate_state(1)
    return int(state[0] % (2**31 - 1))


def make_augment(exp: Experiment, joint_names: Sequence[str] | None = None) -> AugmentFn | None:
    """The batch augmentation of ``exp.data.augment`` for its task, or None when empty.

    Args:
        exp: The experiment.
        joint_names: Keypoints: a name per joint; joints named ``left ...`` and
            ``right ...`` are swapped on mirrored images (``data.keypoints.swap_flipped``).

    Returns:
        ``fn(images, labels, seed) -> (images, labels)`` on NumPy arrays: labels are class
        labels (unchanged), masks ``(N, H, W)``, or keypoints ``(N, J * 3)``.

    Raises:
        ConfigError: When an augmenter cannot be built.
    """
    if not exp.data.augment:
        return None
    from cnnrun.data.augment import augment_batch, build_augmenter, flip_pairs
    from cnnrun.data.folders import OXFORD_BACKGROUND

    aug = build_augmenter(exp.data.augment, "data.augment")
    task = exp.task
    pairs = flip_pairs(list(joint_names)) if joint_names else []
    rules = exp.data.keypoints

    def run(images: np.ndarray, labels: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
        if task == "segmentation":
            out, masks, _ = augment_batch(
                aug, images, masks=labels, seed=seed, mask_fill=OXFORD_BACKGROUND
            )
            return out, masks.astype(labels.dtype)
        if task == "keypoints":
            kp = labels.reshape(len(labels), -1, 3)
            out, _, moved = augment_batch(
                aug, images, keypoints=kp, flip_pairs=pairs, seed=seed, rules=rules
            )
            return out, moved.reshape(labels.shape).astype(labels.dtype)
        out, _, _ = augment_batch(aug, images, seed=seed)
        return out, labels

    return run


def augment_in_graph(tf: Any, fn: AugmentFn, seed: int) -> Callable[..., tuple[Any, Any]]:
    """``fn`` as a ``tf.data`` map over ``(images, labels, epoch, batch)``."""

    def numpy_side(images: np.ndarray, labels: np.ndarray, epoch: Any, batch: Any) -> tuple:
        out, y = fn(images, labels, batch_seed(seed, int(epoch), int(batch)))
        if out.shape != images.shape:
            raise ValueError(
                f"data.augment changed the images' shape from {images.shape[1:]} to "
                f"{out.shape[1:]}: the model takes {images.shape[1:]} (drop the Resize, or "
                "resize to the model's input size)"
            )
        return out.astype(images.dtype), np.ascontiguousarray(y, dtype=labels.dtype)

    def mapped(images: Any, labels: Any, epoch: Any, batch: Any) -> tuple[Any, Any]:
        out, y = tf.numpy_function(
            numpy_side, [images, labels, epoch, batch], [images.dtype, labels.dtype],
            stateful=False,
        )  # fmt: skip
        out.set_shape(images.shape)
        y.set_shape(labels.shape)
        return out, y

    return mapped
