"""The plain Keras scripts of ``make bench`` train exactly the models of the configs."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from conftest import REPO

from cnnrun.checks import load_experiment
from cnnrun.model.build import build_model, compile_model
from cnnrun.train.schedules import lr_function

PLAIN = REPO / "benchmarks" / "plain"
CHAPTER = [
    "mnist_basic",
    "fashion_basic",
    "fashion_wide",
    "fashion_bn",
    "fashion_bn_lr",
    "mnist_convnet",
]
# Chapter sections with a plain script outside `make bench` (too slow for its budget).
NOT_BENCHED = ["cifar10_resnet50v2_scratch"]
IGNORED_KEYS = {"name"}  # layer names differ (Sequential vs cnnrun's functional model)


def plain_module(config: str) -> ModuleType:
    if str(PLAIN) not in sys.path:
        sys.path.insert(0, str(PLAIN))
    spec = importlib.util.spec_from_file_location(f"plain_{config}", PLAIN / f"{config}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def layer_configs(layers) -> list[tuple[str, dict]]:
    return [
        (
            type(layer).__name__,
            {k: v for k, v in layer.get_config().items() if k not in IGNORED_KEYS},
        )
        for layer in layers
        if type(layer).__name__ != "InputLayer"
    ]


def test_every_chapter_config_has_a_plain_script():
    scripts = sorted(p.stem for p in PLAIN.glob("*.py") if not p.name.startswith("_"))
    assert scripts == sorted(CHAPTER + NOT_BENCHED)
    for config in CHAPTER + NOT_BENCHED:
        assert (REPO / "configs" / f"{config}.yaml").is_file()


def test_the_overhead_benchmark_covers_every_chapter_config():
    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        import bench_overhead
    finally:
        sys.path.remove(str(REPO / "benchmarks"))
    assert [case.config for case in bench_overhead.CASES] == CHAPTER


def layers_of(model) -> list:
    """A model's layers, or those of the one application inside it (cnnrun nests a backbone)."""
    nested = [layer for layer in model.layers if hasattr(layer, "layers")]
    return layers_of(nested[0]) if len(nested) == 1 else model.layers


@pytest.mark.parametrize(
    "config",
    [*CHAPTER, *(pytest.param(c, marks=pytest.mark.slow) for c in NOT_BENCHED)],  # ResNet50V2
)
def test_plain_model_matches_the_config(config):
    loaded = load_experiment(REPO / "configs" / f"{config}.yaml", [])
    exp = loaded.experiment
    ours = build_model(exp, loaded)
    compile_model(ours, exp, loaded)
    module = plain_module(config)
    plain = module.build()

    assert plain.count_params() == ours.count_params()
    assert len(plain.trainable_weights) == len(ours.trainable_weights)
    assert sum(int(np.prod(w.shape)) for w in plain.non_trainable_weights) == sum(
        int(np.prod(w.shape)) for w in ours.non_trainable_weights
    )
    assert layer_configs(layers_of(plain)) == layer_configs(layers_of(ours))
    assert tuple(plain.input_shape[1:]) == tuple(exp.model.input_shape)

    assert module.BATCH_SIZE == exp.data.batch_size
    assert module.EPOCHS == exp.epochs
    if module.VALIDATION is None:
        assert exp.data.validation == "none"
    elif module.VALIDATION == "test":
        assert exp.data.validation == "test"
    else:
        assert exp.data.validation == "split"
        assert module.VALIDATION == pytest.approx(exp.data.validation_split)
    assert plain.loss == exp.loss.name
    assert type(plain.optimizer) is type(ours.optimizer)
    assert float(plain.optimizer.learning_rate) == pytest.approx(
        float(ours.optimizer.learning_rate)
    )

    schedule = lr_function(exp.schedule, float(ours.optimizer.learning_rate), exp.epochs)
    if schedule is None:
        assert not hasattr(module, "schedule")
    else:
        for epoch in range(exp.epochs):
            assert module.schedule(epoch) == pytest.approx(schedule(epoch))


def test_plain_script_writes_its_timings(tmp_path: Path):
    rng = np.random.default_rng(0)
    npz = tmp_path / "tiny.npz"
    np.savez(
        npz,
        x_train=rng.integers(0, 256, (200, 28, 28), dtype=np.uint8),
        y_train=rng.integers(0, 10, 200).astype(np.uint8),
        x_test=rng.integers(0, 256, (60, 28, 28), dtype=np.uint8),
        y_test=rng.integers(0, 10, 60).astype(np.uint8),
    )
    out, log = tmp_path / "out.json", tmp_path / "epochs.log"
    cmd = [sys.executable, str(PLAIN / "mnist_convnet.py"), "--data", str(npz), "--limit", "100",
           "--epochs", "2", "--out", str(out), "--epoch-log", str(log)]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(out.read_text())
    assert len(result["epoch_seconds"]) == 2
    assert (result["train_examples"], result["val_examples"]) == (90, 10)  # validation_split 0.1
    assert result["test_examples"] == 60
    assert result["params"] == 34826
    assert result["samples_per_s"] > 0
    assert len(log.read_text().splitlines()) == 2


@pytest.mark.slow
def test_the_cifar_plain_script_trains_on_colour_images_with_column_labels(tmp_path: Path):
    # keras.datasets.cifar10 layout: (N, 32, 32, 3) uint8 images, (N, 1) labels
    rng = np.random.default_rng(0)
    npz = tmp_path / "cifar10.npz"
    np.savez(
        npz,
        x_train=rng.integers(0, 256, (40, 32, 32, 3), dtype=np.uint8),
        y_train=rng.integers(0, 10, (40, 1)).astype(np.uint8),
        x_test=rng.integers(0, 256, (16, 32, 32, 3), dtype=np.uint8),
        y_test=rng.integers(0, 10, (16, 1)).astype(np.uint8),
    )
    out = tmp_path / "out.json"
    cmd = [sys.executable, str(PLAIN / "cifar10_resnet50v2_scratch.py"), "--data", str(npz),
           "--epochs", "1", "--out", str(out)]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(out.read_text())
    assert (result["train_examples"], result["val_examples"]) == (40, 16)  # test as validation
    assert result["params"] == 23_585_290 and result["batch_size"] == 32
    assert 0.0 <= result["test"]["accuracy"] <= 1.0
