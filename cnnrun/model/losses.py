"""Metrics and a loss for segmentation and keypoints, usable in ``model.compile``.

Segmentation (``y_true`` integer masks ``(N, H, W)``, ``y_pred`` class scores
``(N, H, W, classes)``):

- :func:`mean_iou` — Keras's ``MeanIoU`` on the arg-max of ``y_pred``: per class,
  intersection over union accumulated over the whole evaluation, then the mean over the
  classes that occur (in the truth or the prediction).
- :func:`pixel_accuracy` — the fraction of pixels whose arg-max class is right.

Keypoints (``y_true`` ``(N, J * 3)`` = ``[x, y, v]`` per joint, ``y_pred`` ``(N, J * 2)``
= ``[x, y]`` per joint, or any shape of ``J * 2`` values such as ``(N, 1, 1, J * 2)``;
``x``, ``y`` as fractions of the image's width and height, ``v`` 1 for a visible joint):

- :class:`KeypointError` (``keypoint_error_px``) — the mean Euclidean distance, in pixels
  of the model's input image, between predicted and true visible joints.
- :class:`PCK` (``pck``) — the Percentage of Correct Keypoints: the fraction of visible
  joints predicted within ``alpha`` (0.1) x the image's longer side (22.4 pixels at
  224 x 224). This normaliser is fixed by the image, not by each dog's size; with the
  whole photo resized, a dog filling the frame is judged as strictly as a small one.
- :class:`VisibleMSE` (``visible_mse``) — the loss: squared error of the visible joints'
  coordinates only, averaged per example over its visible coordinates. Invisible joints
  (StanfordExtra stores them at ``(0, 0)``) add nothing, so the model is not taught to
  point at the corner. With every joint visible it equals Keras's MSE.

All are registered with Keras (package ``cnnrun``), so a saved model that uses them
loads with ``keras.saving.load_model(path, safe_mode=True)`` once this module is
imported. Imports Keras (and so TensorFlow).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cnnrun.model.layers import snake
from cnnrun.tf_env import import_keras

keras = import_keras()
ops = keras.ops

SEGMENTATION_METRICS = ("mean_iou", "pixel_accuracy")
KEYPOINT_METRICS = ("keypoint_error_px", "pck")


def mean_iou(num_classes: int, name: str = "mean_iou") -> Any:
    """Keras's ``MeanIoU`` over ``num_classes``, on the arg-max of class scores."""
    return keras.metrics.MeanIoU(
        num_classes=int(num_classes), name=name, sparse_y_true=True, sparse_y_pred=False
    )


def pixel_accuracy(name: str = "pixel_accuracy") -> Any:
    """The fraction of pixels whose arg-max class equals the true class."""
    return keras.metrics.SparseCategoricalAccuracy(name=name)


def _split_keypoints(y_true: Any, y_pred: Any) -> tuple[Any, Any, Any]:
    """``(N, J, 2)`` true and predicted positions and ``(N, J)`` visibility.

    ``y_pred`` may have any shape holding ``2 * J`` values per example (``(N, 48)``,
    ``(N, 1, 1, 48)``): it is read as ``(N, J, 2)``, x and y of each joint in turn.
    """
    y_true = ops.cast(y_true, "float32")
    y_pred = ops.cast(y_pred, "float32")
    joints = ops.shape(y_true)[-1] // 3
    true = ops.reshape(y_true, (-1, joints, 3))
    pred = ops.reshape(y_pred, (-1, joints, 2))
    return true[..., :2], pred, ops.cast(true[..., 2] > 0, "float32")


@keras.saving.register_keras_serializable(package="cnnrun")
class VisibleMSE(keras.losses.Loss):
    """Mean squared error of the visible joints' coordinates (see the module docstring).

    Per example: ``sum_j v_j ((x'_j - x_j)^2 + (y'_j - y_j)^2) / (2 * sum_j v_j)``, and
    0 for an example without a visible joint; Keras then averages over the batch.
    """

    def __init__(self, name: str = "visible_mse", **kwargs: Any) -> None:
        super().__init__(name=name, **kwargs)

    def call(self, y_true: Any, y_pred: Any) -> Any:
        true, pred, visible = _split_keypoints(y_true, y_pred)
        squared = ops.sum(ops.square(pred - true), axis=-1) * visible
        count = ops.sum(visible, axis=-1) * 2.0
        return ops.sum(squared, axis=-1) / ops.maximum(count, 1.0)


@keras.saving.register_keras_serializable(package="cnnrun")
class KeypointXYLoss(keras.losses.Loss):
    """A Keras loss (``mse``, ``mae``, ``huber``, ...) on all joints' ``x, y``.

    What a keypoint experiment gets when its ``loss:`` is a Keras loss: ``y_true``'s
    visibility is dropped, and invisible joints are targets at ``(0, 0)``, as the
    chapter's §7.3 (Keras's keypoint example) trains them. :class:`VisibleMSE` ignores
    them instead.

    Args:
        base: The Keras loss's name.
        base_args: Its constructor arguments (``delta``, ...).
    """

    def __init__(
        self, base: str = "mean_squared_error", base_args: dict | None = None, **kwargs: Any
    ) -> None:
        kwargs.setdefault("name", f"keypoint_{base}")
        super().__init__(**kwargs)
        self.base = base
        self.base_args = dict(base_args or {})
        if self.base_args:
            self._fn = make_loss(base, self.base_args)
        else:
            self._fn = keras.losses.get(base)

    def call(self, y_true: Any, y_pred: Any) -> Any:
        true, pred, _ = _split_keypoints(y_true, y_pred)
        n = ops.shape(true)[0]
        return self._fn(ops.reshape(true, (n, -1)), ops.reshape(pred, (n, -1)))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "base": self.base, "base_args": self.base_args}


