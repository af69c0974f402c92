"""What Keras accepts, by name, without importing Keras.

``keras_catalog.json`` lists Keras's layers, optimizers, losses and metrics with the
keyword arguments each accepts. It is generated from the installed Keras by
``python -m cnnrun.catalog`` (``make catalog``); a test checks it matches. With it,
``validate``, ``list`` and ``--help`` answer in milliseconds instead of importing
TensorFlow, and still say "did you mean" for a misspelt layer or argument.
"""

from __future__ import annotations

import functools
import inspect
import json
import re
from pathlib import Path
from typing import Any

CATALOG_FILE = Path(__file__).with_name("keras_catalog.json")

# The experiment file's callback names and the Keras classes they stand for.
CALLBACK_CLASSES = {
    "early_stopping": "EarlyStopping",
    "reduce_lr_on_plateau": "ReduceLROnPlateau",
    "tensorboard": "TensorBoard",
    "terminate_on_nan": "TerminateOnNaN",
}

# cnnrun's own metric and loss names (cnnrun.model.losses), beside Keras's: the task each
# belongs to and one line for `cnnrun list metrics|losses`. Not in keras_catalog.json,
# which is generated from Keras alone.
TASK_METRICS = {
    "mean_iou": ("segmentation", "cnnrun: mean intersection over union of the classes"),
    "pixel_accuracy": ("segmentation", "cnnrun: fraction of pixels of the right class"),
    "keypoint_error_px": ("keypoints", "cnnrun: mean distance of visible joints, in pixels"),
    "pck": ("keypoints", "cnnrun: visible joints within 0.1 x the image's side (PCK@0.1)"),
}
TASK_LOSSES = {
    "visible_mse": ("keypoints", "cnnrun: squared error of the visible joints only"),
}


# The ImageNet weight files keras.applications fetches into its cache (`~/.keras/models`),
# (with the top, without it), for each network's default arguments; read from
# keras/src/applications/*.py (`file_utils.get_file(file_name, ...)`). MobileNet's names
# also depend on `alpha` and the input size, which `cnnrun train` reports exactly.
_STANDARD_WEIGHTS = {
    "VGG16": "vgg16",
    "VGG19": "vgg19",
    "ResNet50": "resnet50",
    "ResNet101": "resnet101",
    "ResNet152": "resnet152",
    "ResNet50V2": "resnet50v2",
    "ResNet101V2": "resnet101v2",
    "ResNet152V2": "resnet152v2",
    "Xception": "xception",
    "InceptionV3": "inception_v3",
    "InceptionResNetV2": "inception_resnet_v2",
    "DenseNet121": "densenet121",
    "DenseNet169": "densenet169",
    "DenseNet201": "densenet201",
}
_OTHER_WEIGHTS = {
    "MobileNet": ("mobilenet_1_0_224_tf.h5", "mobilenet_1_0_224_tf_no_top.h5"),
    "MobileNetV2": (
        "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224.h5",
        "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5",
    ),
    "MobileNetV3Small": (
        "weights_mobilenet_v3_small_224_1.0_float.h5",
        "weights_mobilenet_v3_small_224_1.0_float_no_top_v2.h5",
    ),
    "MobileNetV3Large": (
        "weights_mobilenet_v3_large_224_1.0_float.h5",
        "weights_mobilenet_v3_large_224_1.0_float_no_top_v2.h5",
    ),
    "NASNetMobile": ("nasnet_mobile.h5", "nasnet_mobile_no_top.h5"),
    "NASNetLarge": ("nasnet_large.h5", "nasnet_large_no_top.h5"),
}


def imagenet_weight_files(name: str, default_model_name: str | None) -> dict[str, str]:
    """The weight files of ``keras.applications.<name>`` for its default arguments.

    Args:
        name: The network's class name, e.g. ``ResNet50V2``.
        default_model_name: Its default ``name`` argument (EfficientNet and ConvNeXt name
            their files after it: ``efficientnetb0_notop.h5``).

    Returns:
        ``{"top": file name, "notop": file name}`` (``include_top`` true / false).
    """
    if name in _STANDARD_WEIGHTS:
        stem = f"{_STANDARD_WEIGHTS[name]}_weights_tf_dim_ordering_tf_kernels"
        return {"top": f"{stem}.h5", "notop": f"{stem}_notop.h5"}
    if name in _OTHER_WEIGHTS:
        top, notop = _OTHER_WEIGHTS[name]
        return {"top": top, "notop": notop}
    if default_model_name and name.startswith(("EfficientNet", "ConvNeXt")):
        return {"top": f"{default_model_name}.h5", "notop": f"{default_model_name}_notop.h5"}
    raise KeyError(f"no known ImageNet weight files for keras.applications.{name}")


