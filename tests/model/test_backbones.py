"""keras.applications backbones as layers (§6.3-6.4): weights, freezing, preprocessing.

There is no network and no ImageNet file here: the tests save a randomly initialised
MobileNetV2 (alpha 0.35, 32x32, ~0.4M parameters) and load it back by path, and put fake
file names in a temporary KERAS_HOME to check where ImageNet weights are looked for.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO, loaded_after
from typer.testing import CliRunner

from cnnrun import catalog
from cnnrun.checks import load_experiment
from cnnrun.cli.app import app
from cnnrun.errors import ConfigError
from cnnrun.model import backbones

runner = CliRunner()
# MobileNetV2 below 96x96 loads the 224x224 ImageNet weights (Keras warns).
MNV2_NOTOP_32 = "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_224_no_top.h5"

EXPERIMENT = """\
name: backbone
seed: 3
data: {{dataset: synthetic, limit: 48, test_limit: 16, batch_size: 8, validation_split: 0.25}}
model:
  input_shape: [32, 32, 3]
  layers:
    - MobileNetV2: {{alpha: 0.35, include_top: false, pooling: avg, {args}}}
    - Dense: {{units: 3, activation: softmax}}
optimizer: {{name: sgd, learning_rate: 0.05}}
epochs: 1
"""


@pytest.fixture(autouse=True)
def offline_keras_home(tmp_path, monkeypatch):
    """An empty Keras cache, and never a download attempt."""
    home = tmp_path / "keras_home"
    (home / "models").mkdir(parents=True)
    monkeypatch.setenv("KERAS_HOME", str(home))
    monkeypatch.setenv(backbones.OFFLINE_ENV, "1")
    return home


def write(folder: Path, args: str, name: str = "exp.yaml") -> Path:
    path = folder / name
    path.write_text(EXPERIMENT.format(args=args))
    return path


def keras():  # noqa: ANN201
    from cnnrun.tf_env import import_keras

    return import_keras()


@pytest.fixture(scope="module")
def saved_weights(tmp_path_factory) -> tuple[Path, list[np.ndarray]]:
    """A random MobileNetV2 (alpha 0.35, 32x32, no top) saved as .weights.h5."""
    k = keras()
    k.utils.set_random_seed(123)
    net = k.applications.MobileNetV2(
        input_shape=(32, 32, 3), alpha=0.35, include_top=False, weights=None, pooling="avg"
    )
    path = tmp_path_factory.mktemp("weights") / "mnv2.weights.h5"
    net.save_weights(path)
    return path, [w.copy() for w in net.get_weights()]


def build(path: Path, overrides: list[str] | None = None):  # noqa: ANN201
    from cnnrun.model.build import build_model

    loaded = load_experiment(path, overrides)
    return build_model(loaded.experiment, loaded), loaded


def test_catalog_lists_the_applications_with_arguments_and_weight_files():
    apps = catalog.load()["applications"]
    assert {"ResNet50V2", "VGG19", "MobileNetV2", "EfficientNetB0", "ConvNeXtTiny"} <= set(apps)
    assert {"include_top", "weights", "pooling", "classes", "input_shape"} <= set(
        apps["ResNet50V2"]["params"]
    )
    assert "input_tensor" not in apps["ResNet50V2"]["params"]
    assert apps["ResNet50V2"]["module"] == "resnet_v2"
    assert apps["VGG19"]["weights"] == {
        "top": "vgg19_weights_tf_dim_ordering_tf_kernels.h5",
        "notop": "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5",
    }
    assert backbones.imagenet_file_name("ResNet50V2", include_top=False) == (
        "resnet50v2_weights_tf_dim_ordering_tf_kernels_notop.h5"
    )


def test_cached_weights_are_found_in_keras_home(offline_keras_home, monkeypatch, tmp_path):
    name = backbones.imagenet_file_name("ResNet50V2", include_top=False)
    assert backbones.weights_cache_dir() == offline_keras_home / "models"
    assert backbones.find_cached_weights(name) is None
    (offline_keras_home / "models" / name).write_bytes(b"not really weights")
    assert backbones.find_cached_weights(name) == offline_keras_home / "models" / name
    monkeypatch.delenv("KERAS_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert backbones.weights_cache_dir() == tmp_path / "home" / ".keras" / "models"


def test_a_cached_imagenet_file_is_the_one_keras_loads(offline_keras_home, tmp_path):
    """The fake file in $KERAS_HOME/models is found and handed to Keras (which rejects it)."""
    fake = offline_keras_home / "models" / MNV2_NOTOP_32
    fake.write_bytes(b"not an HDF5 file")
    with pytest.raises(ConfigError) as info:
        build(write(tmp_path, "weights: imagenet"))
    err = info.value
    assert err.path == "model.layers[0].MobileNetV2.weights"
    assert err.message.startswith("the cached ImageNet weights of MobileNetV2 cannot be loaded")
    assert str(fake) in err.expected


def test_missing_imagenet_weights_fail_fast_with_the_file_name(offline_keras_home, tmp_path):
    config = tmp_path / "in.yaml"
    config.write_text(
        textwrap.dedent(
            """\
            name: imagenet
            data: {dataset: synthetic, limit: 16, test_limit: 8, batch_size: 8}
            model:
              input_shape: [32, 32, 3]
              layers:
                - ResNet50V2: {include_top: false, weights: imagenet, pooling: avg}
                - Dense: {units: 10, activation: softmax}
            """
        )
    )
    runs = tmp_path / "runs"
    res = runner.invoke(app, ["train", str(config), "--smoke", "--runs-dir", str(runs)])
    assert res.exit_code == 2, res.output
    text = " ".join(res.output.split())
    assert f"{config}:6: model.layers[0].ResNet50V2.weights:" in text
    assert "resnet50v2_weights_tf_dim_ordering_tf_kernels_notop.h5" in text
    assert str(offline_keras_home / "models") in text
    assert "weights: null" in text
    assert not runs.exists()  # nothing created before the error


def test_weights_path_is_loaded_relative_to_the_experiment_file(saved_weights, tmp_path):
    path, arrays = saved_weights
    folder = tmp_path / "exp"
    folder.mkdir()
    (folder / "w").mkdir()
    (folder / "w" / "mnv2.weights.h5").write_bytes(path.read_bytes())
    model, loaded = build(write(folder, "weights: w/mnv2.weights.h5"))
    spec = loaded.experiment.model.layers[0]
    assert spec.kwargs["weights"] == str(folder / "w" / "mnv2.weights.h5")  # made absolute
    net = model.get_layer("mobilenetv2_0.35_32")
    loaded_arrays = net.get_weights()
    assert len(loaded_arrays) == len(arrays)
    assert all(np.array_equal(a, b) for a, b in zip(loaded_arrays, arrays, strict=True))
    fresh, _ = build(write(tmp_path, "weights: null"))
    other = fresh.get_layer("mobilenetv2_0.35_32").get_weights()
    assert not all(np.array_equal(a, b) for a, b in zip(other, arrays, strict=True))


def test_weights_path_from_the_command_line_is_relative_to_the_current_folder(
    saved_weights, tmp_path, monkeypatch
):
    path, arrays = saved_weights
    monkeypatch.chdir(path.parent)
    config = write(tmp_path, "weights: null")
    model, loaded = build(config, [f"model.layers[0].MobileNetV2.weights={path.name}"])
    assert loaded.experiment.model.layers[0].kwargs["weights"] == str(path)
    first = model.get_layer("mobilenetv2_0.35_32").get_weights()[0]
    assert np.array_equal(first, arrays[0])


def test_weights_from_a_whole_saved_keras_model(saved_weights, tmp_path):
    """A .keras file of a whole model (a cnnrun checkpoint) gives its backbone's weights."""
    path, arrays = saved_weights
    model, _ = build(write(tmp_path, f"weights: {path}"))
    whole = tmp_path / "whole.keras"
    model.save(whole)
    other, _ = build(write(tmp_path, f"weights: {whole}", "again.yaml"))
    got = other.get_layer("mobilenetv2_0.35_32").get_weights()
    assert all(np.array_equal(a, b) for a, b in zip(got, arrays, strict=True))


