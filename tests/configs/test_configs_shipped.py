"""Every file in configs/ validates, builds, and smoke-trains on synthetic data of its shape."""

import pytest
from conftest import CONFIGS
from smoke_support import config_named, smoke_train


def test_there_are_the_chapter_configs():
    names = {p.stem for p in CONFIGS}
    assert {
        "mnist_basic",
        "fashion_basic",
        "fashion_wide",
        "fashion_bn",
        "fashion_bn_lr",
        "mnist_convnet",
        "padding_valid",
        "padding_same",
        "strides_2",
        "demo",
        "oxford_pets_unet",
        "stanford_dogs_keypoints",
    } <= names


@pytest.mark.parametrize("config", CONFIGS, ids=[p.stem for p in CONFIGS])
def test_config_names_its_section_and_result(config):
    head = config.read_text().splitlines()[0]
    assert head.startswith("# "), "each config opens with a comment naming what it reproduces"


# config stem -> --set overrides that keep its smoke run within `make test`'s time: the
# same model and data pipeline, fewer images per batch. The config exactly as shipped is
# smoke-trained by test_heavy_config_smoke_trains_as_shipped (slow: make test-full).
SMALLER = {"oxford_pets_unet": ["data.batch_size=8"]}  # batch 32: 75 s alone, 8: 50 s


@pytest.fixture(scope="module")
def smoke_runs(tmp_path_factory):
    """One runs folder for all: fashion_bn_lr's `init_from: fashion_bn.yaml` reuses the smoke
    run of fashion_bn.yaml (trained just before it, same seed, synthetic, smoke)."""
    return tmp_path_factory.mktemp("smoke-runs")


@pytest.mark.parametrize("config", CONFIGS, ids=[p.stem for p in CONFIGS])
def test_config_smoke_trains_on_synthetic_data(config, smoke_runs):
    if "weights: imagenet" in config.read_text():
        pytest.skip("no ImageNet file here: test_configs_backbones.py runs it with weights=null")
    _smoke_train(config, smoke_runs, SMALLER.get(config.stem, []))


@pytest.mark.slow
@pytest.mark.parametrize("stem", sorted(SMALLER))
def test_heavy_config_smoke_trains_as_shipped(stem, tmp_path):
    _smoke_train(config_named(stem), tmp_path, [])


def _smoke_train(config, runs_dir, overrides):
    run = smoke_train(config, runs_dir, overrides)
    assert (run / "curves.png").stat().st_size > 0
    assert (run / "checkpoints" / "last.keras").exists()
