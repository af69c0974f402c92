"""Build and compile the Keras model an experiment describes, naming the layer at fault."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from cnnrun.catalog import TASK_LOSSES, TASK_METRICS
from cnnrun.config.load import LoadedConfig
from cnnrun.config.schema import Experiment, LayerSpec, StackModel
from cnnrun.errors import ConfigError
from cnnrun.model.backbones import apply_backbone, is_backbone
from cnnrun.model.precision import global_policy
from cnnrun.tf_env import import_keras

# Losses that expect one probability vector per example: the output must be (batch, classes).
CLASS_LOSSES = ("sparse_categorical_crossentropy", "categorical_crossentropy")


def _snake(name: str) -> str:
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def _located(loaded: LoadedConfig | None, message: str, path: str, **kw: Any) -> ConfigError:
    return loaded.error(message, path, **kw) if loaded else ConfigError(message, path=path, **kw)


def build_model(
    exp: Experiment, loaded: LoadedConfig | None = None, policy: str = "float32"
) -> Any:
    """Build the layer stack as a functional Keras model (uncompiled).

    Layer names follow Keras's scheme per model (``conv2d``, ``conv2d_1``, ...) so they do
    not depend on what else was built in the process.

    Args:
        exp: The experiment.
        loaded: Where its keys came from, to locate errors.
        policy: Keras dtype policy of the layers; under a mixed policy the output layer
            still computes in float32, so softmax and the loss stay stable.

    Raises:
        ConfigError: Naming the layer that cannot be created or applied to its input.
    """
    keras = import_keras()
    with global_policy(policy):
        if not isinstance(exp.model, StackModel):  # a graph or a builder
            from cnnrun.model.graph import build_functional

            return build_functional(keras, exp, loaded, policy)
        return _build_stack(keras, exp, loaded, policy)


def _build_stack(keras: Any, exp: Experiment, loaded: LoadedConfig | None, policy: str) -> Any:
    inputs = keras.Input(shape=tuple(exp.model.input_shape), name="input")
    x = inputs
    seen: Counter[str] = Counter()
    last = len(exp.model.layers) - 1
    for i, spec in enumerate(exp.model.layers):
        path = f"model.layers[{i}]"
        if is_backbone(spec.type):  # a keras.applications network
            x = apply_backbone(
                keras,
                spec.type,
                spec.kwargs,
                x,
                seen=seen,
                loaded=loaded,
                path=path,
                float32_output=i == last and policy != "float32",
            )
            continue
        if i == last and policy != "float32" and "dtype" not in spec.kwargs:
            spec = LayerSpec(spec.type, spec.args, {**spec.kwargs, "dtype": "float32"}, spec.form)
        layer = _make_layer(keras, spec, seen, loaded, path)
        try:
            x = layer(x)
        except Exception as exc:  # Keras raises ValueError, TypeError, ... for bad shapes
            raise _located(
                loaded,
                f"{spec.type} cannot be applied to its input of shape {tuple(x.shape)}",
                path,
                expected="a layer stack whose shapes fit (see `cnnrun summary`)",
                received=_first_line(exc),
            ) from None
    model = keras.Model(inputs, x, name=_snake(exp.name).replace("-", "_")[:60] or "model")
    _check_output(exp, model, loaded)
    return model


def _make_layer(keras: Any, spec: LayerSpec, seen: Counter, loaded: Any, path: str) -> Any:
    cls = getattr(keras.layers, spec.type)
    kwargs = dict(spec.kwargs)
    if "name" not in kwargs:
        base = _snake(spec.type)
        kwargs["name"] = base if not seen[base] else f"{base}_{seen[base]}"
        seen[base] += 1
    try:
        return cls(*spec.args, **kwargs)
    except Exception as exc:
        raise _located(
            loaded,
            f"Keras rejected the arguments of {spec.type}",
            f"{path}.{spec.type}",
            expected="arguments Keras accepts (see the Keras docs of this layer)",
            received=_first_line(exc),
        ) from None


def _check_output(exp: Experiment, model: Any, loaded: LoadedConfig | None) -> None:
    if exp.task != "classification":
        check_task_output(exp, model, loaded, f"model.layers[{len(exp.model.layers) - 1}]")
        return
    shape = tuple(model.output.shape)
    if exp.loss.name in CLASS_LOSSES and len(shape) != 2:
        last = len(exp.model.layers) - 1
        raise _located(
            loaded,
            f"the model's output has shape {shape}, but the loss {exp.loss.name} needs "
            "one vector of class scores per example, (batch, classes)",
            f"model.layers[{last}]",
            expected="a Flatten or GlobalAveragePooling2D layer before the last Dense layer",
            received=f"{exp.model.layers[last].type} giving {shape}",
        )


def check_task_output(exp: Experiment, model: Any, loaded: LoadedConfig | None, path: str) -> None:
    """Check the output shape a task needs.

    Segmentation: one ``(batch, H, W, classes)`` output at the input's ``H, W``.
    Keypoints: one ``(batch, 2 * joints)`` output (x, y per joint).

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
        want = "(batch, 2 * joints), x and y of each joint in [0, 1]"
        ok = len(shapes) == 1 and len(shape) == 2 and (shape[-1] or 1) % 2 == 0
        hint = "a Flatten (or Reshape) to 2 * joints values, e.g. 48 for 24 joints (sigmoid)"
    if not ok:
        raise _located(
            loaded,
            f"the model's output has shape {', '.join(map(str, shapes))}, but task: "
            f"{exp.task} needs {want}",
            path,
            expected=hint,
            received=", ".join(map(str, shapes)),
        )


