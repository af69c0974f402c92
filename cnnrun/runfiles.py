"""The run folder: its file names, and atomic writes of its files.

This module is the single place where run-folder file names live. It imports
no TensorFlow, so commands that only read runs stay fast.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

CONFIG = "config.yaml"
RUN = "run.json"
SUMMARY = "summary.txt"
METRICS = "metrics.csv"
RESULTS = "results.json"
CURVES = "curves.png"
CHECKPOINTS = "checkpoints"
BEST_MODEL = "checkpoints/best.keras"
LAST_MODEL = "checkpoints/last.keras"
TENSORBOARD = "tensorboard"  # TensorBoard logs (on by default; `tensorboard: false`)
CONFUSION = "confusion.png"  # classification: the normalised test confusion matrix
EXPORTS = "exports"  # `cnnrun export`'s default folder
EXPORT_NAMES = {"savedmodel": "saved_model", "tflite": "model.tflite", "onnx": "model.onnx"}
MLFLOW_DB = "mlflow.db"  # `--mlflow` without a URI: this SQLite store in the runs folder
MLFLOW_ARTIFACTS = "mlartifacts"  # ... and its artifacts beside it
CLASS_NAMES = "class_names.json"
PREDICTIONS = "predictions"
SWEEP = "sweep.json"  # in a sweep folder, beside its trials' run folders
LOCK = ".lock"  # in a run or sweep folder: held (flock) by the process using it
ERROR_LOG = "error.log"  # the traceback of a run that failed
# A resume moves the failed attempt's error.log aside to this name ({} = the resume's number),
# so a run that completes holds no traceback that looks current.
EARLIER_ERROR_LOG = "error-before-resume-{}.log"
# In a runs folder: held (flock) while init_from's base experiment is trained or looked for;
# {} is a digest of the base's resolved config.
BASE_RUN_LOCK = ".init_from-{}.lock"

STATUS_RUNNING = "running"
STATUS_COMPLETED = "completed"
STATUS_FAILED = "failed"
STATUS_INTERRUPTED = "interrupted"
STATUS_KILLED = "killed"
STATUSES = (STATUS_RUNNING, STATUS_COMPLETED, STATUS_FAILED, STATUS_INTERRUPTED, STATUS_KILLED)
RESUMABLE = (STATUS_RUNNING, STATUS_FAILED, STATUS_INTERRUPTED, STATUS_KILLED)

# metrics.csv always starts with these columns, then Keras's metric names
# (loss, accuracy, ..., val_loss, val_accuracy, ...), and ends with `seconds`.
METRICS_FIRST_COLUMNS = ("epoch", "lr")
METRICS_LAST_COLUMN = "seconds"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _umask()


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that a crash leaves the old or the new file, never a torn one.

    Args:
        path: Destination file.
        text: Full new content.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; give the usual permissions
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Atomically write ``data`` as indented JSON."""
    atomic_write_text(path, json.dumps(data, indent=2, sort_keys=False) + "\n")


def read_json(path: Path) -> dict[str, Any]:
    """Read a JSON object from ``path``.

    Raises:
        ValueError: When the file is not a JSON object.
    """
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a JSON object, received {type(data).__name__}")
    return data
