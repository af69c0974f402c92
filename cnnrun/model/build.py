"""Build and compile the Keras model an experiment describes, naming the layer at fault."""

from __future__ import annotations

from collections import Counter
from typing import Any

from cnnrun.catalog import TASK_LOSSES, TASK_METRICS
from cnnrun.config.load import LoadedConfig
from cnnrun.config.schema import Experiment, LayerSpec, StackModel
from cnnrun.errors import first_line, located
from cnnrun.model.backbones import apply_backbone, is_backbone
from cnnrun.model.graph import build_functional
from cnnrun.model.layers import make_layer, model_name
from cnnrun.model.losses import KeypointXYLoss, make_loss, task_metric
from cnnrun.model.outputs import check_output, output_classes
from cnnrun.model.precision import global_policy
from cnnrun.tf_env import import_keras


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
                pixel_range=exp.data.pixel_range,
            )
            continue
        if i == last and policy != "float32" and "dtype" not in spec.kwargs:
            spec = LayerSpec(spec.type, spec.args, {**spec.kwargs, "dtype": "float32"}, spec.form)
        layer = make_layer(keras, spec, seen, loaded, path)
        try:
            x = layer(x)
        except Exception as exc:  # Keras raises ValueError, TypeError, ... for bad shapes
            raise located(
                loaded,
                f"{spec.type} cannot be applied to its input of shape {tuple(x.shape)}",
                path,
                expected="a layer stack whose shapes fit (see `cnnrun summary`)",
                received=first_line(exc),
            ) from None
    model = keras.Model(inputs, x, name=model_name(exp))
    last = len(exp.model.layers) - 1
    shape = tuple(model.output.shape)
    check_output(
        exp,
        model,
        loaded,
        f"model.layers[{last}]",
        expected="a Flatten or GlobalAveragePooling2D layer before the last Dense layer",
        received=f"{exp.model.layers[last].type} giving {shape}",
    )
    return model


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
        raise located(
            loaded, "Keras rejected the optimizer", "optimizer", received=first_line(exc)
        ) from None
    try:
        loss = make_loss(exp.loss.name, dict(exp.loss.model_extra or {}))
        if exp.task == "keypoints" and exp.loss.name not in TASK_LOSSES:
            loss = KeypointXYLoss(exp.loss.name, dict(exp.loss.model_extra or {}))
    except Exception as exc:
        raise located(loaded, "Keras rejected the loss", "loss", received=first_line(exc)) from None
    try:
        metrics = _metrics(exp, model)
        model.compile(
            optimizer=optimizer,
            loss=loss,
            metrics=metrics,
            jit_compile=exp.jit_compile,
        )
    except Exception as exc:
        raise located(
            loaded, "Keras could not compile the model", "metrics", received=first_line(exc)
        ) from None


def _metrics(exp: Experiment, model: Any) -> list[Any]:
    """Keras's metrics by name; cnnrun's task metrics (``mean_iou``, ``pck``, ...) built."""
    if not any(m in TASK_METRICS for m in exp.metrics):
        return list(exp.metrics)
    in_shape = tuple(model.inputs[0].shape)
    return [
        task_metric(m, num_classes=output_classes(model), image_size=in_shape[1:3])
        if m in TASK_METRICS
        else m
        for m in exp.metrics
    ]
