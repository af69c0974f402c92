"""Creating one Keras layer from a config entry, named as Keras would name it."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from cnnrun.config.names import safe_name
from cnnrun.config.schema import Experiment, LayerSpec
from cnnrun.errors import first_line, located


def snake(name: str) -> str:
    """``Conv2D`` -> ``conv2d``, ``BatchNormalization`` -> ``batch_normalization``."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def model_name(exp: Experiment) -> str:
    """The Keras model's name, from the experiment's name made safe (as its run folder's)."""
    return snake(safe_name(exp.name)).replace("-", "_").replace(".", "_")[:60] or "model"


def make_layer(keras: Any, spec: LayerSpec, seen: Counter, loaded: Any, path: str) -> Any:
    """Create ``keras.layers.<spec.type>(*args, **kwargs)``.

    Args:
        keras: The Keras module.
        spec: The layer's class name and arguments.
        seen: Names given so far in this model; unnamed layers get Keras's scheme
            (``conv2d``, ``conv2d_1``, ...), independent of other models in the process.
        loaded: The loaded config, to locate errors (or None).
        path: The layer's key path.

    Raises:
        ConfigError: When Keras rejects the arguments.
    """
    cls = getattr(keras.layers, spec.type)
    kwargs = dict(spec.kwargs)
    if "name" not in kwargs:
        base = snake(spec.type)
        kwargs["name"] = base if not seen[base] else f"{base}_{seen[base]}"
        seen[base] += 1
    try:
        return cls(*spec.args, **kwargs)
    except Exception as exc:
        raise located(
            loaded,
            f"Keras rejected the arguments of {spec.type}",
            f"{path}.{spec.type}",
            expected="arguments Keras accepts (see the Keras docs of this layer)",
            received=first_line(exc),
        ) from None
