"""Model builders: Python functions that make a Keras model, called by name from YAML.

For architectures that are clearer as code than as a graph::

    model:
      builder: small_resnet        # `cnnrun list builders`
      input_shape: [28, 28, 1]     # passed to the builder as `input_shape`
      args: {num_classes: 10, filters: 32}

A user adds their own without editing cnnrun, in a Python file::

    from cnnrun.model.builders import register_builder

    @register_builder("my_net")
    def my_net(input_shape, num_classes=10, width=32):
        '''One line shown by `cnnrun list builders`.'''
        import keras
        ...
        return keras.Model(inputs, outputs)

named in the experiment (``model: {builder: my_net, file: my_builders.py}``, relative to
the experiment file) or on the command line (``cnnrun --builders my_builders.py train ...``).

A builder takes ``input_shape`` (a tuple) and keyword arguments, and returns an uncompiled
Keras model. Importing this module does not import TensorFlow: builders import Keras in
their body, so `cnnrun list builders` and `validate` read their signatures instantly.
"""

from __future__ import annotations

import hashlib
import importlib.util
import inspect
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cnnrun.errors import ConfigError, first_line
from cnnrun.registry import Registry

Builder = Callable[..., Any]
BUILDERS: Registry[Builder] = Registry("model builder")
_SOURCES: dict[str, Path] = {}  # builder name -> the user file that registered it
_LOADED_FILES: dict[Path, list[str]] = {}


def register_builder(name: str, help: str | None = None) -> Callable[[Builder], Builder]:
    """Register a model builder under ``name`` (decorator).

    Args:
        name: The name an experiment gives as ``model.builder``.
        help: One line for `cnnrun list builders` (default: the docstring's first line).

    Raises:
        ValueError: When ``name`` is taken by another function.

    Example:
        >>> @register_builder("tiny_dense")
        ... def tiny_dense(input_shape, units=4):
        ...     '''A Flatten and a Dense layer.'''
        ...     import keras
        ...     inputs = keras.Input(input_shape)
        ...     outputs = keras.layers.Dense(units)(keras.layers.Flatten()(inputs))
        ...     return keras.Model(inputs, outputs)
        >>> "tiny_dense" in BUILDERS
        True
    """

    def wrap(fn: Builder) -> Builder:
        if "input_shape" not in inspect.signature(fn).parameters:
            raise ValueError(f"builder '{name}' must take an `input_shape` argument")
        doc = (inspect.getdoc(fn) or "").strip().splitlines()
        BUILDERS.register(name, help or (doc[0] if doc else ""))(fn)
        return fn

    return wrap


def builder_params(name: str) -> tuple[list[inspect.Parameter], bool]:
    """The arguments of builder ``name`` but ``input_shape``, and whether it takes ``**kwargs``."""
    params = list(inspect.signature(BUILDERS.get(name)).parameters.values())
    open_ended = any(p.kind is p.VAR_KEYWORD for p in params)
    own = [
        p
        for p in params
        if p.name != "input_shape" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
    ]
    return own, open_ended


def describe_params(name: str) -> str:
    """``num_classes=10, filters=32, ...`` for `cnnrun list builders`."""
    own, open_ended = builder_params(name)
    parts = [p.name if p.default is p.empty else f"{p.name}={p.default!r}" for p in own]
    return ", ".join(parts + (["**kwargs"] if open_ended else []))


def load_builder_file(path: str | Path) -> list[str]:
    """Run a Python file that registers builders; return the names it registered.

    Loading the same file again registers nothing new and returns the same names.

    Raises:
        ConfigError: When the file is missing or fails to run.
    """
    path = Path(path).expanduser().resolve()
    if path in _LOADED_FILES:
        return _LOADED_FILES[path]
    if not path.is_file():
        raise ConfigError(
            "the builder file does not exist", expected="a Python file", received=str(path)
        )
    before = set(BUILDERS.names())
    digest = hashlib.sha1(str(path).encode()).hexdigest()[:10]
    module_name = f"cnnrun_user_builders_{path.stem}_{digest}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ConfigError("cannot load the builder file", received=str(path))
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        sys.modules.pop(module_name, None)
        raise ConfigError(
            f"the builder file {path} failed to run",
            expected="a Python file that registers builders with @register_builder",
            received=f"{type(exc).__name__}: {exc}",
        ) from None
    names = [n for n in BUILDERS.names() if n not in before]
    for n in names:
        _SOURCES[n] = path
    _LOADED_FILES[path] = names
    return names