def output_classes(model: Any) -> int:
    """The number of classes the model predicts (its last axis)."""
    return int(model.output.shape[-1])


def compile_model(model: Any, exp: Experiment, loaded: LoadedConfig | None = None) -> None:
    """Compile with the experiment's optimizer, loss and metrics.

    Raises:
        ConfigError: When Keras rejects the optimizer's or the loss's arguments.
    """
    keras = import_keras()
    try:
        optimizer = keras.optimizers.get(
            {"class_name": exp.optimizer.name.lower(), "config": exp.optimizer.kwargs}
        )
    except Exception as exc:
        raise _located(
            loaded, "Keras rejected the optimizer", "optimizer", received=_first_line(exc)
        ) from None
    try:
        loss = _loss(keras, exp.loss.name, dict(exp.loss.model_extra or {}))
        if exp.task == "keypoints" and exp.loss.name not in TASK_LOSSES:
            from cnnrun.task_metrics import KeypointXYLoss

            loss = KeypointXYLoss(exp.loss.name, dict(exp.loss.model_extra or {}))
    except Exception as exc:
        raise _located(
            loaded, "Keras rejected the loss", "loss", received=_first_line(exc)
        ) from None
    try:
        metrics = _metrics(exp, model)
        model.compile(
            optimizer=optimizer,
            loss=loss,
            metrics=metrics,
            jit_compile=exp.jit_compile,
        )
    except Exception as exc:
        raise _located(
            loaded, "Keras could not compile the model", "metrics", received=_first_line(exc)
        ) from None


def _metrics(exp: Experiment, model: Any) -> list[Any]:
    """Keras's metrics by name; cnnrun's task metrics (``mean_iou``, ``pck``, ...) built."""
    if not any(m in TASK_METRICS for m in exp.metrics):
        return list(exp.metrics)
    from cnnrun.task_metrics import task_metric

    in_shape = tuple(model.inputs[0].shape)
    return [
        task_metric(m, num_classes=output_classes(model), image_size=in_shape[1:3])
        if m in TASK_METRICS
        else m
        for m in exp.metrics
    ]


def _loss(keras: Any, name: str, kwargs: dict[str, Any]) -> Any:
    if name in TASK_LOSSES:
        from cnnrun.task_metrics import visible_mse

        return {"visible_mse": visible_mse}[name]()
    if not kwargs:
        return keras.losses.get(name)
    for attr in dir(keras.losses):
        cls = getattr(keras.losses, attr)
        if isinstance(cls, type) and _snake(attr) == name:
            return cls(**kwargs)
    raise ValueError(f"the loss '{name}' takes no arguments")


def _first_line(exc: BaseException) -> str:
    """The informative line of a Keras error (Keras wraps call errors in a preamble)."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc)).strip().splitlines()
    text = [t for t in text if t.strip() and not t.startswith("Exception encountered")]
    msg = text[0].strip() if text else type(exc).__name__
    return msg if len(msg) < 300 else msg[:297] + "..."
