"""Write fake run folders (config.yaml, run.json, metrics.csv, results.json) for tests.

Used by tests/test_runs.py, test_compare.py, test_show.py, test_plots.py and by
benchmarks/bench_compare.py. Imports no TensorFlow.
"""

from __future__ import annotations

import copy
import csv
import io
import math
import os
import re
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from cnnrun import runfiles

BASE_CONFIG: dict[str, Any] = {
    "name": "fashion_bn",
    "seed": 1337,
    "task": "classification",
    "data": {
        "dataset": "fashion_mnist",
        "path": None,
        "validation_split": 0.1,
        "validation": None,
        "batch_size": 32,
        "limit": None,
        "test_limit": None,
        "shuffle": True,
    },
    "model": {
        "input_shape": [28, 28, 1],
        "layers": [
            {"Conv2D": {"filters": 32, "kernel_size": 3, "activation": "relu", "padding": "same"}},
            "BatchNormalization",
            {"Dropout": 0.25},
            {"MaxPooling2D": [2, 2]},
            "Flatten",
            {"Dense": {"units": 10, "activation": "softmax"}},
        ],
    },
    "optimizer": {"name": "adam", "learning_rate": 0.001},
    "schedule": None,
    "loss": "sparse_categorical_crossentropy",
    "metrics": ["accuracy"],
    "epochs": 5,
    "callbacks": [{"early_stopping": {"monitor": "val_loss", "patience": 5}}],
}

_INDEX = re.compile(r"^(?P<key>[^\[]*)(?P<indices>(\[\d+\])*)$")


def set_dotted(config: dict[str, Any], dotted: str, value: Any) -> None:
    """Set ``model.layers[2].Dropout``-style keys in a nested config, in place."""
    parts = dotted.split(".")
    node: Any = config
    for i, part in enumerate(parts):
        match = _INDEX.match(part)
        assert match, part
        key = match["key"]
        indices = [int(x) for x in re.findall(r"\d+", match["indices"])]
        steps: list[Any] = ([key] if key else []) + indices
        for j, step in enumerate(steps):
            last = i == len(parts) - 1 and j == len(steps) - 1
            if last:
                node[step] = value
            else:
                if isinstance(step, str) and (step not in node or node[step] is None):
                    node[step] = {}
                node = node[step]


def make_config(overrides: dict[str, Any] | None = None, **top: Any) -> dict[str, Any]:
    """Return a deep copy of `BASE_CONFIG` with dotted ``overrides`` and top-level keys."""
    config = copy.deepcopy(BASE_CONFIG)
    config.update(top)
    for key, value in (overrides or {}).items():
        set_dotted(config, key, value)
    return config


def metric_rows(
    epochs: int,
    *,
    metrics: tuple[str, ...] = ("accuracy",),
    validation: bool = True,
    quality: float = 0.9,
    lr: float = 0.001,
    decay: float = 1.0,
) -> list[dict[str, float]]:
    """Make plausible, deterministic per-epoch metrics (loss falls, accuracy rises)."""
    rows = []
    for epoch in range(1, epochs + 1):
        progress = 1 - math.exp(-epoch / 2)
        row: dict[str, float] = {"epoch": epoch, "lr": lr * decay ** (epoch - 1)}
        row["loss"] = round(1.2 - 0.9 * quality * progress, 6)
        for m in metrics:
            row[m] = round(0.5 + (quality - 0.5) * progress, 6)
        if validation:
            row["val_loss"] = round(row["loss"] + 0.05 + 0.01 * max(0, epoch - 4), 6)
            for m in metrics:
                row[f"val_{m}"] = round(row[m] - 0.02, 6)
        row["seconds"] = 10.0 + epoch * 0.1
        rows.append(row)
    return rows


def metrics_text(rows: list[dict[str, float]]) -> str:
    """Render rows as metrics.csv text (header from the first row's keys)."""
    out = io.StringIO()
    if rows:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return out.getvalue()


