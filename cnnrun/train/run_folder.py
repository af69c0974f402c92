"""Creating a run folder and keeping its ``run.json`` true."""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

from cnnrun import __version__, locks, runfiles
from cnnrun.config.names import MAX_NAME, safe_name  # noqa: F401 - the name rule lives there
from cnnrun.errors import DataError


def now_iso() -> str:
    """The current local time, ISO 8601 with offset, to the second."""
    return dt.datetime.now().astimezone().isoformat(timespec="seconds")


def create_unique(parent: Path, label: str) -> Path:
    """Create ``parent/<YYYYmmdd-HHMMSS>-<label>`` (suffixed ``-2``, ``-3``... if taken)."""
    parent = Path(parent)
    parent.mkdir(parents=True, exist_ok=True)
    stem = f"{dt.datetime.now():%Y%m%d-%H%M%S}-{label}"
    for i in range(1, 1000):
        path = parent / (stem if i == 1 else f"{stem}-{i}")
        try:
            path.mkdir()
        except FileExistsError:
            continue
        return path
    raise DataError(f"cannot create a folder for {label!r} under {parent}")


def create(runs_dir: Path, name: str) -> Path:
    """Create a run folder ``runs_dir/<YYYYmmdd-HHMMSS>-<name>`` with its ``checkpoints/``."""
    path = create_unique(runs_dir, safe_name(name))
    (path / runfiles.CHECKPOINTS).mkdir()
    return path


def _git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 and out.stdout.strip() else None


def read_record(run_dir: Path) -> dict[str, Any]:
    """The ``run.json`` of a run folder.

    Raises:
        DataError: When the folder is not a run folder.
    """
    path = Path(run_dir) / runfiles.RUN
    try:
        return runfiles.read_json(path)
    except (OSError, ValueError) as exc:
        raise DataError(f"{run_dir} is not a readable run folder ({exc})") from None


def _other_worker() -> bool:
    """Whether ``$TF_CONFIG`` makes this process a multi-worker run's non-chief worker.

    Such a worker resumes from a copy of the chief's folder, so it must not lock the
    folder itself (the chief does).
    """
    try:
        tf_config = json.loads(os.environ.get("TF_CONFIG") or "{}")
        task, cluster = tf_config.get("task", {}), tf_config.get("cluster", {})
    except (ValueError, AttributeError):
        return False
    if not isinstance(task, dict) or not isinstance(cluster, dict):
        return False
    if "chief" in cluster:
        return task.get("type") != "chief"
    return task.get("type") == "worker" and task.get("index", 0) != 0


def resumable_config(run_dir: Path, epochs: int | None = None) -> Path:
    """Check that ``run_dir`` can be resumed, lock it, and return its ``config.yaml``.

    The lock (:mod:`cnnrun.locks`) is held until this process ends, so a second
    ``--resume`` of the same run exits at once instead of training beside this one. A run
    that cannot be resumed (in use, damaged, completed) is left exactly as it was.

    Args:
        run_dir: The run folder.
        epochs: A new total number of epochs, to extend a run (completed ones included).

    Raises:
        DataError: When another process uses the run, a file it needs is damaged, or it
            completed and is not extended.
    """
    _check_resumable(run_dir, read_record(run_dir), epochs)
    if not _other_worker():
        locks.check_free(run_dir)  # names the holder; writes nothing
        _check_resumable(run_dir, read_record(run_dir), epochs, files=True)
        locks.hold(run_dir)
        _check_resumable(run_dir, read_record(run_dir), epochs)  # as the holder before left it
    return Path(run_dir) / runfiles.CONFIG


def _check_resumable(
    run_dir: Path, data: dict[str, Any], epochs: int | None, files: bool = False
) -> None:
    config = Path(run_dir) / runfiles.CONFIG
    if not config.is_file():
        raise DataError(f"{run_dir} has no {runfiles.CONFIG} to resume from")
    done = data.get("epochs_completed") or 0
    if not isinstance(done, int) or isinstance(done, bool) or done < 0:
        raise DataError(
            f"{Path(run_dir) / runfiles.RUN}: epochs_completed is {done!r}; "
            "the run was left as it was"
        )
    if data.get("status") == runfiles.STATUS_COMPLETED and not (epochs and epochs > done):
        raise DataError(
            f"{run_dir} already completed {done} epochs; "
            "give --epochs N with a larger N to train it further"
        )
    if files:
        from cnnrun.train.resume import check_resumable_files

        check_resumable_files(run_dir, done, data.get("status") == runfiles.STATUS_COMPLETED)


