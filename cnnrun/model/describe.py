"""The layer table of `cnnrun summary` and `summary.txt`, and the parameter counts."""

from __future__ import annotations

import io
import math
from typing import Any

from rich.console import Console
from rich.table import Table

from cnnrun.model.flops import layer_flops, model_flops


def param_counts(model: Any) -> dict[str, int]:
    """Total, trainable and non-trainable parameters, as Keras counts them."""
    trainable = sum(math.prod(w.shape) for w in model.trainable_weights)
    non_trainable = sum(math.prod(w.shape) for w in model.non_trainable_weights)
    return {
        "total": int(model.count_params()),
        "trainable": int(trainable),
        "non_trainable": int(non_trainable),
    }


def _row(layer: Any, parent: str | None = None) -> dict[str, Any]:
    row = {
        "name": f"{parent}/{layer.name}" if parent else layer.name,
        # a keras.applications backbone shows as its network (ResNet50V2), not Functional
        "type": getattr(layer, "_cnnrun_backbone", None) or type(layer).__name__,
        "output_shape": [None if d is None else int(d) for d in layer.output.shape],
        "params": int(layer.count_params()),
        "trainable": bool(layer.trainable),
        "flops": layer_flops(layer),
    }
    if parent:
        row["parent"] = parent
    return row


def describe(model: Any, expand: bool = False) -> dict[str, Any]:
    """Every layer (name, type, output shape, parameters, forward FLOPs) and the totals.

    A nested model (a backbone) is one row with all its parameters; with ``expand`` its
    own layers follow it, named ``backbone/layer`` and marked with ``parent``.
    """
    layers = []
    for layer in model.layers:
        if type(layer).__name__ == "InputLayer":
            continue
        layers.append(_row(layer))
        if expand and hasattr(layer, "layers"):
            layers += [
                _row(sub, layer.name) for sub in layer.layers if type(sub).__name__ != "InputLayer"
            ]
    return {
        "model": model.name,
        "input_shape": [None if d is None else int(d) for d in model.inputs[0].shape],
        "layers": layers,
        "params": param_counts(model),
        "flops_per_example": model_flops(model),
    }


def _shape(shape: list[int | None]) -> str:
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ")"


def _si(n: float) -> str:
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if n >= scale:
            return f"{n / scale:.2f}{unit}"
    return str(int(n))


def table(info: dict[str, Any]) -> Table:
    """The summary as a Rich table."""
    t = Table(title=f"Model: {info['model']}  input {_shape(info['input_shape'])}")
    t.add_column("#", justify="right", style="dim")
    t.add_column("Layer")
    t.add_column("Type")
    t.add_column("Output shape")
    t.add_column("Params", justify="right")
    t.add_column("FLOPs", justify="right")
    i = 0
    for layer in info["layers"]:
        inner = "parent" in layer  # a layer inside a backbone (`summary --expand`)
        frozen = not layer["trainable"] and layer["params"] and not inner
        t.add_row(
            "" if inner else str(i),
            "  " + layer["name"].split("/", 1)[1] if inner else layer["name"],
            layer["type"] + (" (frozen)" if frozen else ""),
            _shape(layer["output_shape"]),
            f"{layer['params']:,}",
            _si(layer["flops"]),
            style="dim" if inner else None,
        )
        i += 0 if inner else 1
    p = info["params"]
    t.caption = (
        f"Total params: {p['total']:,}   Trainable: {p['trainable']:,}   "
        f"Non-trainable: {p['non_trainable']:,}\n"
        f"Forward FLOPs per example: {_si(info['flops_per_example'])} "
        "(training ≈ 3x)"
    )
    return t


def as_text(info: dict[str, Any], width: int = 100) -> str:
    """The summary table rendered as plain text (for ``summary.txt``)."""
    buf = io.StringIO()
    Console(file=buf, width=width, color_system=None, legacy_windows=False).print(table(info))
    return buf.getvalue()
