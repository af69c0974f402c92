"""`cnnrun train --mlflow` against a local store, read back with MLflow's client."""

import pytest
from rich.console import Console
from typer.testing import CliRunner

from cnnrun import runfiles
from cnnrun.checks import load_experiment
from cnnrun.train import callbacks as cb
from cnnrun.train.trainer import TrainOptions, train

pytest.importorskip("mlflow")


def _client(runs_dir):
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{runs_dir.resolve() / runfiles.MLFLOW_DB}")
    return client, client.get_experiment_by_name("cnnrun").experiment_id


def test_train_mlflow_logs_params_epochs_results_and_files(tiny_config, tmp_path):
    from cnnrun.cli.app import app

    runs = tmp_path / "runs"
    result = CliRunner().invoke(
        app, ["train", str(tiny_config), "--runs-dir", str(runs), "--mlflow", "--epochs", "3"]
    )
    assert result.exit_code == 0, result.output
    run_dir = runs / result.output.strip().splitlines()[-1].split("/")[-1]
    client, eid = _client(runs)
    (run,) = client.search_runs([eid])
    assert run.info.status == "FINISHED" and run.info.run_name == run_dir.name
    assert run.data.params["optimizer.learning_rate"] == "0.01"
    assert run.data.params["model.layers.0.Conv2D.filters"] == "4"
    history = client.get_metric_history(run.info.run_id, "val_loss")
    assert [m.step for m in history] == [1, 2, 3]
    assert "test_accuracy" in run.data.metrics and "test_macro_f1" in run.data.metrics
    files = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {runfiles.CONFIG, runfiles.RESULTS, runfiles.METRICS, runfiles.CHECKPOINTS} <= files
    kept = {a.path for a in client.list_artifacts(run.info.run_id, runfiles.CHECKPOINTS)}
    assert runfiles.BEST_MODEL in kept and not any("epoch-" in p for p in kept)


@pytest.mark.parametrize(
    ("error", "status"), [(RuntimeError("disk on fire"), "FAILED"), (KeyboardInterrupt(), "KILLED")]
)
def test_a_stopped_run_is_mirrored(tiny_config, tmp_path, monkeypatch, error, status):
    def stop(self, epoch, logs=None):
        raise error

    monkeypatch.setattr(cb.Checkpointer, "on_epoch_end", stop)
    runs = tmp_path / "runs"
    loaded = load_experiment(tiny_config, [])
    console = Console(file=open(tmp_path / "console.txt", "w"), width=120)
    with pytest.raises(type(error)):
        train(loaded, TrainOptions(runs_dir=runs, mlflow="local"), console)
    client, eid = _client(runs)
    (run,) = client.search_runs([eid])
    assert run.info.status == status


def test_a_sweep_logs_each_trial_as_a_child_run(tiny_config, tmp_path):
    import os

    from cnnrun.cli.app import app
    from cnnrun.train.mlflow_tracking import PARENT_ENV, URI_ENV

    runs = tmp_path / "runs"
    result = CliRunner().invoke(
        app,
        ["sweep", str(tiny_config), "--grid", "optimizer.learning_rate=1e-2,1e-3",
         "--epochs", "1", "--runs-dir", str(runs), "--mlflow"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    client, eid = _client(runs)
    runs_found = client.search_runs([eid])
    (parent,) = [r for r in runs_found if "mlflow.parentRunId" not in r.data.tags]
    children = [r for r in runs_found if r.data.tags.get("mlflow.parentRunId")]
    assert parent.info.status == "FINISHED" and len(children) == 2
    assert {r.data.tags["mlflow.parentRunId"] for r in children} == {parent.info.run_id}
    assert {r.data.params["optimizer.learning_rate"] for r in children} == {"0.01", "0.001"}
    assert URI_ENV not in os.environ and PARENT_ENV not in os.environ  # put back


def test_a_stopped_sweep_ends_its_parent_run_killed(tiny_config, tmp_path, monkeypatch):
    from cnnrun.cli.app import app

    def stop(self, epoch, logs=None):
        raise KeyboardInterrupt

    monkeypatch.setattr(cb.Checkpointer, "on_epoch_end", stop)
    runs = tmp_path / "runs"
    result = CliRunner().invoke(
        app,
        ["sweep", str(tiny_config), "--grid", "seed=1,2", "--runs-dir", str(runs), "--mlflow"],
    )
    assert result.exit_code == 130, result.output
    client, eid = _client(runs)
    (parent,) = [r for r in client.search_runs([eid]) if "mlflow.parentRunId" not in r.data.tags]
    assert parent.info.status == "KILLED"
