"""The oneDNN guard finds strided 1x1 convolutions inside nested models (backbones) too."""

from __future__ import annotations

import pytest

from cnnrun.train.onednn_guard import native_crash_risk, strided_pointwise_convs


@pytest.fixture(scope="module")
def keras():
    from cnnrun.tf_env import import_keras

    return import_keras()


def inner_model(keras, name="inner"):
    """Conv 3x3, then a strided 1x1 projection: the pattern that crashes oneDNN."""
    inputs = keras.Input((16, 16, 4))
    x = keras.layers.Conv2D(4, 3, padding="same")(inputs)
    return keras.Model(inputs, keras.layers.Conv2D(4, 1, strides=2, name="projection")(x),
                       name=name)  # fmt: skip


def outer(keras, inner, before=True):
    inputs = keras.Input((16, 16, 4))
    x = keras.layers.Conv2D(4, 3, padding="same")(inputs) if before else inputs
    x = keras.layers.GlobalAveragePooling2D()(inner(x))
    return keras.Model(inputs, keras.layers.Dense(2)(x))


def test_a_projection_inside_a_trainable_nested_model_is_found(keras, monkeypatch):
    monkeypatch.delenv("TF_ENABLE_ONEDNN_OPTS", raising=False)
    model = outer(keras, inner_model(keras))
    assert strided_pointwise_convs(model) == ["inner/projection"]
    model.compile(loss="mse", jit_compile=False)
    assert "inner/projection" in native_crash_risk(model, gpu=False)


def test_a_projection_of_the_models_own_input_through_nesting_is_not(keras):
    inputs = keras.Input((16, 16, 4))
    first = keras.Model(inputs, keras.layers.Conv2D(4, 1, strides=2, name="p")(inputs))
    assert strided_pointwise_convs(outer(keras, first, before=False)) == []
    # the same nested model after a trainable layer: its input gradient is computed
    assert strided_pointwise_convs(outer(keras, first, before=True)) == [f"{first.name}/p"]


def test_a_frozen_backbone_counts_only_when_fine_tune_unfreezes_it(keras):
    inner = inner_model(keras)
    inner.trainable = False
    model = outer(keras, inner)
    assert strided_pointwise_convs(model) == []
    assert strided_pointwise_convs(model, unfrozen_later=True) == ["inner/projection"]


@pytest.mark.slow  # builds two 23M-parameter networks
def test_resnet50_as_a_trainable_backbone_is_found_resnet50v2_is_not(keras):
    for network, expected in (("ResNet50", True), ("ResNet50V2", False)):
        backbone = getattr(keras.applications, network)(
            weights=None, include_top=False, input_shape=(32, 32, 3)
        )
        inputs = keras.Input((32, 32, 3))
        x = keras.layers.GlobalAveragePooling2D()(backbone(keras.layers.Rescaling(1.0)(inputs)))
        found = strided_pointwise_convs(keras.Model(inputs, keras.layers.Dense(10)(x)))
        assert bool(found) is expected, (network, found)
        assert all(name.startswith(f"{backbone.name}/") for name in found)
