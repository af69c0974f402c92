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


@functools.cache
def load() -> dict[str, Any]:
    """Return the shipped catalog.

    Its keys: ``keras_version``, ``layers``, ``optimizers``, ``callbacks`` (each mapping a
    name to ``{"params": [...], "required": [...]}``), ``losses`` and ``metrics`` (lists).
    """
    return json.loads(CATALOG_FILE.read_text(encoding="utf-8"))


def _params(cls: type, base: type | None = None) -> dict[str, list[str]]:
    names: list[str] = []
    required: list[str] = []
    for klass in (cls, base) if base else (cls,):
        for p in list(inspect.signature(klass.__init__).parameters.values())[1:]:
            if p.kind in (p.VAR_KEYWORD, p.VAR_POSITIONAL) or p.name in names:
                continue
            names.append(p.name)
            if p.default is p.empty and klass is cls:
                required.append(p.name)
    return {"params": names, "required": required}


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
    return {
        "keras_version": keras.__version__,
        "callbacks": callbacks,
        "layers": layers,
        "optimizers": optimizers,
        "losses": sorted(n for n in LOSSES if n[:1].islower() and n != "deserialize"),
        "metrics": sorted(
            {"accuracy", "acc", *(n for n in METRICS if n[:1].islower())}
            - {"metric", "mean_metric_wrapper"}
        ),
    }


def main() -> None:
    """Regenerate ``keras_catalog.json`` from the installed Keras."""
    CATALOG_FILE.write_text(json.dumps(generate(), indent=1, sort_keys=True) + "\n")
    print(f"wrote {CATALOG_FILE}")


if __name__ == "__main__":
    main()
