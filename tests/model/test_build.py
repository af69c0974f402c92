import pytest
from conftest import REPO

from cnnrun.checks import load_experiment
from cnnrun.errors import ConfigError
from cnnrun.model.build import build_model, compile_model
from cnnrun.model.describe import as_text, describe, param_counts


def _model(name, overrides=()):
    loaded = load_experiment(REPO / "configs" / name, list(overrides))
    return loaded, build_model(loaded.experiment, loaded)


def test_mnist_basic_has_the_chapter_parameter_counts():
    _, model = _model("mnist_basic.yaml")
    info = describe(model)
    by_type = [(layer["type"], layer["params"]) for layer in info["layers"]]
    assert by_type == [
        ("Conv2D", 832),
        ("MaxPooling2D", 0),
        ("Conv2D", 51264),
        ("MaxPooling2D", 0),
        ("Flatten", 0),
        ("Dense", 10250),
    ]
    assert info["params"]["total"] == model.count_params() == 832 + 51264 + 10250


def test_mnist_convnet_has_34826_parameters():
    _, model = _model("mnist_convnet.yaml")
    assert param_counts(model) == {"total": 34826, "trainable": 34826, "non_trainable": 0}


def test_batchnorm_statistics_are_non_trainable():
    _, model = _model("fashion_bn.yaml")
    counts = param_counts(model)
    assert counts["non_trainable"] > 0
    assert counts["total"] == model.count_params() == counts["trainable"] + counts["non_trainable"]


@pytest.mark.parametrize(
    ("config", "shapes"),
    [
        ("padding_valid.yaml", [[None, 24, 24, 32], [None, 12, 12, 32], [None, 8, 8, 64]]),
        ("padding_same.yaml", [[None, 28, 28, 32], [None, 14, 14, 32], [None, 14, 14, 64]]),
        ("strides_2.yaml", [[None, 14, 14, 32], [None, 7, 7, 64], [None, 3136]]),
    ],
)
def test_section4_output_shapes(config, shapes):
    _, model = _model(config)
    got = [layer["output_shape"] for layer in describe(model)["layers"][:3]]
    assert got == shapes


def test_layer_names_do_not_depend_on_earlier_builds():
    _, a = _model("mnist_basic.yaml")
    _, b = _model("mnist_basic.yaml")
    assert [la.name for la in a.layers] == [lb.name for lb in b.layers]
    assert [la.name for la in a.layers][1:3] == ["conv2d", "max_pooling2d"]


def test_too_many_poolings_name_the_layer():
    with pytest.raises(ConfigError) as err:
        _model(
            "mnist_basic.yaml",
            ["model.layers[3]={MaxPooling2D: [9, 9]}"],
        )
    assert err.value.path == "model.layers[3]"
    assert "MaxPooling2D cannot be applied to its input of shape (None, 8, 8, 64)" in str(err.value)
    assert "zero or negative" in err.value.received


def test_dense_before_flatten_is_caught_at_the_output():
    with pytest.raises(ConfigError) as err:
        _model("mnist_basic.yaml", ["model.layers[4]={Dropout: 0.1}"])
    assert err.value.path == "model.layers[5]"
    assert "output has shape (None, 4, 4, 10)" in err.value.message
    assert err.value.line == 17 and err.value.file.endswith("mnist_basic.yaml")


def test_keras_rejected_value_points_at_the_layer():
    with pytest.raises(ConfigError) as err:
        _model("mnist_basic.yaml", ["model.layers[0].Conv2D.padding=sme"])
    assert err.value.path == "model.layers[0].Conv2D"
    assert "padding" in err.value.received


def test_compile_uses_optimizer_arguments_and_loss_arguments():
    loaded, model = _model(
        "mnist_basic.yaml",
        [
            "optimizer={name: sgd, learning_rate: 0.05, momentum: 0.9}",
            "loss={name: categorical_crossentropy, label_smoothing: 0.1}",
        ],
    )
    compile_model(model, loaded.experiment, loaded)
    assert type(model.optimizer).__name__ == "SGD"
    assert float(model.optimizer.learning_rate) == pytest.approx(0.05)
    assert float(model.optimizer.momentum) == pytest.approx(0.9)
    assert type(model.loss).__name__ == "CategoricalCrossentropy"


def test_summary_text_has_every_layer_and_totals():
    _, model = _model("mnist_basic.yaml")
    text = as_text(describe(model))
    assert "Total params: 62,346" in text
    assert text.count("Conv2D") == 2 and "51,264" in text


def test_forward_flops_are_counted_by_hand_rules(tiny_config):
    from cnnrun.model.flops import model_flops

    loaded = load_experiment(tiny_config)
    model = build_model(loaded.experiment, loaded)
    conv = 2 * (10 * 10 * 4) * 9 * 1 + 10 * 10 * 4  # 2·MACs + bias per output
    pool = (5 * 5 * 4) * 4  # one per window element
    dense = 2 * 3 * 100 + 3
    assert model_flops(model) == conv + pool + dense
    assert describe(model)["flops_per_example"] == conv + pool + dense


def test_mixed_precision_keeps_the_output_layer_in_float32():
    loaded = load_experiment(REPO / "configs" / "fashion_bn.yaml")
    model = build_model(loaded.experiment, loaded, policy="mixed_bfloat16")
    assert model.layers[1].dtype_policy.name == "mixed_bfloat16"
    assert model.layers[-1].dtype_policy.name == "float32"
    assert model.output.dtype == "float32"
    import keras

    assert keras.config.dtype_policy().name == "float32"  # the global policy is restored


def test_auto_precision_rules(monkeypatch):
    from cnnrun.model import precision

    monkeypatch.setattr(precision, "gpu_with_tensor_cores", lambda: False)
    monkeypatch.setattr(precision, "cpu_flags", lambda: frozenset({"avx512f", "amx_bf16"}))
    assert precision.resolve("auto", 128, 58_000_000).policy == "mixed_bfloat16"
    assert precision.resolve("auto", 32, 58_000_000).policy == "float32"
    assert precision.resolve("auto", 128, 5_000_000).policy == "float32"
    assert precision.resolve("float32", 128, 58_000_000).policy == "float32"
    monkeypatch.setattr(precision, "cpu_flags", lambda: frozenset({"avx2"}))
    assert "no bfloat16" in precision.resolve("auto", 128, 58_000_000).reason
    monkeypatch.setattr(precision, "gpu_with_tensor_cores", lambda: True)
    assert precision.resolve("auto", 32, 1).policy == "mixed_float16"