class _KeypointMetric(keras.metrics.Metric):
    """A ratio accumulated over batches: ``total / count`` over visible joints."""

    def __init__(self, image_size: Sequence[int] = (224, 224), name: str = "", **kwargs: Any):
        super().__init__(name=name, **kwargs)
        self.image_size = (int(image_size[0]), int(image_size[1]))  # (height, width)
        self.total = self.add_variable(shape=(), initializer="zeros", name="total")
        self.count = self.add_variable(shape=(), initializer="zeros", name="count")

    def _distances(self, y_true: Any, y_pred: Any) -> tuple[Any, Any]:
        true, pred, visible = _split_keypoints(y_true, y_pred)
        h, w = self.image_size
        diff = (pred - true) * ops.convert_to_tensor([float(w), float(h)])
        return ops.sqrt(ops.sum(ops.square(diff), axis=-1)), visible

    def _values(self, distances: Any) -> Any:
        raise NotImplementedError

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        distances, visible = self._distances(y_true, y_pred)
        if sample_weight is not None:
            weight = ops.reshape(ops.cast(sample_weight, "float32"), (-1, 1))
            visible = visible * weight
        self.total.assign_add(ops.sum(self._values(distances) * visible))
        self.count.assign_add(ops.sum(visible))

    def result(self) -> Any:
        return ops.divide_no_nan(self.total, self.count)

    def reset_state(self) -> None:
        self.total.assign(0.0)
        self.count.assign(0.0)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "image_size": list(self.image_size)}


@keras.saving.register_keras_serializable(package="cnnrun")
class KeypointError(_KeypointMetric):
    """Mean distance in pixels between predicted and true visible joints.

    Args:
        image_size: ``(height, width)`` of the model's input: fractions are turned into
            pixels of that image.
    """

    def __init__(
        self, image_size: Sequence[int] = (224, 224), name: str = "keypoint_error_px", **kwargs: Any
    ) -> None:
        super().__init__(image_size, name=name, **kwargs)

    def _values(self, distances: Any) -> Any:
        return distances


@keras.saving.register_keras_serializable(package="cnnrun")
class PCK(_KeypointMetric):
    """Fraction of visible joints within ``alpha`` x the image's longer side of the truth.

    Args:
        image_size: ``(height, width)`` of the model's input.
        alpha: The threshold as a fraction of ``max(height, width)`` (PCK@0.1 by default).
    """

    def __init__(
        self,
        image_size: Sequence[int] = (224, 224),
        alpha: float = 0.1,
        name: str = "pck",
        **kwargs: Any,
    ) -> None:
        super().__init__(image_size, name=name, **kwargs)
        self.alpha = float(alpha)

    @property
    def threshold_px(self) -> float:
        """The distance, in pixels, within which a joint counts as correct."""
        return self.alpha * max(self.image_size)

    def _values(self, distances: Any) -> Any:
        return ops.cast(distances <= self.threshold_px, "float32")

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "alpha": self.alpha}


def keypoint_error_px(image_size: Sequence[int] = (224, 224)) -> KeypointError:
    """A :class:`KeypointError` metric for images of ``image_size`` = (height, width)."""
    return KeypointError(image_size)


def pck(image_size: Sequence[int] = (224, 224), alpha: float = 0.1) -> PCK:
    """A :class:`PCK` metric (PCK@``alpha``) for images of ``image_size``."""
    return PCK(image_size, alpha)


def visible_mse() -> VisibleMSE:
    """The :class:`VisibleMSE` loss."""
    return VisibleMSE()


def task_metric(
    name: str, *, num_classes: int | None = None, image_size: Sequence[int] | None = None
) -> Any:
    """The metric called ``name`` in an experiment's ``metrics:`` list, for its task.

    Args:
        name: One of :data:`SEGMENTATION_METRICS` or :data:`KEYPOINT_METRICS`.
        num_classes: Classes of a segmentation model (``mean_iou`` needs it).
        image_size: ``(height, width)`` of a keypoint model's input.

    Raises:
        KeyError: For another name.
    """
    if name == "mean_iou":
        if not num_classes:
            raise ValueError("mean_iou needs the number of classes")
        return mean_iou(num_classes)
    if name == "pixel_accuracy":
        return pixel_accuracy()
    if name in KEYPOINT_METRICS:
        size = tuple(image_size or (224, 224))
        return keypoint_error_px(size) if name == "keypoint_error_px" else pck(size)
    raise KeyError(name)


def make_loss(name: str, kwargs: dict[str, Any]) -> Any:
    """The loss called ``name`` (Keras's, or cnnrun's task loss), with its arguments.

    Raises:
        ValueError: When a Keras loss given by function name takes no arguments.
    """
    if name == "visible_mse":
        return visible_mse()
    if not kwargs:
        return keras.losses.get(name)
    for attr in dir(keras.losses):
        cls = getattr(keras.losses, attr)
        if isinstance(cls, type) and snake(attr) == name:
            return cls(**kwargs)
    raise ValueError(f"the loss '{name}' takes no arguments")
