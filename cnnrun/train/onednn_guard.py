"""A refusal before training, instead of a native crash of TensorFlow 2.21 on CPUs.

With TensorFlow 2.21.0 / Keras 3.15.1 on a CPU, oneDNN's kernels abort the process
("double free or corruption", exit 134, or a segmentation fault, exit 139) inside Keras's
train function when a model has a 1x1 ``Conv2D`` with strides > 1 that is not applied to
the model's input (its input gradient is computed) and an epoch ends with a partial
batch. Reproduced with plain ``model.fit`` on random arrays (64x64, batches of 32):
``Conv2D(3x3) -> Conv2D(1x1, strides=2) -> UpSampling2D`` crashes with 33, 34 and 35
examples; the §7.2 U-Net (``unet_xception``, whose residual projections are such layers,
width 0.25) crashes with 33, 45, 51 and 97, though 46 and 48 ran. Neither crashes with
``TF_ENABLE_ONEDNN_OPTS=0`` (TensorFlow's own kernels) or ``jit_compile=True`` (XLA); a
3x3 strided convolution, or a 1x1 one on the input, does not crash.

Python cannot catch the crash (``run.json`` would stay at ``running``), so the trainer
asks :func:`partial_batch_crash` first. With ``jit_compile: auto`` (Keras's choice: off
on a CPU, on with a GPU) it then trains with XLA, as Keras itself does on a GPU, and says
so; with ``jit_compile: false`` it stops with :func:`refusal` before the run folder is
made. Which partial batches crash is not predictable (the §7.2 U-Net at 160x160 trained
with 40 examples, a last batch of 8), so every partial last batch counts.
"""

from __future__ import annotations

import os
from typing import Any

ONEDNN_ENV = "TF_ENABLE_ONEDNN_OPTS"


def onednn_enabled() -> bool:
    """Whether TensorFlow's oneDNN CPU kernels are on (its default on x86 Linux)."""
    return os.environ.get(ONEDNN_ENV, "1").strip().lower() not in ("0", "false", "off")


def strided_pointwise_convs(model: Any) -> list[str]:
    """The names of the 1x1 ``Conv2D`` layers with strides > 1 that do not read an input."""
    inputs = {id(t) for t in model.inputs}
    found = []
    for layer in model.layers:
        if type(layer).__name__ != "Conv2D":
            continue
        config = layer.get_config()
        if tuple(config.get("kernel_size", ())) != (1, 1):
            continue
        if all(int(s) == 1 for s in config.get("strides", (1, 1))):
            continue
        try:
            reads_input = id(layer.input) in inputs
        except (AttributeError, ValueError):  # a shared layer: several inputs
            reads_input = False
        if not reads_input:
            found.append(layer.name)
    return found


def partial_batch_crash(model: Any, n_train: int, batch_size: int, *, gpu: bool) -> str | None:
    """Why training ``model`` may crash natively here, or None when it would not.

    Args:
        model: The compiled model (its ``jit_compile`` is Keras's resolved choice).
        n_train: Training examples per epoch.
        batch_size: Examples per batch (the last batch has ``n_train % batch_size``).
        gpu: Whether TensorFlow trains on a GPU (the crash is in oneDNN's CPU kernels).
    """
    last = n_train % batch_size
    if gpu or not onednn_enabled() or getattr(model, "jit_compile", False) is True:
        return None
    if last == 0:
        return None
    layers = strided_pointwise_convs(model)
    if not layers:
        return None
    return (
        f"TensorFlow 2.21's oneDNN CPU kernels may abort the process (double free, "
        f"segmentation fault) on an epoch's partial last batch ({last} of {n_train} training "
        f"examples in batches of {batch_size}) through a 1x1 Conv2D with strides > 1 "
        f"({layers[0]})"
    )


def refusal(reason: str, batch_size: int) -> str:
    """The error for ``jit_compile: false``: the reason and what to change."""
    return (
        f"training may crash: {reason}. Run with {ONEDNN_ENV}=0 in the environment (the "
        "same computation with TensorFlow's own kernels), or set jit_compile: true or auto "
        f"(XLA), or make the training set a multiple of {batch_size} (data.train_limit, "
        "data.limit)"
    )
