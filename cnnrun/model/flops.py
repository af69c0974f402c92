"""Forward FLOPs per example, counted layer by layer from the built model's shapes.

How we count (documented in the README):
- A multiply-accumulate is 2 FLOPs. Conv1D/2D/3D, Conv2DTranspose, DepthwiseConv2D,
  SeparableConv2D and Dense count 2 · MACs, plus one FLOP per output value for the bias.
- Normalization, pooling, activations, merges (Add, Concatenate, ...) and other layers count
  one FLOP per output value (per input value for pooling windows: 1 per window element).
- Reshape-only layers (Flatten, Reshape, Dropout at inference, InputLayer) count 0.
- Training costs about 3x the forward pass (forward + backward for activations and
  weights), so training FLOP/s = 3 · forward FLOPs per example · examples per second.
Nested models (backbones) are counted through their own layers.
"""

from __future__ import annotations

import math
from typing import Any

FREE = {
    "InputLayer", "Flatten", "Reshape", "Dropout", "SpatialDropout1D", "SpatialDropout2D",
    "SpatialDropout3D", "GaussianDropout", "GaussianNoise", "AlphaDropout", "Permute",
    "Identity", "ActivityRegularization", "Cropping1D", "Cropping2D", "Cropping3D",
    "ZeroPadding1D", "ZeroPadding2D", "ZeroPadding3D",
}  # fmt: skip


def _size(shape: Any) -> int:
    return math.prod(int(d) for d in shape[1:] if d is not None)


def _shapes(tensor_or_list: Any) -> list[Any]:
    items = tensor_or_list if isinstance(tensor_or_list, list | tuple) else [tensor_or_list]
    return [t.shape for t in items]


def layer_flops(layer: Any) -> int:
    """Forward FLOPs of one layer for one example (see the module docstring)."""
    kind = type(layer).__name__
    if hasattr(layer, "layers") and not hasattr(layer, "kernel"):  # a nested model
        return sum(layer_flops(sub) for sub in layer.layers)
    if kind in FREE:
        return 0
    out = sum(_size(s) for s in _shapes(layer.output))
    in_shapes = _shapes(layer.input)
    bias = out if getattr(layer, "use_bias", False) else 0
    if kind == "Dense":
        return 2 * out * int(in_shapes[0][-1]) + bias
    if kind.startswith(("Conv", "Convolution")):
        kernel = layer.kernel.shape  # (*k, in/groups, out) ; transposed: (*k, out, in)
        per_out = math.prod(int(d) for d in kernel[:-2])
        fan_in = int(kernel[-1] if "Transpose" in kind else kernel[-2])
        return 2 * out * per_out * fan_in + bias
    if kind.startswith("DepthwiseConv"):
        per_out = math.prod(int(d) for d in layer.kernel.shape[:-2])
        return 2 * out * per_out + bias
    if kind.startswith("SeparableConv"):
        depth = layer.depthwise_kernel.shape
        k = math.prod(int(d) for d in depth[:-2])
        spatial_out = out // int(layer.pointwise_kernel.shape[-1])
        channels_mid = int(depth[-2]) * int(depth[-1])
        return 2 * spatial_out * channels_mid * k + 2 * out * channels_mid + bias
    if "Pooling" in kind and "Global" not in kind:
        pool = getattr(layer, "pool_size", (1,))
        return out * math.prod(int(p) for p in pool)
    if "Global" in kind:
        return sum(_size(s) for s in in_shapes)
    return out


def model_flops(model: Any) -> int:
    """Forward FLOPs of the whole model for one example."""
    return sum(layer_flops(layer) for layer in model.layers)