def loaded_files() -> list[Path]:
    """The builder files loaded in this process (``model.file``, ``--builders``), in order."""
    return list(_LOADED_FILES)


def source_file(name: str) -> Path | None:
    """The user file that registered builder ``name`` (None for cnnrun's own)."""
    return _SOURCES.get(name)


def build_with_builder(keras: Any, cfg: Any, loaded: Any = None) -> Any:
    """Call the builder with ``input_shape`` and ``args``; return its Keras model.

    Raises:
        ConfigError: When the builder is unknown, fails, or does not return a Keras model.
    """

    def error(message: str, path: str, **kw: Any) -> ConfigError:
        return (
            loaded.error(message, path, **kw) if loaded else ConfigError(message, path=path, **kw)
        )

    if cfg.file is not None:
        load_builder_file(cfg.file)
    if cfg.builder not in BUILDERS:
        raise error(
            f"unknown model builder '{cfg.builder}'",
            "model.builder",
            suggestion=BUILDERS.suggest(cfg.builder),
        )
    try:
        model = BUILDERS.get(cfg.builder)(input_shape=tuple(cfg.input_shape), **cfg.args)
    except Exception as exc:
        raise error(
            f"the builder '{cfg.builder}' failed",
            "model.args" if cfg.args else "model.builder",
            expected=f"arguments it accepts: {describe_params(cfg.builder)}",
            received=f"{type(exc).__name__}: {first_line(exc)}",
        ) from None
    if not isinstance(model, keras.Model):
        raise error(
            f"the builder '{cfg.builder}' did not return a Keras model",
            "model.builder",
            expected="a keras.Model",
            received=type(model).__name__,
        )
    return model


@register_builder("small_resnet")
def small_resnet(
    input_shape: tuple[int, ...],
    num_classes: int = 10,
    filters: int = 32,
    stages: int = 2,
    blocks_per_stage: int = 2,
    dropout: float = 0.0,
) -> Any:
    """A small ResNet (v1 blocks: conv-BN-ReLU-conv-BN + skip, then ReLU) for small images.

    Args:
        input_shape: Shape of one image, e.g. ``(28, 28, 1)``.
        num_classes: Units of the softmax output.
        filters: Filters of the first stage; each further stage doubles them and halves
            the resolution (the first block's skip is then a strided 1x1 convolution).
        stages: Number of stages.
        blocks_per_stage: Residual blocks per stage.
        dropout: Dropout rate before the output layer (0: none).
    """
    from cnnrun.tf_env import import_keras

    keras = import_keras()
    layers = keras.layers
    inputs = keras.Input(shape=tuple(input_shape), name="image")
    x = layers.Conv2D(filters, 3, padding="same", use_bias=False, name="stem_conv")(inputs)
    x = layers.BatchNormalization(name="stem_bn")(x)
    x = layers.Activation("relu", name="stem_relu")(x)
    for stage in range(stages):
        width = filters * 2**stage
        for block in range(blocks_per_stage):
            name = f"stage{stage + 1}_block{block + 1}"
            strides = 2 if stage > 0 and block == 0 else 1
            shortcut = x
            y = layers.Conv2D(
                width, 3, strides=strides, padding="same", use_bias=False, name=f"{name}_conv1"
            )(x)
            y = layers.BatchNormalization(name=f"{name}_bn1")(y)
            y = layers.Activation("relu", name=f"{name}_relu1")(y)
            y = layers.Conv2D(width, 3, padding="same", use_bias=False, name=f"{name}_conv2")(y)
            y = layers.BatchNormalization(name=f"{name}_bn2")(y)
            if strides != 1 or shortcut.shape[-1] != width:
                shortcut = layers.Conv2D(
                    width, 1, strides=strides, use_bias=False, name=f"{name}_proj"
                )(shortcut)
                shortcut = layers.BatchNormalization(name=f"{name}_proj_bn")(shortcut)
            x = layers.Add(name=f"{name}_add")([y, shortcut])
            x = layers.Activation("relu", name=f"{name}_out")(x)
    x = layers.GlobalAveragePooling2D(name="pool")(x)
    if dropout:
        x = layers.Dropout(dropout, name="dropout")(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="probs")(x)
    return keras.Model(inputs, outputs, name="small_resnet")


