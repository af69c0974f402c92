"""Training with XLA, or a refusal, instead of a native crash of TensorFlow 2.21 on CPUs.

With TensorFlow 2.21.0 / Keras 3.15.1 on a CPU, oneDNN's kernels can abort the process
("double free or corruption", exit 134, or a segmentation fault, exit 139) inside Keras's
train function when a model has a 1x1 ``Conv2D`` with strides > 1 that is not applied to
the model's input (its input gradient is computed). Reproduced with plain ``model.fit``
on random arrays (64x64, batches of 32, Adam): ``Conv2D(3x3) -> Conv2D(1x1, strides=2)
-> UpSampling2D`` crashes with 30, 32, 33, 34, 35 and 64 examples; the §7.2 U-Net
(``unet_xception``, whose residual projections are such layers, width 0.25) crashes with
33, 45, 51 and 97 examples but ran with 30, 46 and 48 (and at 160x160, width 1, with
40). Neither crashes with ``TF_ENABLE_ONEDNN_OPTS=0`` (TensorFlow's own kernels) or
``jit_compile=True`` (XLA); a strided 3x3 convolution, or a 1x1 one on the input, does
not crash. Which shapes crash is not predictable, so every such model counts.

Python cannot catch the crash (``run.json`` would stay at ``running``), so the trainer
asks :func:`native_crash_risk` first. With ``jit_compile: auto`` (Keras's choice: off on
a CPU, on with a GPU) it then trains with XLA, as Keras itself does on a GPU, and says
so; with ``jit_compile: false`` it stops with :func:`refusal` before the run folder is
made.
"""

from __future__ import annotations

import os
from typing import Any

ONEDNN_ENV = "TF_ENABLE_ONEDNN_OPTS"


def onednn_enabled() -> bool:
    """Whether TensorFlow's oneDNN CPU kernels are on (its default on x86 Linux)."""
    return os.environ.get(ONEDNN_ENV, "1").strip().lower() not in ("0", "false", "off")


def strided_pointwise_convs(model: Any, *, unfrozen_later: bool = False) -> list[str]:
    """The names of the 1x1 ``Conv2D`` layers with strides > 1 that do not read an input.

    Nested models (a ``keras.applications`` backbone such as ResNet50 or Xception, whose
    residual projections are such layers) are searched too, as ``backbone/layer``; a
    frozen one only when ``unfrozen_later`` (``fine_tune`` trains it in a second phase).
    """
    return _strided_pointwise(model, {id(t) for t in model.inputs}, "", unfrozen_later)


def _strided_pointwise(
    model: Any, inputs: set[int], prefix: str, unfrozen_later: bool
) -> list[str]:
    found = []
    for layer in model.layers:
        if hasattr(layer, "layers") and hasattr(layer, "inputs"):  # a nested model
            if layer.trainable or unfrozen_later:
                inner = {id(t) for t in layer.inputs} if _reads(layer, inputs) else set()
                found += _strided_pointwise(layer, inner, f"{prefix}{layer.name}/", unfrozen_later)
            continue
        if type(layer).__name__ != "Conv2D":
            continue
        config = layer.get_config()
        if tuple(config.get("kernel_size", ())) != (1, 1):
            continue
        if all(int(s) == 1 for s in config.get("strides", (1, 1))):
            continue
        if not _reads(layer, inputs):
            found.append(f"{prefix}{layer.name}")
    return found


def _reads(layer: Any, inputs: set[int]) -> bool:
    """Whether ``layer`` is applied (once) to one of ``inputs`` (a model's input tensors)."""
    # A nested model's `.input` is its own inner Input, not what it was called on; the
    # call's node holds that (Keras 3 keeps one node per call).
    nodes = getattr(layer, "_inbound_nodes", None)
    if isinstance(nodes, list) and len(nodes) == 1 and hasattr(nodes[0], "input_tensors"):
        tensors = list(nodes[0].input_tensors)
        return bool(tensors) and all(id(t) in inputs for t in tensors)
    try:
        return id(layer.input) in inputs
    except (AttributeError, ValueError):  # a shared layer: several inputs
        return False


def native_crash_risk(model: Any, *, gpu: bool, unfrozen_later: bool = False) -> str | None:
    """Why training ``model`` may crash natively here, or None when it would not.

    Args:
        model: The compiled model (its ``jit_compile`` is Keras's resolved choice).
        gpu: Whether TensorFlow trains on a GPU (the crash is in oneDNN's CPU kernels).
        unfrozen_later: Whether frozen backbones are trained in a later phase (``fine_tune``).
    """
    if gpu or not onednn_enabled() or getattr(model, "jit_compile", False) is True:
        return None
    layers = strided_pointwise_convs(model, unfrozen_later=unfrozen_later)
    if not layers:
        return None
    return (
        "TensorFlow 2.21's oneDNN CPU kernels may abort the process (double free, "
        "segmentation fault) training a 1x1 Conv2D with strides > 1 after the input "
        f"({layers[0]}), at some batch sizes"
    )


def refusal(reason: str) -> str:
    """The error for ``jit_compile: false``: the reason and what to change."""
    return (
        f"training may crash: {reason}. Run with {ONEDNN_ENV}=0 in the environment (the "
        "same computation with TensorFlow's own kernels), or set jit_compile: true or auto "
        "(XLA)"
    )