@pytest.mark.parametrize(
    ("args", "path", "message"),
    [
        ("weights: nowhere.weights.h5", "model.layers[0].MobileNetV2.weights",
         "the weights file does not exist"),
        ("weights: notes.txt", "model.layers[0].MobileNetV2.weights", "not a weights file"),
        ("weights: imagenett", "model.layers[0].MobileNetV2.weights", "invalid value"),
        ("poolng: avg", "model.layers[0].MobileNetV2.poolng",
         "MobileNetV2 has no argument 'poolng'"),
        ("trainable: 0", "model.layers[0].MobileNetV2.trainable", "invalid value"),
        ("weights: null, input_tensor: 3", "model.layers[0].MobileNetV2.input_tensor",
         "MobileNetV2 has no argument 'input_tensor'"),
    ],
)  # fmt: skip
def test_backbone_arguments_are_checked_without_tensorflow(tmp_path, args, path, message):
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(ConfigError) as info:
        load_experiment(write(tmp_path, args))
    assert info.value.path == path
    assert info.value.message == message
    assert info.value.line == 7


def test_misspelt_backbone_name_gets_a_suggestion(tmp_path):
    config = tmp_path / "exp.yaml"
    config.write_text(
        "model:\n  input_shape: [32, 32, 3]\n  layers:\n    - ResNet50v2: {weights: null}\n"
    )
    with pytest.raises(ConfigError) as info:
        load_experiment(config)
    assert info.value.render().splitlines()[0] == (
        f"{config}:4: model.layers[0]: unknown layer 'ResNet50v2'. Did you mean 'ResNet50V2'?"
    )


