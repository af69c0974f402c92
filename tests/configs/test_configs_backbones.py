"""The shipped configs with ImageNet weights smoke-train with `weights: null` instead.

No ImageNet file is available here (and none is downloaded in tests); test_configs_shipped
skips the configs whose text holds `weights: imagenet`, and this file runs each of them
with the override below, on synthetic data of its shape.
"""

import pytest
from conftest import CONFIGS
from smoke_support import config_named, smoke_train
from typer.testing import CliRunner

from cnnrun.cli.app import app

runner = CliRunner()

# config stem -> the --set overrides that replace its ImageNet weights.
RANDOM_WEIGHTS = {
    "cifar10_resnet50v2_imagenet": ["model.layers[0].ResNet50V2.weights=null"],
    "cifar10_vgg19_imagenet": ["model.layers[0].VGG19.weights=null"],
    "stanford_dogs_keypoints": ["model.layers[0].MobileNetV2.weights=null"],
    "stanford_dogs_keypoints_flipswap": ["model.layers[0].MobileNetV2.weights=null"],
}
# Smoke runs with fewer images per batch, to keep `make test`'s time (batch 64: 37 s alone,
# 8: 23 s); test_imagenet_config_smoke_trains_at_its_batch_size runs the shipped batch (slow).
SMALLER = {stem: ["data.batch_size=8"] for stem in RANDOM_WEIGHTS if "keypoints" in stem}


def test_every_imagenet_config_has_an_override():
    imagenet = {p.stem for p in CONFIGS if "weights: imagenet" in p.read_text()}
    assert imagenet == set(RANDOM_WEIGHTS)


@pytest.mark.parametrize("stem", sorted(RANDOM_WEIGHTS))
def test_imagenet_config_smoke_trains_with_random_weights(stem, tmp_path, monkeypatch):
    _smoke_train(stem, RANDOM_WEIGHTS[stem] + SMALLER.get(stem, []), tmp_path, monkeypatch)


@pytest.mark.slow
@pytest.mark.parametrize("stem", sorted(SMALLER))
def test_imagenet_config_smoke_trains_at_its_batch_size(stem, tmp_path, monkeypatch):
    _smoke_train(stem, RANDOM_WEIGHTS[stem], tmp_path, monkeypatch)


def _smoke_train(stem, overrides, tmp_path, monkeypatch):
    monkeypatch.setenv("CNNRUN_OFFLINE", "1")
    run = smoke_train(config_named(stem), tmp_path, overrides)
    assert "weights: null" in (run / "config.yaml").read_text()


@pytest.mark.parametrize("stem", sorted(RANDOM_WEIGHTS))
def test_imagenet_config_offline_summarises_with_random_weights(stem, tmp_path, monkeypatch):
    monkeypatch.setenv("CNNRUN_OFFLINE", "1")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "empty"))
    res = runner.invoke(app, ["summary", str(config_named(stem))])
    # The layer table needs no weights (issue 12): summary works offline and says which
    # file was not loaded; `train` still stops before training (tests/model/test_backbones).
    assert res.exit_code == 0, res.output
    # (MobileNet's files are named ..._no_top.h5)
    assert ("_notop.h5" in res.output or "_no_top.h5" in res.output) and "not loaded" in res.output