@register_builder("unet_xception")
def unet_xception(
    input_shape: tuple[int, ...] = (160, 160, 3), num_classes: int = 3, width: float = 1.0
) -> Any:
    """The U-Net with Xception-style blocks of Keras's segmentation example (§7.2).

    "Image segmentation with a U-Net-like architecture" (keras.io/examples/vision/
    oxford_pets_image_segmentation): an entry block (Conv2D 32, stride 2), three down
    blocks (64, 128, 256: two SeparableConv2D + BatchNormalization, MaxPooling2D, and a
    strided 1x1 Conv2D residual added back), four up blocks (256, 128, 64, 32: two
    Conv2DTranspose + BatchNormalization, UpSampling2D, and an upsampled 1x1 Conv2D
    residual), and a per-pixel Conv2D softmax over ``num_classes``.

    Args:
        input_shape: Image shape, ``(160, 160, 3)`` in the example; height and width must
            be multiples of 16.
        num_classes: Classes per pixel (3 for the Oxford-IIIT Pet trimaps).
        width: Multiplies every block's filters (1.0: the example's 32...256; 0.25 gives
            8...64, a small U-Net for tests and small images).
    """
    from cnnrun.tf_env import import_keras

    keras = import_keras()
    layers = keras.layers
    inputs = keras.Input(shape=tuple(input_shape))

    def f(filters: int) -> int:
        return max(1, round(filters * width))

    # Entry block
    x = layers.Conv2D(f(32), 3, strides=2, padding="same")(inputs)
    x = layers.BatchNormalization()(x)
    x = layers.Activation("relu")(x)
    previous_block_activation = x  # set aside residual

    # Downsampling: blocks 1, 2, 3 differ only in their depth.
    for filters in [f(64), f(128), f(256)]:
        x = layers.Activation("relu")(x)
        x = layers.SeparableConv2D(filters, 3, padding="same")(x)
        x = layers.BatchNormalization()(x)
        x = layers.Activation("relu")(x)
        x = layers.SeparableConv2D(filters, 3, padding="same")(x)
        x = layers.BatchNormalization()(x)
        x = layers.MaxPooling2D(3, strides=2, padding="same")(x)
        residual = layers.Conv2D(filters, 1, strides=2, padding="same")(previous_block_activation)
        x = layers.add([x, residual])  # add back residual
        previous_block_activation = x

    # Upsampling
    for filters in [f(256), f(128), f(64), f(32)]:
        x = layers.Activation("relu")(x)
        x = layers.Conv2DTranspose(filters, 3, padding="same")(x)
        x = layers.BatchNormalization()(x)
        x = layers.Activation("relu")(x)
        x = layers.Conv2DTranspose(filters, 3, padding="same")(x)
        x = layers.BatchNormalization()(x)
        x = layers.UpSampling2D(2)(x)
        residual = layers.UpSampling2D(2)(previous_block_activation)
        residual = layers.Conv2D(filters, 1, padding="same")(residual)
        x = layers.add([x, residual])
        previous_block_activation = x

    # Per-pixel classification
    outputs = layers.Conv2D(num_classes, 3, activation="softmax", padding="same")(x)
    return keras.Model(inputs, outputs, name="unet_xception")
