"""Fine-tuning in two phases: head on a frozen backbone, then unfrozen at a lower rate."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from cnnrun.checks import load_experiment
from cnnrun.errors import ConfigError
from cnnrun.train.fine_tune import Phase, apply_phase, phases, unfreeze

EXPERIMENT = """\
name: fine_tune
seed: 5
data: {{dataset: synthetic, limit: 32, test_limit: 8, batch_size: 8}}
model:
  input_shape: [32, 32, 3]
  layers:
    - MobileNetV2: {{alpha: 0.35, include_top: false, pooling: avg, weights: null, {trainable}}}
    - Dense: {{units: 3, activation: softmax}}
optimizer: {{name: sgd, learning_rate: 0.01, momentum: 0.9}}
epochs: {epochs}
{fine_tune}
"""


def load(tmp_path: Path, fine_tune: str = "", epochs: int = 4, trainable: str = "trainable: false"):  # noqa: ANN201,E501
    path = tmp_path / "exp.yaml"
    path.write_text(EXPERIMENT.format(fine_tune=fine_tune, epochs=epochs, trainable=trainable))
    return load_experiment(path)


def model_of(loaded):  # noqa: ANN001,ANN201
    from cnnrun.model.build import build_model, compile_model

    model = build_model(loaded.experiment, loaded)
    compile_model(model, loaded.experiment, loaded)
    return model


def test_without_fine_tune_there_is_one_phase(tmp_path):
    exp = load(tmp_path).experiment
    assert phases(exp) == [Phase(0, 4)]
    assert phases(exp, epochs=2) == [Phase(0, 2)]


def test_fine_tune_phases(tmp_path):
    exp = load(
        tmp_path, "fine_tune: {at_epoch: 3, unfreeze: all, learning_rate: 1.0e-4}", epochs=10
    ).experiment
    assert phases(exp) == [Phase(0, 3), Phase(3, 10, "all", 1e-4)]
    assert [p.fine_tuning for p in phases(exp)] == [False, True]
    # a shortened run (--smoke: 2 epochs) still goes through both phases
    assert phases(exp, epochs=2) == [Phase(0, 1), Phase(1, 2, "all", 1e-4)]
    assert phases(exp, epochs=1) == [Phase(0, 1)]


def test_fine_tune_defaults(tmp_path):
    ft = load(tmp_path, "fine_tune: {at_epoch: 2}").experiment.fine_tune
    assert (ft.at_epoch, ft.unfreeze, ft.learning_rate) == (2, "all", 1e-5)


@pytest.mark.parametrize(
    ("fine_tune", "trainable", "path", "message"),
    [
        ("fine_tune: {at_epoch: 4}", "trainable: false", "fine_tune.at_epoch",
         "fine_tune.at_epoch must be below epochs (4)"),
        ("fine_tune: {at_epoch: 2}", "trainable: true", "fine_tune",
         "fine_tune unfreezes frozen backbones, and this model has none"),
        ("fine_tune: {at_epoch: 2, unfreeze: some}", "trainable: false", "fine_tune.unfreeze",
         "invalid value"),
        ("fine_tune: {at_epoch: 2, learning_rate: 0}", "trainable: false",
         "fine_tune.learning_rate", "invalid value"),
        ("fine_tune: {at_epoch: 2, learning_rat: 0.1}", "trainable: false",
         "fine_tune.learning_rat", "unknown key 'learning_rat'"),
    ],
)  # fmt: skip
def test_fine_tune_errors(tmp_path, fine_tune, trainable, path, message):
    with pytest.raises(ConfigError) as info:
        load(tmp_path, fine_tune, trainable=trainable)
    assert info.value.path.startswith(path)
    assert info.value.message.startswith(message)
    assert info.value.line == 11


def test_two_phase_run_unfreezes_on_the_right_epoch_with_the_right_rate(tmp_path):
    from cnnrun.tf_env import import_keras
    from cnnrun.train.callbacks import EpochLogger

    keras = import_keras()
    loaded = load(tmp_path, "fine_tune: {at_epoch: 1, unfreeze: all, learning_rate: 0.002}", 2)
    keras.utils.set_random_seed(0)
    model = model_of(loaded)
    backbone = model.get_layer("mobilenetv2_0.35_32")
    start = [w.copy() for w in backbone.get_weights()]

    seen: list[tuple[int, float, int, str]] = []

    class Record(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):  # noqa: ANN001
            opt = self.model.optimizer
            lr = float(keras.ops.convert_to_numpy(opt.learning_rate))
            seen.append((epoch, lr, len(self.model.trainable_weights), type(opt).__name__))

    class Beats:
        def heartbeat(self, epochs: int) -> None:
            pass

    logger = EpochLogger(tmp_path, Beats())
    x = np.random.default_rng(0).uniform(size=(16, 32, 32, 3)).astype("float32")
    y = np.arange(16) % 3
    after_first = None
    for phase in phases(loaded.experiment):
        unfrozen = apply_phase(model, phase)
        assert unfrozen == (["mobilenetv2_0.35_32"] if phase.fine_tuning else [])
        model.fit(
            x,
            y,
            batch_size=8,
            initial_epoch=phase.epochs_from,
            epochs=phase.epochs_to,
            callbacks=[Record(), logger],
            verbose=0,
        )
        if not phase.fine_tuning:
            after_first = [w.copy() for w in backbone.get_weights()]
    head = 1280 * 3 + 3
    assert seen[0][:3] == (0, pytest.approx(0.01), 2)  # epoch 1: the head's kernel and bias
    assert seen[1][0] == 1 and seen[1][1] == pytest.approx(0.002)  # epoch 2: fine-tuning
    assert seen[1][2] == len(model.trainable_weights) > 2
    assert seen[1][3] == "SGD" and model.optimizer.get_config()["momentum"] == 0.9
    assert all(np.array_equal(a, b) for a, b in zip(start, after_first, strict=True))
    changed = sum(
        not np.array_equal(a, b) for a, b in zip(after_first, backbone.get_weights(), strict=True)
    )
    assert changed > 0
    assert sum(int(np.prod(w.shape)) for w in model.trainable_weights) > head
    # one metrics.csv for the whole run, with each phase's learning rate
    rows = list(csv.DictReader((tmp_path / "metrics.csv").open()))
    assert [int(r["epoch"]) for r in rows] == [1, 2]
    assert [float(r["lr"]) for r in rows] == pytest.approx([0.01, 0.002])


def test_unfreeze_top_layers_keeps_batch_normalization_frozen(tmp_path):
    loaded = load(tmp_path, "fine_tune: {at_epoch: 1, unfreeze: 8, learning_rate: 0.001}")
    model = model_of(loaded)
    backbone = model.get_layer("mobilenetv2_0.35_32")
    apply_phase(model, phases(loaded.experiment)[1])
    top = backbone.layers[-8:]
    assert all(layer.trainable != (type(layer).__name__ == "BatchNormalization") for layer in top)
    assert not any(layer.trainable for layer in backbone.layers[:-8])
    trainable_names = {v.path.split("/")[0] for v in model.trainable_weights}
    assert "Conv_1" in trainable_names and "Conv_1_bn" not in trainable_names
    assert "block_1_project" not in trainable_names


def test_unfreeze_all():
    from cnnrun.tf_env import import_keras

    keras = import_keras()
    net = keras.applications.MobileNetV2(
        input_shape=(32, 32, 3), alpha=0.35, include_top=False, weights=None
    )
    net.trainable = False
    unfreeze(net, "all")
    assert all(layer.trainable for layer in net.layers)


def test_a_phase_without_fine_tuning_changes_nothing(tmp_path):
    model = model_of(load(tmp_path))
    optimizer = model.optimizer
    assert apply_phase(model, Phase(0, 4)) == []
    assert model.optimizer is optimizer


def _trained(tmp_path, loaded, resume_dir=None):
    from rich.console import Console

    from cnnrun.train.trainer import TrainOptions, train

    console = Console(file=open(tmp_path / "console.txt", "a"), width=120)
    options = TrainOptions(runs_dir=tmp_path / "runs", resume_dir=resume_dir)
    return train(loaded, options, console).run_dir


def _lrs(run):
    import csv

    with open(run / "metrics.csv") as f:
        return [float(r["lr"]) for r in csv.DictReader(f)]


TWO_PHASES = "fine_tune: {at_epoch: 2, unfreeze: all, learning_rate: 1.0e-4}"


@pytest.fixture(scope="module")
def two_phase_run(tmp_path_factory):
    """One 4-epoch run through both phases, shared (read-only) by the tests below."""
    tmp_path = tmp_path_factory.mktemp("two-phases")
    loaded = load(tmp_path, TWO_PHASES)
    return _trained(tmp_path, loaded), loaded


def test_the_trainer_runs_both_phases_in_one_metrics_csv(two_phase_run):
    import keras
    import numpy as np

    run, loaded = two_phase_run
    assert _lrs(run) == pytest.approx([1e-2, 1e-2, 1e-4, 1e-4])
    first = model_of(loaded)
    first.load_weights(run / "checkpoints" / "epoch-0003.keras")
    last = keras.saving.load_model(run / "checkpoints" / "last.keras", compile=False)
    (i,) = [k for k, layer in enumerate(first.layers) if hasattr(layer, "layers")]
    before, after = first.layers[i].get_weights(), last.layers[i].get_weights()
    assert len(before) > 100
    assert any(not np.allclose(a, b) for a, b in zip(before, after, strict=True))  # trained


def test_a_run_resumed_in_phase_2_continues_with_the_fine_tuning_rate(two_phase_run, tmp_path):
    import json
    import shutil

    whole = _lrs(two_phase_run[0])
    run = tmp_path / "runs" / two_phase_run[0].name
    shutil.copytree(two_phase_run[0], run)
    record = json.loads((run / "run.json").read_text())
    record["status"] = "interrupted"
    (run / "run.json").write_text(json.dumps(record))
    (run / "checkpoints" / "epoch-0004.keras").unlink()  # as if killed during epoch 4
    state = json.loads((run / "checkpoints" / "state.json").read_text())
    state["epochs"] = [e for e in state["epochs"] if e["epoch"] == 3]
    (run / "checkpoints" / "state.json").write_text(json.dumps(state))
    _trained(tmp_path, load(tmp_path, TWO_PHASES), resume_dir=run)
    assert _lrs(run) == pytest.approx(whole)
