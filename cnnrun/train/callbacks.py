"""Keras callbacks of a run: metrics.csv rows, atomic checkpoints, progress, user callbacks."""

from __future__ import annotations

import csv
import io
import math
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from cnnrun import catalog, runfiles, signals
from cnnrun.tf_env import import_keras
from cnnrun.train import resume

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
    """Keeps ``metrics.csv`` (one row per epoch, with lr and seconds) and beats ``run.json``.

    The whole file is rewritten atomically after each epoch, so a kill never leaves a torn
    row; a resumed run starts from the rows of the epochs it kept.
    """

    def __init__(self, run_dir: Path, record: Any, rows: list[dict[str, Any]] | None = None):
        super().__init__()
        self.path = Path(run_dir) / runfiles.METRICS
        self.record = record
        self.rows: list[dict[str, Any]] = list(rows or [])
        self.columns: list[str] | None = list(self.rows[0]) if self.rows else None
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
        row: dict[str, Any] = {"epoch": epoch + 1, "lr": self._lr}
        row.update({k: float(v) for k, v in logs.items() if k in self.columns})
        row["seconds"] = round(end - self._t0, 3)
        self.rows = [r for r in self.rows if int(r["epoch"]) < epoch + 1] + [row]
        write_metrics(self.path, self.columns, self.rows)
        self.record.heartbeat(epoch + 1)


def write_metrics(path: Path, columns: list[str], rows: list[dict[str, Any]]) -> None:
    """Atomically write ``metrics.csv``."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _fmt(v) for k, v in row.items()})
    runfiles.atomic_write_text(path, buf.getvalue())


def read_metrics(path: Path, up_to_epoch: int) -> list[dict[str, Any]]:
    """The rows of ``metrics.csv`` up to ``up_to_epoch`` (inclusive), for a resume."""
    if not Path(path).exists():
        return []
    with open(path, newline="", encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if r.get("epoch", "").isdigit()]
    return [r for r in rows if int(r["epoch"]) <= up_to_epoch]


def _fmt(value: Any) -> str:
    if isinstance(value, int | str):
        return str(value)
    return f"{value:.6g}"


def infer_mode(monitor: str) -> str:
    """``min`` for losses and errors, ``max`` for scores (as Keras's ``mode='auto'``)."""
    name = monitor.removeprefix("val_")
    lower_is_better = ("loss", "error", "mae", "mse", "mape", "msle", "hinge", "divergence")
    return "min" if any(w in name for w in lower_is_better) else "max"


class Checkpointer(keras.callbacks.Callback):
    """Tracks the best ``monitor`` value; :class:`StateSaver` then links ``best.keras``.

    The model is saved once per epoch (by :class:`StateSaver`); an improving epoch's
    checkpoint becomes ``best.keras`` by a hard link, not a second save.
    """

    def __init__(self, monitor: str) -> None:
        super().__init__()
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

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        value = (logs or {}).get(self.monitor)
        if value is not None and self._better(float(value)):
            self.best_value, self.best_epoch = float(value), epoch + 1


class NanGuard(keras.callbacks.Callback):
    """Stops training when the loss is not a finite number; the epoch is not checkpointed."""

    def __init__(self) -> None:
        super().__init__()
        self.nan_epoch: int | None = None

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            self.nan_epoch = epoch + 1
            self.model.stop_training = True


class StopCheck(keras.callbacks.Callback):
    """Re-raises, at the next batch, a Ctrl-C or SIGTERM whose exception was swallowed."""

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        signals.raise_if_stopped()

    def on_test_batch_end(self, batch: int, logs: dict | None = None) -> None:
        signals.raise_if_stopped()

    def on_predict_batch_end(self, batch: int, logs: dict | None = None) -> None:
        signals.raise_if_stopped()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        signals.raise_if_stopped()


class StateSaver(keras.callbacks.Callback):
    """Checkpoints the model and the resume state after each good epoch (one save)."""

    def __init__(
        self, run_dir: Path, guard: NanGuard, callbacks: list[Any], best: Checkpointer
    ) -> None:
        super().__init__()
        self.run_dir, self.guard, self.callbacks, self.best = Path(run_dir), guard, callbacks, best

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if self.guard.nan_epoch is None:
            is_best = self.best.best_epoch == epoch + 1
            with signals.deferred():  # a stop waits for the checkpoint (a second or two)
                resume.save(self.run_dir, self.model, epoch + 1, self.callbacks, is_best=is_best)


class StateRestorer(keras.callbacks.Callback):
    """Puts callback counters and RNG states back when a resumed run begins.

    It must come after the callbacks it restores, whose ``on_train_begin`` resets them.
    """

    def __init__(self, callbacks: list[Any], state: resume.EpochState) -> None:
        super().__init__()
        self.callbacks, self.state = callbacks, state

    def on_train_begin(self, logs: dict | None = None) -> None:
        resume.restore_callback_state(self.callbacks, self.state.callbacks)
        resume.restore_rng_state(self.model, self.state.rng)


class SamplesPerSecond(ProgressColumn):
    """The training speed, ``1,234 samples/s`` (blank until it is known)."""

    def __init__(self, batch_size: int) -> None:
        super().__init__()
        self.batch_size = batch_size

    def render(self, task: Task) -> Text:
        speed = task.speed
        return Text("" if speed is None else f"{speed * self.batch_size:,.0f} samples/s")


class RichProgress(keras.callbacks.Callback):
    """A progress bar per epoch (ETA, samples/s) and one line of figures when each epoch ends."""

    def __init__(
        self,
        console: Console,
        epochs: int,
        steps: int,
        refresh_s: float = 0.25,
        batch_size: int | None = None,
    ) -> None:
        super().__init__()
        self.console, self.epochs, self.steps, self.refresh_s = console, epochs, steps, refresh_s
        speed = [SamplesPerSecond(batch_size)] if batch_size else []
        self.progress = Progress(
            TextColumn("[bold]epoch {task.fields[epoch]}/{task.fields[epochs]}"),
            BarColumn(bar_width=24),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            *speed,
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