def test_preprocess_scales_to_0_255_then_applies_the_networks_own():
    from cnnrun.model.preprocess import BackbonePreprocess

    half = np.full((1, 1, 1, 3), 0.5, "float32")
    assert np.allclose(BackbonePreprocess("resnet_v2")(half), 0.0)  # tf mode: [-1, 1]
    caffe = np.asarray(BackbonePreprocess("vgg19")(half))[0, 0, 0]
    assert np.allclose(caffe, [127.5 - 103.939, 127.5 - 116.779, 127.5 - 123.68])  # BGR
    assert np.allclose(BackbonePreprocess("efficientnet")(half), 127.5)  # rescales inside


def test_stack_backbone_summary_is_one_row_with_keras_counts(saved_weights, tmp_path):
    path, _ = saved_weights
    config = write(tmp_path, f"weights: {path}, trainable: false")
    res = runner.invoke(app, ["summary", str(config), "--json"])
    assert res.exit_code == 0, res.output
    info = json.loads(res.output)
    rows = {row["name"]: row for row in info["layers"]}
    assert list(rows) == ["mobilenetv2_0.35_32_preprocess", "mobilenetv2_0.35_32", "dense"]
    backbone = rows["mobilenetv2_0.35_32"]
    assert backbone["type"] == "MobileNetV2" and backbone["trainable"] is False
    model, _ = build(config)
    net = model.get_layer("mobilenetv2_0.35_32")
    assert backbone["params"] == net.count_params() == 410_208
    head = 1280 * 3 + 3
    assert info["params"] == {
        "total": model.count_params(),
        "trainable": head,
        "non_trainable": model.count_params() - head,
    }
    expanded = runner.invoke(app, ["summary", str(config), "--json", "--expand"])
    inner = [r for r in json.loads(expanded.output)["layers"] if r.get("parent")]
    assert len(inner) == len(net.layers) - 1  # every layer but its InputLayer
    assert inner[0]["name"].startswith("mobilenetv2_0.35_32/")
    table = runner.invoke(app, ["summary", str(config), "--expand"])
    assert "(frozen)" in table.output and "Conv1" in table.output


def test_frozen_backbone_is_unchanged_by_training_and_the_head_learns(saved_weights, tmp_path):
    path, arrays = saved_weights
    config = write(tmp_path, f"weights: {path}, trainable: false")
    runs = tmp_path / "runs"
    res = runner.invoke(app, ["train", str(config), "--smoke", "--runs-dir", str(runs)])
    assert res.exit_code == 0, res.output
    run = runs / res.output.strip().splitlines()[-1].rsplit("/", 1)[-1]
    from cnnrun.model.preprocess import BackbonePreprocess  # noqa: F401 - registers it

    trained = keras().saving.load_model(run / "checkpoints" / "last.keras", compile=False)
    net = trained.get_layer("mobilenetv2_0.35_32")
    # moving means and variances too: BatchNormalization stayed in inference mode
    assert all(np.array_equal(a, b) for a, b in zip(net.get_weights(), arrays, strict=True))
    model, _ = build(config)
    head_before = model.get_layer("dense").get_weights()[0]
    assert not np.array_equal(trained.get_layer("dense").get_weights()[0], head_before)
    results = json.loads((run / "results.json").read_text())
    assert results["params"]["trainable"] == 1280 * 3 + 3


