"""MLflow tracking of a run (``cnnrun train --mlflow``), the optional extra ``cnnrun[mlflow]``.

Imported only when tracking is asked for: ``import mlflow`` takes seconds. One MLflow run
per cnnrun run, in the MLflow experiment ``cnnrun`` (``$MLFLOW_EXPERIMENT_NAME`` changes
it), named after the run folder, with:

- params: the resolved config, flattened to dotted keys (``optimizer.learning_rate``,
  ``model.layers.5.Dropout``: MLflow takes no brackets);
- metrics: every epoch's ``metrics.csv`` values (``loss``, ``val_accuracy``, ``lr``, ...)
  at step = epoch, then the test figures as ``test_<metric>``;
- artifacts: the run folder's files (checkpoints other than ``best.keras`` and
  ``last.keras`` are left out);
- the status: ``FINISHED`` (completed), ``KILLED`` (Ctrl-C or SIGTERM) or ``FAILED``.

Without a URI the store is ``sqlite:///RUNS/mlflow.db`` with artifacts in
``RUNS/mlartifacts`` (RUNS: the runs folder), so ``mlflow ui --backend-store-uri
sqlite:///runs/mlflow.db`` shows them. A sweep sets ``$CNNRUN_MLFLOW`` (the URI) and
``$CNNRUN_MLFLOW_PARENT`` (its own MLflow run) so each trial is logged as a child run,
in this process or in the trials' subprocesses alike.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cnnrun import runfiles
from cnnrun.config.schema import Experiment
from cnnrun.errors import DataError
from cnnrun.runs.record import flatten_config
from cnnrun.signals import Terminated
from cnnrun.tf_env import import_keras

URI_ENV = "CNNRUN_MLFLOW"  # a tracking URI, or LOCAL
PARENT_ENV = "CNNRUN_MLFLOW_PARENT"  # a sweep's MLflow run id: trials are its children
LOCAL = "local"
EXPERIMENT = "cnnrun"
EXTRA_HINT = "pip install 'cnnrun[mlflow]'"
MAX_PARAM_LENGTH = 6000  # MLflow 3's limit on a param's value
BATCH = 100  # params per log_batch call (MLflow's limit)


def import_mlflow() -> Any:
    """``mlflow``, or a DataError saying how to install it."""
    os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")  # for file: URIs given by users
    try:
        import mlflow
    except ImportError:
        raise DataError(f"--mlflow needs MLflow: {EXTRA_HINT}") from None
    return mlflow


def resolve_uri(uri: str | None, runs_dir: Path) -> tuple[str, str | None]:
    """The tracking URI and, for the default local store, its artifact folder."""
    if uri and uri != LOCAL:
        return uri, None
    root = Path(runs_dir).resolve()
    root.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{root / runfiles.MLFLOW_DB}", (root / runfiles.MLFLOW_ARTIFACTS).as_uri()


def client_for(uri: str | None, runs_dir: Path) -> tuple[Any, str]:
    """An ``MlflowClient`` on the store and the id of the ``cnnrun`` experiment in it."""
    mlflow = import_mlflow()
    from mlflow.tracking import MlflowClient

    tracking, artifacts = resolve_uri(uri, runs_dir)
    mlflow.set_tracking_uri(tracking)
    client = MlflowClient(tracking_uri=tracking)
    name = os.environ.get("MLFLOW_EXPERIMENT_NAME") or EXPERIMENT
    found = client.get_experiment_by_name(name)
    if found is not None:
        return client, found.experiment_id
    return client, client.create_experiment(name, artifact_location=artifacts)


def param_key(dotted: str) -> str:
    """A dotted config key as MLflow takes it (``model.layers[5]`` -> ``model.layers.5``)."""
    return re.sub(r"\[(\d+)\]", r".\1", dotted)[:250]


def params_of(exp: Experiment) -> dict[str, str]:
    """The resolved config as MLflow params (dotted keys, text values)."""
    return {
        param_key(key): ("null" if value is None else str(value))[:MAX_PARAM_LENGTH]
        for key, value in flatten_config(exp.to_dict()).items()
    }


class MlflowTracker:
    """One MLflow run mirroring one cnnrun run (see the module docstring).

    Args:
        uri: A tracking URI; None or ``local`` for the SQLite store in ``runs_dir``.
        runs_dir: The runs folder.
        exp: The experiment (its config becomes the params).
        parent_run_id: Log as a child of this MLflow run (a sweep's).
    """

    def __init__(
        self, uri: str | None, runs_dir: Path, exp: Experiment, parent_run_id: str | None = None
    ) -> None:
        self.client, self.experiment_id = client_for(uri, runs_dir)
        self.exp = exp
        self.parent_run_id = parent_run_id
        self.run_id: str | None = None
        self.run_dir: Path | None = None

    def callbacks(self, run_dir: Path) -> list[Any]:
        """Start the MLflow run for ``run_dir``; the Keras callback that logs each epoch."""
        from mlflow.entities import Param

        self.run_dir = Path(run_dir)
        tags = {"cnnrun.run_dir": str(self.run_dir.resolve()), "cnnrun.task": self.exp.task}
        if self.parent_run_id:
            tags["mlflow.parentRunId"] = self.parent_run_id
        run = self.client.create_run(self.experiment_id, run_name=self.run_dir.name, tags=tags)
        self.run_id = run.info.run_id
        params = [Param(k, v) for k, v in params_of(self.exp).items()]
        for i in range(0, len(params), BATCH):
            self.client.log_batch(self.run_id, params=params[i : i + BATCH])
        return [_epoch_logger(self.client, self.run_id)]

    def finish(self, results: dict[str, Any] | None, error: BaseException | None) -> None:
        """Log the test figures and the run folder's files; set the run's status."""
        if self.run_id is None:
            return  # stopped before its run folder existed: nothing to mirror
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        if results:
            figures = {f"test_{k}": v for k, v in (results.get("test") or {}).items()}
            best = results.get("best") or {}
            if isinstance(best.get("value"), int | float):
                figures[f"best_{best.get('monitor')}"] = best["value"]
            metrics = [Metric(k, float(v), now, 0) for k, v in figures.items()]
            if metrics:
                self.client.log_batch(self.run_id, metrics=metrics)
        if self.run_dir is not None and self.run_dir.is_dir():
            for path in sorted(self.run_dir.rglob("*")):
                if path.is_file() and _is_artifact(path.relative_to(self.run_dir)):
                    parent = path.relative_to(self.run_dir).parent.as_posix()
                    self.client.log_artifact(
                        self.run_id, str(path), None if parent == "." else parent
                    )  # fmt: skip
        self.client.set_terminated(self.run_id, status=_status(error))


def _is_artifact(relative: Path) -> bool:
    name = relative.name
    if name.startswith("."):  # temporary files of atomic writes
        return False
    if relative.parts[0] == runfiles.CHECKPOINTS:
        return relative.as_posix() in (runfiles.BEST_MODEL, runfiles.LAST_MODEL)
    return True


def _status(error: BaseException | None) -> str:
    if error is None:
        return "FINISHED"
    if isinstance(error, KeyboardInterrupt | Terminated):
        return "KILLED"
    return "FAILED"


def _epoch_logger(client: Any, run_id: str) -> Any:
    keras = import_keras()
    from mlflow.entities import Metric

    class EpochMetrics(keras.callbacks.Callback):
        """Logs each epoch's figures and learning rate at step = epoch (from 1)."""

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            now = int(time.time() * 1000)
            figures = {k: float(v) for k, v in (logs or {}).items()}
            lr = self.model.optimizer.learning_rate
            figures["lr"] = float(keras.ops.convert_to_numpy(lr))
            metrics = [Metric(k, v, now, epoch + 1) for k, v in figures.items()]
            client.log_batch(run_id, metrics=metrics)

    return EpochMetrics()


def tracked(
    uri: str | None,
    runs_dir: Path,
    exp: Experiment,
    run: Callable[[Callable[[Path], list[Any]]], Any],
) -> Any:
    """Run ``run(callbacks_for)`` mirrored in MLflow; ``run`` returns a ``TrainResult``.

    ``callbacks_for(run_dir)`` starts the MLflow run once the run folder exists.
    """
    parent = os.environ.get(PARENT_ENV) or None
    tracker = MlflowTracker(uri, runs_dir, exp, parent)
    try:
        result = run(tracker.callbacks)
    except BaseException as exc:
        try:
            tracker.finish(None, exc)
        except Exception:  # noqa: S110 - the training's own error matters more
            pass
        raise
    tracker.finish(getattr(result, "results", None), None)
    return result