def remove_leftovers(run_dir: Path) -> None:
    """Remove the temporary files a killed process left (only under the run's lock).

    Checkpoint writes go through ``checkpoints/.tmp-*`` (files, and Keras's scratch
    folders) and every other file through ``.NAME.*.tmp``; a kill mid-write leaves them.
    """
    run_dir = Path(run_dir)
    leftovers = [
        *(run_dir / runfiles.CHECKPOINTS).glob(".tmp-*"),
        *run_dir.glob(".*.tmp"),
        *(run_dir / runfiles.CHECKPOINTS).glob(".*.tmp"),
        *(run_dir / runfiles.PREDICTIONS).glob(".*.tmp"),
    ]
    for path in leftovers:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


class RunJournal:
    """The ``run.json`` of one run: written when the run starts, at each epoch, and at its end."""

    def __init__(self, run_dir: Path, fields: dict[str, Any]) -> None:
        self.path = Path(run_dir) / runfiles.RUN
        self.data = fields

    @classmethod
    def start(
        cls,
        run_dir: Path,
        *,
        name: str,
        task: str,
        dataset: str,
        seed: int,
        smoke: bool,
        config_file: str,
        precision: dict[str, str] | None = None,
    ) -> RunJournal:
        """Write the record of a run that starts now (status ``running``)."""
        import keras
        import numpy
        import tensorflow

        started = now_iso()
        record = cls(
            run_dir,
            {
                "status": runfiles.STATUS_RUNNING,
                "reason": None,
                "name": name,
                "task": task,
                "dataset": dataset,
                "started_at": started,
                "ended_at": None,
                "heartbeat_at": started,
                "epochs_completed": 0,
                "command": ["cnnrun", *sys.argv[1:]],
                "seed": seed,
                "smoke": smoke,
                "config_file": config_file,
                "precision": precision,
                "versions": {
                    "cnnrun": __version__,
                    "keras": keras.__version__,
                    "tensorflow": tensorflow.__version__,
                    "numpy": numpy.__version__,
                    "python": platform.python_version(),
                },
                "git_commit": _git_commit(),
                "host": socket.gethostname(),
                "pid": os.getpid(),
            },
        )
        record.save()
        return record

    @classmethod
    def resume(cls, run_dir: Path, from_epoch: int) -> RunJournal:
        """Mark a stopped run as running again, keeping its history of resumes."""
        data = read_record(run_dir)
        resumes = data.setdefault("resumes", [])
        entry = {"at": now_iso(), "from_epoch": from_epoch, "previous_status": data.get("status")}
        error_log = Path(run_dir) / runfiles.ERROR_LOG
        if error_log.exists():
            earlier = runfiles.EARLIER_ERROR_LOG.format(len(resumes) + 1)
            error_log.replace(error_log.with_name(earlier))
            entry["error_log"] = earlier
        resumes.append(entry)
        data.update(
            status=runfiles.STATUS_RUNNING, reason=None, ended_at=None,
            heartbeat_at=now_iso(), pid=os.getpid(), host=socket.gethostname(),
        )  # fmt: skip
        record = cls(run_dir, data)
        record.save()
        return record

    def save(self) -> None:
        """Write the record atomically."""
        runfiles.write_json(self.path, self.data)

    def heartbeat(self, epochs_completed: int) -> None:
        """Say the run is alive and how far it got."""
        self.data["heartbeat_at"] = now_iso()
        self.data["epochs_completed"] = epochs_completed
        self.save()

    def finish(self, status: str, reason: str | None = None) -> None:
        """Record how the run ended."""
        self.data.update(status=status, reason=reason, ended_at=now_iso(), heartbeat_at=now_iso())
        self.save()