def test_backbone_as_a_graph_node_is_named_by_the_node(saved_weights, tmp_path):
    path, arrays = saved_weights
    config = tmp_path / "graph.yaml"
    config.write_text(
        textwrap.dedent(
            f"""\
            model:
              inputs: {{image: [32, 32, 3]}}
              graph:
                - name: features
                  layer: {{MobileNetV2: {{alpha: 0.35, include_top: false, pooling: avg,
                                         weights: {path}, trainable: false}}}}
                  input: image
                - {{name: probs, layer: {{Dense: {{units: 4, activation: softmax}}}},
                   input: features}}
            """
        )
    )
    model, _ = build(config)
    assert [layer.name for layer in model.layers] == [
        "image",
        "features_preprocess",
        "features",
        "probs",
    ]
    assert np.array_equal(model.get_layer("features").get_weights()[0], arrays[0])
    assert not model.get_layer("features").trainable


def test_listing_backbones_and_validating_need_no_tensorflow(tmp_path):
    config = write(tmp_path, "weights: imagenet, trainable: false")
    shipped = [
        str(REPO / "configs" / f"{name}.yaml")
        for name in ("fashion_residual", "fashion_inception", "fashion_small_resnet")
    ]
    out = CliRunner().invoke(app, ["list", "backbones"]).output
    assert "ResNet50V2" in out and "VGG19" in out, out
    commands = [["list", "backbones"], ["validate", str(config), *shipped]]
    assert loaded_after(commands, ("tensorflow", "keras")) == []


@pytest.mark.slow
def test_every_catalog_weight_file_name_is_the_one_keras_asks_for(monkeypatch):
    """Builds every keras.applications network (~2 min) to catch a Keras upgrade."""
    k = keras()
    for name, app_info in catalog.load()["applications"].items():
        for top in (False, True):
            with pytest.raises(backbones.MissingWeights) as info:
                with backbones._weights_from_cache():
                    getattr(k.applications, name)(include_top=top, weights="imagenet")
            assert info.value.file_name == app_info["weights"]["top" if top else "notop"]
            k.backend.clear_session()


def test_summary_and_validate_build_work_without_the_imagenet_file(tmp_path):
    """Shapes need no weights: summary and validate --build build with random ones."""
    config = write(tmp_path, "weights: imagenet")
    res = runner.invoke(app, ["summary", str(config)])
    assert res.exit_code == 0, res.output
    assert "(ImageNet weights not found: not loaded)" in res.output
    assert MNV2_NOTOP_32 in " ".join(res.output.split())
    res = runner.invoke(app, ["summary", str(config), "--json"])
    assert res.exit_code == 0, res.output
    info = json.loads(res.stdout)
    assert info["weights_not_loaded"] == [{"network": "MobileNetV2", "file": MNV2_NOTOP_32}]
    res = runner.invoke(app, ["validate", "--build", str(config)])
    assert res.exit_code == 0, res.output
    assert "ok" in res.output and "(ImageNet weights not found: not loaded)" in res.output
    # training still needs the weights: exit 2 naming the file, no run folder
    runs = tmp_path / "runs"
    res = runner.invoke(app, ["train", str(config), "--smoke", "--runs-dir", str(runs)])
    assert res.exit_code == 2, res.output
    assert MNV2_NOTOP_32 in " ".join(res.output.split())
    assert not runs.exists()


def test_preprocess_follows_the_pixel_range(tmp_path):
    """data.pixel_range: raw feeds 0..255, so the preprocessing multiplies by 1, not 255."""
    text = EXPERIMENT.format(args="weights: null").replace(
        "validation_split: 0.25}", "validation_split: 0.25, pixel_range: raw}"
    )
    (tmp_path / "raw.yaml").write_text(text)
    model, _ = build(tmp_path / "raw.yaml")
    layer = model.get_layer("mobilenetv2_0.35_32_preprocess")
    assert layer.scale == 1.0
    pixels = np.full((1, 32, 32, 3), 127.5, "float32")
    assert np.allclose(layer(pixels), 0.0)  # MobileNetV2's [-1, 1]: 127.5 is its middle
    model, _ = build(write(tmp_path, "weights: null"))
    assert model.get_layer("mobilenetv2_0.35_32_preprocess").scale == 255.0
