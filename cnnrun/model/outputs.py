"""What a model's output must look like for the experiment's task and loss."""

from __future__ import annotations

import math
from typing import Any

from cnnrun.config.schema import Experiment
from cnnrun.errors import located

# Losses that expect one probability vector per example: the output must be (batch, classes).
CLASS_LOSSES = ("sparse_categorical_crossentropy", "categorical_crossentropy")


def check_output(
    exp: Experiment,
    model: Any,
    loaded: Any,
    path: str,
    expected: str = "one output node giving (batch, classes), e.g. Dense after "
    "GlobalAveragePooling2D",
    received: str | None = None,
) -> None:
    """Check the output shape the task (and a classification loss) needs.

    Args:
        exp: The experiment.
        model: The built Keras model.
        loaded: The loaded config, to locate errors (or None).
        path: The key path of the output layer or node.
        expected: The hint shown for a classification output of the wrong shape.
        received: What to show as received (default: the output shapes).

    Raises:
        ConfigError: Located at ``path``, with the shape expected.
    """
    if exp.task != "classification":
        check_task_output(exp, model, loaded, path, received)
        return
    if exp.loss.name not in CLASS_LOSSES:
        return
    shapes = [tuple(t.shape) for t in model.outputs]
    if len(shapes) != 1 or len(shapes[0]) != 2:
        shown = ", ".join(map(str, shapes))
        raise located(
            loaded,
            f"the model's output has shape {shown}, but the loss {exp.loss.name} needs "
            "one vector of class scores per example, (batch, classes)",
            path,
            expected=expected,
            received=received or shown,
        )


def check_task_output(
    exp: Experiment, model: Any, loaded: Any, path: str, received: str | None = None
) -> None:
    """Check the output shape a task needs.

    Segmentation: one ``(batch, H, W, classes)`` output at the input's ``H, W``.
    Keypoints: one output of ``2 * joints`` values per example (x, y per joint), in any
    shape: ``(batch, 48)``, or ``(batch, 1, 1, 48)`` as Keras's keypoint example (§7.3);
    the loss and metrics read it as ``(joints, 2)``.

    Raises:
        ConfigError: Located at ``path`` (the output layer), with the shape expected.
    """
    shapes = [tuple(t.shape) for t in model.outputs]
    shape = shapes[0]
    in_shape = tuple(model.inputs[0].shape)
    if exp.task == "segmentation":
        want = f"(batch, {in_shape[1]}, {in_shape[2]}, classes)"
        ok = len(shapes) == 1 and len(shape) == 4 and shape[1:3] == in_shape[1:3]
        ok = ok and (shape[-1] or 0) >= 2
        hint = "a last Conv2D with one filter per class and padding: same (softmax)"
    else:
        want = (
            "(batch, 2 * joints) values, x and y of each joint in [0, 1], in any shape: "
            "(batch, 48) or (batch, 1, 1, 48) for 24 joints"
        )
        ok = len(shapes) == 1 and len(shape) >= 2 and None not in shape[1:]
        ok = ok and math.prod(shape[1:]) % 2 == 0
        hint = "a last layer giving 2 * joints values, e.g. 48 for 24 joints (sigmoid)"
    if not ok:
        raise located(
            loaded,
            f"the model's output has shape {', '.join(map(str, shapes))}, but task: "
            f"{exp.task} needs {want}",
            path,
            expected=hint,
            received=received or ", ".join(map(str, shapes)),
        )


def output_classes(model: Any, task: str = "classification") -> int:
    """The number of classes the model predicts (its last axis).

    For ``task="keypoints"``: its number of output values (two per joint), whatever the
    output's shape (``(batch, 48)`` or ``(batch, 1, 1, 48)``); what
    :func:`cnnrun.data.prepare.load_splits` takes as ``num_classes``.
    """
    if task == "keypoints":
        return math.prod(int(d) for d in tuple(model.output.shape)[1:])
    return int(model.output.shape[-1])
