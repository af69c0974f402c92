"""A keypoint model's output may be any shape of 2 x joints values, e.g. (1, 1, 48) (§7.3)."""

import numpy as np
import pytest
import yaml

from cnnrun.checks import load_experiment
from cnnrun.errors import ConfigError

CONV = {"Conv2D": {"filters": 8, "kernel_size": 3, "activation": "relu"}}  # 16 -> 14


def _experiment(tmp_path, layers, loss="mse"):
    config = {
        "task": "keypoints",
        "data": {"dataset": "synthetic", "batch_size": 4},
        "model": {"input_shape": [16, 16, 3], "layers": [CONV, "MaxPooling2D", *layers]},
        "loss": loss,
        "metrics": ["keypoint_error_px", "pck"],
    }
    path = tmp_path / "kp.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return load_experiment(path)


def _built(tmp_path, layers, loss="mse"):
    from cnnrun.model.build import build_model, compile_model

    loaded = _experiment(tmp_path, layers, loss)
    model = build_model(loaded.experiment, loaded)
    compile_model(model, loaded.experiment, loaded)
    return model


# 7x7 after the pooling: a 7x7 convolution gives the example's (1, 1, values) output
HEAD_1x1 = [{"Conv2D": {"filters": 12, "kernel_size": 7, "activation": "sigmoid"}}]
HEAD_FLAT = [*HEAD_1x1, "Flatten"]
HEAD_PAIRS = [*HEAD_1x1, {"Reshape": {"target_shape": [6, 2]}}]


@pytest.mark.parametrize(
    ("head", "shape"),
    [(HEAD_1x1, (None, 1, 1, 12)), (HEAD_FLAT, (None, 12)), (HEAD_PAIRS, (None, 6, 2))],
)
def test_any_output_of_two_values_per_joint_builds(tmp_path, head, shape):
    from cnnrun.model.outputs import output_classes

    model = _built(tmp_path, head)
    assert tuple(model.output.shape) == shape
    assert output_classes(model, "keypoints") == 12  # what the data loaders compare


def test_an_odd_number_of_values_is_a_located_error_naming_the_layer(tmp_path):
    from cnnrun.model.build import build_model

    odd = [{"Conv2D": {"filters": 11, "kernel_size": 7, "activation": "sigmoid"}}]
    loaded = _experiment(tmp_path, odd)
    with pytest.raises(ConfigError) as info:
        build_model(loaded.experiment, loaded)
    text = info.value.render()
    assert "model.layers[2]" in text and "Conv2D" in text
    assert "(None, 1, 1, 11)" in text and "2 * joints" in text


@pytest.mark.parametrize("loss", ["mse", "visible_mse"])
def test_loss_and_metrics_read_any_shape_as_joints(tmp_path, loss):
    """The same values as (N, 12), (N, 1, 1, 12) and (N, 6, 2) give the same loss and metrics."""
    rng = np.random.default_rng(0)
    y_true = np.zeros((5, 6, 3), np.float32)
    y_true[..., :2] = rng.uniform(size=(5, 6, 2))
    y_true[..., 2] = rng.uniform(size=(5, 6)) > 0.3
    y_true = y_true.reshape(5, 18)
    flat = rng.uniform(size=(5, 12)).astype(np.float32)
    models = {head: _built(tmp_path, h, loss) for head, h in
              (("1x1", HEAD_1x1), ("flat", HEAD_FLAT), ("pairs", HEAD_PAIRS))}  # fmt: skip
    shaped = {"1x1": flat.reshape(5, 1, 1, 12), "flat": flat, "pairs": flat.reshape(5, 6, 2)}
    from cnnrun.model.losses import keypoint_error_px, pck

    figures = {}
    for head, model in models.items():
        values = [float(model.loss(y_true, shaped[head]))]
        for metric in (keypoint_error_px((16, 16)), pck((16, 16))):
            metric.update_state(y_true, shaped[head])
            values.append(float(metric.result()))
        figures[head] = values
    assert figures["1x1"] == pytest.approx(figures["flat"], rel=1e-6)
    assert figures["pairs"] == pytest.approx(figures["flat"], rel=1e-6)
    true_xy = y_true.reshape(5, 6, 3)[..., :2].reshape(5, 12)
    if loss == "mse":  # every coordinate, as the example's mse on (1, 1, 48) targets
        assert figures["1x1"][0] == pytest.approx(float(np.mean((flat - true_xy) ** 2)), rel=1e-5)