@functools.cache
def load() -> dict[str, Any]:
    """Return the shipped catalog.

    Its keys: ``keras_version``, ``layers``, ``optimizers``, ``callbacks`` and
    ``loss_classes`` (loss classes by snake-case name) (each mapping a name to
    ``{"params": [...], "required": [...], "positional": [...]}``), ``losses`` and
    ``metrics`` (lists),
    and ``applications``: each ``keras.applications`` network by class name, with its
    ``params`` (and their ``defaults``), its ``module`` (where its ``preprocess_input``
    lives) and its ImageNet ``weights`` file names (``top`` / ``notop``).
    """
    return json.loads(CATALOG_FILE.read_text(encoding="utf-8"))


def _params(cls: type, base: type | None = None) -> dict[str, list[str]]:
    """The arguments of ``cls`` (then of ``base``): all, required, and by position.

    ``positional`` holds the class's own arguments that are not keyword-only (Keras's
    Layer arguments, such as ``trainable`` and ``name``, are keyword-only).
    """
    names: list[str] = []
    required: list[str] = []
    positional: list[str] = []
    for klass in (cls, base) if base else (cls,):
        for p in list(inspect.signature(klass.__init__).parameters.values())[1:]:
            if p.kind in (p.VAR_KEYWORD, p.VAR_POSITIONAL) or p.name in names:
                continue
            names.append(p.name)
            if p.default is p.empty and klass is cls:
                required.append(p.name)
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and klass is cls:
                positional.append(p.name)
    return {"params": names, "required": required, "positional": positional}


def snake_case(name: str) -> str:
    """``SparseCategoricalCrossentropy`` -> ``sparse_categorical_crossentropy``.

    As :func:`cnnrun.model.build._snake`, which finds a loss class by this name.
    """
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def generate() -> dict[str, Any]:
    """Build the catalog from the installed Keras (imports TensorFlow)."""
    from cnnrun.tf_env import import_keras

    keras = import_keras()
    from keras.src.losses import ALL_OBJECTS_DICT as LOSSES
    from keras.src.metrics import ALL_OBJECTS_DICT as METRICS
    from keras.src.optimizers import ALL_OBJECTS_DICT as OPTIMIZERS

    base = keras.layers.Layer
    layers = {}
    for name in sorted(dir(keras.layers)):
        obj = getattr(keras.layers, name)
        if inspect.isclass(obj) and issubclass(obj, base) and obj is not base:
            if name in (
                "InputLayer",
                "Lambda",
                "Wrapper",
                "TFSMLayer",
                "TorchModuleWrapper",
                "JaxLayer",
            ):
                continue
            if name.startswith("Flax") or name.startswith("Tfsm"):
                continue
            layers[name] = _params(obj, base)
            # Layer's own extra kwargs (keras/src/layers/layer.py: allowed_kwargs).
            layers[name]["params"] += ["input_shape", "input_dim", "batch_size"]
    optimizers = {
        name: _params(cls)
        for name, cls in sorted(OPTIMIZERS.items())
        if name not in ("optimizer", "lossscaleoptimizer")
    }
    callbacks = {
        name: _params(getattr(keras.callbacks, cls)) for name, cls in CALLBACK_CLASSES.items()
    }
    # Loss classes by snake-case name: the losses that take arguments (`from_logits`, ...).
    loss_classes = {
        snake_case(name): _params(cls)
        for name, cls in sorted(vars(keras.losses).items())
        if inspect.isclass(cls)
        and issubclass(cls, keras.losses.Loss)
        and cls is not keras.losses.Loss
        and name != "LossFunctionWrapper"
    }
    return {
        "keras_version": keras.__version__,
        "applications": _applications(keras),
        "callbacks": callbacks,
        "layers": layers,
        "loss_classes": loss_classes,
        "optimizers": optimizers,
        "losses": sorted(n for n in LOSSES if n[:1].islower() and n != "deserialize"),
        "metrics": sorted(
            {"accuracy", "acc", *(n for n in METRICS if n[:1].islower())}
            - {"metric", "mean_metric_wrapper"}
        ),
    }


def _applications(keras: Any) -> dict[str, Any]:
    """``keras.applications`` networks: arguments, module and ImageNet weight files."""
    apps = {}
    for name in sorted(dir(keras.applications)):
        fn = getattr(keras.applications, name)
        if not (name[:1].isupper() and callable(fn)):
            continue
        params = [
            p
            for p in inspect.signature(fn).parameters.values()
            if p.name != "input_tensor" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
        ]
        defaults = {
            p.name: p.default
            for p in params
            if p.default is not p.empty and isinstance(p.default, str | int | float | bool | None)
        }
        apps[name] = {
            "params": [p.name for p in params],
            "defaults": defaults,
            "module": fn.__module__.rsplit(".", 1)[-1],
            "weights": imagenet_weight_files(name, defaults.get("name")),
        }
    return apps


def main() -> None:
    """Regenerate ``keras_catalog.json`` from the installed Keras."""
    CATALOG_FILE.write_text(json.dumps(generate(), indent=1, sort_keys=True) + "\n")
    print(f"wrote {CATALOG_FILE}")


if __name__ == "__main__":
    main()
