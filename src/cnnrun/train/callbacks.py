"""Keras callbacks of a run: metrics.csv rows, atomic checkpoints, progress, user callbacks."""

from __future__ import annotations

import csv
import io
import math
import os
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from cnnrun import catalog, runfiles
from cnnrun.tf_env import import_keras

keras = import_keras()


def _lr(model: Any) -> float:
    return float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))


def metric_columns(logs: dict[str, Any]) -> list[str]:
    """Keras's log keys in the order of ``metrics.csv``: loss, metrics, val_loss, val_metrics."""
    keys = [k for k in logs if k != "learning_rate"]
    train = sorted((k for k in keys if not k.startswith("val_")), key=lambda k: k != "loss")
    val = sorted((k for k in keys if k.startswith("val_")), key=lambda k: k != "val_loss")
    return train + val


class EpochLogger(keras.callbacks.Callback):
    """Appends one ``metrics.csv`` row per epoch (with lr and seconds) and beats ``run.json``."""

    def __init__(self, run_dir: Path, record: Any) -> None:
        super().__init__()
        self.path = Path(run_dir) / runfiles.METRICS
        self.record = record
        self.columns: list[str] | None = None
        self.rows: list[dict[str, float]] = []
        self.train_seconds: list[float] = []
        self._t0 = self._t_train_end = 0.0

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._lr = _lr(self.model)
        self._t0 = time.perf_counter()
        self._t_train_end = 0.0

    def on_test_begin(self, logs: dict | None = None) -> None:
        if not self._t_train_end:
            self._t_train_end = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        end = time.perf_counter()
        self.train_seconds.append((self._t_train_end or end) - self._t0)
        logs = dict(logs or {})
        if self.columns is None:
            cols = [*runfiles.METRICS_FIRST_COLUMNS, *metric_columns(logs)]
            self.columns = [*cols, runfiles.METRICS_LAST_COLUMN]
        row = {"epoch": epoch + 1, "lr": self._lr, "seconds": round(end - self._t0, 3)}
        row.update({k: float(v) for k, v in logs.items() if k in self.columns})
        self.rows.append(row)
        self._append(row, header=len(self.rows) == 1)
        self.record.heartbeat(len(self.rows))

    def _append(self, row: dict[str, float], header: bool) -> None:
        buf = io.StringIO()
        writer = csv.DictWriter(
            buf, fieldnames=self.columns, extrasaction="ignore", lineterminator="\n"
        )
        if header:
            writer.writeheader()
        writer.writerow({k: _fmt(v) for k, v in row.items()})
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(buf.getvalue())
            f.flush()
            os.fsync(f.fileno())


def _fmt(value: float) -> str:
    if isinstance(value, int):
        return str(value)
    return f"{value:.6g}"


def infer_mode(monitor: str) -> str:
    """``min`` for losses and errors, ``max`` for scores (as Keras's ``mode='auto'``)."""
    name = monitor.removeprefix("val_")
    lower_is_better = ("loss", "error", "mae", "mse", "mape", "msle", "hinge", "divergence")
    return "min" if any(w in name for w in lower_is_better) else "max"


class Checkpointer(keras.callbacks.Callback):
    """Saves ``last.keras`` each epoch and ``best.keras`` on improvement, atomically."""

    def __init__(self, run_dir: Path, monitor: str) -> None:
        super().__init__()
        self.run_dir = Path(run_dir)
        self.monitor = monitor
        self.mode = infer_mode(monitor)
        self.best_value: float | None = None
        self.best_epoch: int | None = None

    def _better(self, value: float) -> bool:
        if math.isnan(value):
            return False
        if self.best_value is None:
            return True
        return value < self.best_value if self.mode == "min" else value > self.best_value

    def _save(self, name: str) -> None:
        final = self.run_dir / name
        tmp = final.with_name(f".tmp-{final.name}")  # keeps the .keras suffix Keras requires
        self.model.save(tmp)
        os.replace(tmp, final)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        value = (logs or {}).get(self.monitor)
        if value is not None and self._better(float(value)):
            self.best_value, self.best_epoch = float(value), epoch + 1
            self._save(runfiles.BEST_MODEL)
        self._save(runfiles.LAST_MODEL)


class RichProgress(keras.callbacks.Callback):
    """A progress bar per epoch and one line of figures when each epoch ends."""

    def __init__(self, console: Console, epochs: int, steps: int, refresh_s: float = 0.25) -> None:
        super().__init__()
        self.console, self.epochs, self.steps, self.refresh_s = console, epochs, steps, refresh_s
        self.progress = Progress(
            TextColumn("[bold]epoch {task.fields[epoch]}/{task.fields[epochs]}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.fields[figures]}"),
            console=console,
            transient=True,
        )
        self._task: Any = None
        self._last = 0.0

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.progress.start()

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._epoch_start = time.perf_counter()
        self._task = self.progress.add_task(
            "", total=self.steps, epoch=epoch + 1, epochs=self.epochs, figures=""
        )

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        now = time.perf_counter()
        if now - self._last < self.refresh_s and batch + 1 < self.steps:
            return
        self._last = now
        figures = "  ".join(f"{k} {float(v):.4f}" for k, v in (logs or {}).items())
        self.progress.update(self._task, completed=batch + 1, figures=figures)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self.progress.remove_task(self._task)
        logs = logs or {}
        figures = "  ".join(f"{k} {float(logs[k]):.4f}" for k in metric_columns(logs))
        seconds = time.perf_counter() - self._epoch_start
        self.console.print(
            f"epoch {epoch + 1:>3}/{self.epochs}  {figures}  lr {_lr(self.model):.3g}  "
            f"{seconds:.1f}s",
            highlight=False,
            soft_wrap=True,
        )

    def on_train_end(self, logs: dict | None = None) -> None:
        self.progress.stop()


def user_callbacks(specs: list[dict[str, dict[str, Any]]], run_dir: Path) -> list[Any]:
    """The experiment's ``callbacks:`` as Keras callback objects."""
    out = []
    for spec in specs:
        ((name, args),) = spec.items()
        cls = getattr(keras.callbacks, catalog.CALLBACK_CLASSES[name])
        if name == "tensorboard":
            args = {"log_dir": str(Path(run_dir) / runfiles.TENSORBOARD), **args}
        out.append(cls(**args))
    return out