def results_for(
    rows: list[dict[str, float]], metrics: tuple[str, ...], params: int = 34826
) -> dict[str, Any]:
    """Build the results.json a completed run with these epochs would have."""
    monitor = "val_loss" if rows and "val_loss" in rows[0] else "loss"
    best = min(rows, key=lambda r: r[monitor]) if rows else None
    last = rows[-1] if rows else {}
    test = {"loss": round(last.get("loss", 1.0) + 0.03, 6)}
    test.update({m: round(last.get(m, 0.0) - 0.01, 6) for m in metrics})
    return {
        "test": test,
        "best": {
            "epoch": int(best["epoch"]) if best else None,
            "monitor": monitor,
            "value": best[monitor] if best else None,
        },
        "params": {"total": params, "trainable": params, "non_trainable": 0},
        "epochs_completed": len(rows),
        "wall_time_s": round(sum(r["seconds"] for r in rows) + 3.0, 3),
        "train_samples_per_s": 3700.0,
    }


def make_run(
    root: Path,
    name: str = "fashion_bn",
    *,
    stamp: str = "20240101-120000",
    status: str = "completed",
    reason: str | None = None,
    epochs: int = 5,
    metrics: tuple[str, ...] = ("accuracy",),
    validation: bool = True,
    quality: float = 0.9,
    lr_decay: float = 1.0,
    overrides: dict[str, Any] | None = None,
    config: dict[str, Any] | None = None,
    params: int = 34826,
    results: bool | dict[str, Any] | str = True,
    heartbeat_age_s: float = 5.0,
    host: str | None = None,
    pid: int | None = None,
    files: tuple[str, ...] = (runfiles.CONFIG, runfiles.RUN, runfiles.METRICS, runfiles.RESULTS),
) -> Path:
    """Write one fake run folder under ``root`` and return its path.

    Args:
        root: The runs folder.
        name: Run name (folder suffix and ``name`` in the config and run.json).
        stamp: Folder timestamp prefix.
        status: run.json status.
        reason: run.json reason.
        epochs: Rows in metrics.csv.
        metrics: Metric names (besides loss).
        validation: Whether val_ columns are written.
        quality: Final accuracy-ish level; higher is better.
        lr_decay: Per-epoch learning-rate factor (1.0: constant).
        overrides: Dotted config overrides.
        config: A full config instead of the base one.
        params: Total parameter count.
        results: True writes results.json for completed runs; a dict writes it as is; a
            str writes that raw text (garbage); False writes none.
        heartbeat_age_s: How old heartbeat_at is.
        host: run.json host (default: this host).
        pid: run.json pid (default: this process, which is alive).
        files: Which files to write.
    """
    config = config if config is not None else make_config(overrides, name=name)
    folder = Path(root) / f"{stamp}-{name}"
    folder.mkdir(parents=True, exist_ok=True)
    lr = float((config.get("optimizer") or {}).get("learning_rate", 0.001))
    rows = metric_rows(
        epochs, metrics=metrics, validation=validation, quality=quality, lr=lr, decay=lr_decay
    )
    now = datetime.now(UTC)
    info = {
        "status": status,
        "reason": reason,
        "name": name,
        "task": config.get("task", "classification"),
        "dataset": (config.get("data") or {}).get("dataset"),
        "started_at": (now - timedelta(seconds=heartbeat_age_s + 60)).isoformat(),
        "ended_at": None if status == "running" else now.isoformat(),
        "heartbeat_at": (now - timedelta(seconds=heartbeat_age_s)).isoformat(),
        "command": ["cnnrun", "train", f"configs/{name}.yaml"],
        "seed": config.get("seed", 0),
        "smoke": False,
        "config_file": f"configs/{name}.yaml",
        "versions": {"cnnrun": "0.1.0", "keras": "3.15.1", "tensorflow": "2.21.0"},
        "git_commit": None,
        "host": host or socket.gethostname(),
        "pid": os.getpid() if pid is None else pid,
    }
    if runfiles.CONFIG in files:
        runfiles.atomic_write_text(
            folder / runfiles.CONFIG, yaml.safe_dump(config, sort_keys=False)
        )
    if runfiles.RUN in files:
        runfiles.write_json(folder / runfiles.RUN, info)
    if runfiles.METRICS in files:
        runfiles.atomic_write_text(folder / runfiles.METRICS, metrics_text(rows))
    if runfiles.RESULTS in files and results is not False:
        if isinstance(results, str):
            runfiles.atomic_write_text(folder / runfiles.RESULTS, results)
        elif isinstance(results, dict):
            runfiles.write_json(folder / runfiles.RESULTS, results)
        elif status == "completed":
            runfiles.write_json(folder / runfiles.RESULTS, results_for(rows, metrics, params))
    return folder
