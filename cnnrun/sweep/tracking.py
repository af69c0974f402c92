"""A sweep in MLflow: one parent run, each trial a child run (``cnnrun sweep --mlflow``)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from cnnrun.train.mlflow_tracking import PARENT_ENV, URI_ENV, client_for, resolve_uri


@contextlib.contextmanager
def parent_run(uri: str | None, runs_dir: Path, sweep_dir: Path) -> Iterator[str]:
    """Start the sweep's MLflow run; trials started inside log as its children.

    The store's URI and the parent's id go to the trials through ``$CNNRUN_MLFLOW`` and
    ``$CNNRUN_MLFLOW_PARENT`` (in-process trials and subprocesses alike). The parent ends
    ``FINISHED``, or ``KILLED`` on Ctrl-C / SIGTERM, ``FAILED`` on another error.

    Yields:
        The parent run's id.
    """
    tracking, _ = resolve_uri(uri, runs_dir)
    client, experiment_id = client_for(uri, runs_dir)
    run = client.create_run(
        experiment_id, run_name=Path(sweep_dir).name,
        tags={"cnnrun.sweep_dir": str(Path(sweep_dir).resolve())},
    )  # fmt: skip
    saved = {k: os.environ.get(k) for k in (URI_ENV, PARENT_ENV)}
    os.environ[URI_ENV], os.environ[PARENT_ENV] = tracking, run.info.run_id
    status = "FAILED"
    try:
        yield run.info.run_id
        status = "FINISHED"
    except BaseException as exc:  # a stopped sweep's exception carries exit_code 130 / 143
        if isinstance(exc, KeyboardInterrupt) or getattr(exc, "exit_code", None) in (130, 143):
            status = "KILLED"
        raise
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        client.set_terminated(run.info.run_id, status=status)
