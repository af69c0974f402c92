"""TensorBoard logs by default, with the resolved config as HParams."""

from rich.console import Console

from cnnrun import runfiles
from cnnrun.checks import load_experiment
from cnnrun.train.trainer import TrainOptions, train


def _train(config, tmp_path, overrides=()):
    loaded = load_experiment(config, list(overrides))
    console = Console(file=open(tmp_path / "console.txt", "w"), width=120)
    return train(loaded, TrainOptions(runs_dir=tmp_path / "runs"), console)


def test_every_run_logs_scalars_and_hparams(tiny_config, tmp_path):
    from tensorboard.backend.event_processing import event_accumulator as ea
    from tensorboard.plugins.hparams import metadata

    run = _train(tiny_config, tmp_path, ["model.layers[0].Conv2D.filters=5"]).run_dir
    logs = run / runfiles.TENSORBOARD
    validation = ea.EventAccumulator(str(logs / "validation"))
    validation.Reload()
    assert "epoch_loss" in validation.Tags()["tensors"]
    root = ea.EventAccumulator(str(logs))
    root.Reload()
    content = root.PluginTagToContent("hparams")
    start = metadata.parse_session_start_info_plugin_data(content[metadata.SESSION_START_INFO_TAG])
    values = {k: getattr(v, v.WhichOneof("kind")) for k, v in start.hparams.items()}
    assert values["model.layers[0].Conv2D.filters"] == 5
    assert values["optimizer.name"] == "adam" and values["data.limit"] == 96
    assert start.group_name == run.name and metadata.SESSION_END_INFO_TAG in content
    assert "test_accuracy" in root.Tags()["tensors"]


def test_tensorboard_false_writes_no_logs(tiny_config, tmp_path):
    run = _train(tiny_config, tmp_path, ["tensorboard=false", "epochs=1"]).run_dir
    assert not (run / runfiles.TENSORBOARD).exists()
