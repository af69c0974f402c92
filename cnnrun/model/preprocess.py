"""The preprocessing layer placed before a ``keras.applications`` backbone.

Imports Keras (and so TensorFlow): import it only where a model is built or loaded.
Loading a saved cnnrun model that holds it needs this module imported first
(``keras.saving.load_model`` then finds ``cnnrun>BackbonePreprocess`` by name).
"""

from __future__ import annotations

from typing import Any

from cnnrun.tf_env import import_keras

keras = import_keras()


@keras.saving.register_keras_serializable(package="cnnrun")
class BackbonePreprocess(keras.layers.Layer):
    """Rescale images, then apply a ``keras.applications`` network's ``preprocess_input``.

    cnnrun feeds ``uint8`` images divided by 255; the networks' ``preprocess_input``
    expects pixel values in 0..255 (ResNetV2 and MobileNet map them to [-1, 1], VGG and
    ResNet convert RGB to BGR and subtract the ImageNet means, DenseNet standardises,
    EfficientNet and ConvNeXt do it inside the network and leave them unchanged).

    Args:
        module: The ``keras.applications`` module of the network, e.g. ``resnet_v2``.
        scale: Multiplier applied first (255 turns [0, 1] into 0..255).

    Example:
        >>> layer = BackbonePreprocess("resnet_v2")
        >>> float(layer(keras.ops.ones((1, 2, 2, 3)))[0, 0, 0, 0])
        1.0
    """

    def __init__(self, module: str, scale: float = 255.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.module = module
        self.scale = float(scale)
        self._preprocess = getattr(keras.applications, module).preprocess_input

    def call(self, inputs: Any) -> Any:
        return self._preprocess(inputs * self.scale)

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "module": self.module, "scale": self.scale}
