"""Helpers for tests that use cnnrun as a user does (issue 13): the CLI, fake run folders.

Everything here drives cnnrun through its command line in a fresh interpreter
(``python -m cnnrun``) and never imports a cnnrun module, so these tests do not depend on
where the package's modules live.
"""

from __future__ import annotations

import csv
import fcntl
import io
import json
import math
import os
import re
import select
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from conftest import TINY

REPO = Path(__file__).resolve().parents[1]
REPO_CONFIGS = REPO / "configs"

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07|\x1b[()][AB012]")
BOX = re.compile(r"[\u2500-\u257f]")  # box-drawing characters (table borders)


# A folder name long enough that any path under it is wider than 120 columns.
LONG = "a_folder_name_long_enough_that_every_path_below_it_is_wider_than_the_terminal_" + "x" * 40


def cli_env(columns: int | None = 80, **extra: str) -> dict[str, str]:
    """The environment of a user's shell: no GPU, quiet TensorFlow, a fixed width, offline."""
    env = dict(os.environ)
    env.pop("COLUMNS", None)
    env.pop("LINES", None)
    env.update(TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="", CNNRUN_OFFLINE="1")
    if columns is not None:
        env["COLUMNS"] = str(columns)
    env.update(extra)
    return env


def cli(
    *args: Any,
    columns: int | None = 80,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 300,
    python: str | Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m cnnrun ARGS`` with stdout and stderr piped (not a terminal)."""
    cmd = [str(python or sys.executable), "-m", "cnnrun", *map(str, args)]
    return subprocess.run(  # noqa: UP022 - stdout is a pipe, as for a user's `| less`
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        cwd=cwd,
        env=env if env is not None else cli_env(columns),
        timeout=timeout,
    )


def cli_popen(*args: Any, columns: int = 120, cwd: Path | None = None) -> subprocess.Popen[str]:
    """Start ``python -m cnnrun ARGS`` in the background, stdout and stderr piped."""
    cmd = [sys.executable, "-m", "cnnrun", *map(str, args)]
    return subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        cwd=cwd,
        env=cli_env(columns),
    )


def run_in_terminal(
    *args: Any, columns: int, rows: int = 50, cwd: Path | None = None, timeout: float = 300
) -> tuple[int, str]:
    """Run ``python -m cnnrun ARGS`` in a pseudo-terminal of ``columns`` x ``rows``.

    Returns:
        The exit code and everything written to the terminal (stdout and stderr together,
        escape sequences included; see `plain`).
    """
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    env = cli_env(columns, TERM="xterm-256color")
    proc = subprocess.Popen(
        [sys.executable, "-m", "cnnrun", *map(str, args)],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        cwd=cwd,
        env=env,
        close_fds=True,
        start_new_session=True,
    )
    os.close(slave)
    chunks: list[bytes] = []
    end = time.monotonic() + timeout
    try:
        while time.monotonic() < end:
            ready, _, _ = select.select([master], [], [], 1.0)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # EIO: the child closed the terminal
                    break
                if not chunk:
                    break
                chunks.append(chunk)
            elif proc.poll() is not None:
                break
        else:
            proc.kill()
            raise AssertionError(f"cnnrun {args} did not end within {timeout} s")
    finally:
        os.close(master)
    return proc.wait(timeout=30), b"".join(chunks).decode("utf-8", errors="replace")


def plain(text: str) -> str:
    """``text`` without terminal escape sequences, with ``\\r\\n`` as ``\\n``."""
    return ANSI.sub("", text).replace("\r\n", "\n")


def tokens(line: str) -> list[tuple[int, int, str]]:
    """The words of one output line with their start and end columns (table borders split)."""
    line = BOX.sub(" ", line)
    return [(m.start(), m.end(), m.group()) for m in re.finditer(r"\S+", line)]


def broken_words(text: str, vocabulary: set[str]) -> list[str]:
    """Words of ``vocabulary`` that ``text`` breaks over two lines (``comple`` / ``ted``).

    A break is two words on consecutive lines that start or end at the same column (the
    same table cell, left- or right-aligned) and together form a piece of one vocabulary
    word that neither of them is alone. Abbreviations (``acc``, ``fashion…``) and words
    wrapped between words (``best`` / ``val_loss``) are not breaks.
    """
    lines = text.splitlines()
    found = []
    for upper, lower in zip(lines, lines[1:], strict=False):
        for s1, e1, w1 in tokens(upper):
            for s2, e2, w2 in tokens(lower):
                if s1 != s2 and e1 != e2:
                    continue
                if w1 in vocabulary and w2 in vocabulary:
                    continue
                joined = w1 + w2
                if any(joined in word for word in vocabulary):
                    found.append(f"{w1!r} / {w2!r}")
    return found


def markdown_vocabulary(markdown: str) -> set[str]:
    """Every word of a Markdown table (headers and cells), which is never wrapped."""
    words = set()
    for line in markdown.splitlines():
        for cell in line.strip().strip("|").split("|"):
            words.update(cell.split())
    return {w for w in words if not set(w) <= set("-:")}


# ---------------------------------------------------------------------------------------
# Fake run folders (the minimal logic of tests/run_factory.py, without importing cnnrun)

BASE_CONFIG: dict[str, Any] = {
    "name": "fashion_bn",
    "seed": 1337,
    "task": "classification",
    "data": {
        "dataset": "fashion_mnist",
        "path": None,
        "validation": "split",
        "validation_split": 0.1,
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
    "callbacks": [],
}


def _atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def make_run(
    root: Path,
    name: str,
    *,
    stamp: str = "20240101-120000",
    status: str = "completed",
    reason: str | None = None,
    epochs: int = 5,
    quality: float = 0.9,
    optimizer: dict[str, Any] | None = None,
    dropout: float | None = None,
    lr_column: float | None = None,
    results: bool = True,
) -> Path:
    """Write one run folder (config.yaml, run.json, metrics.csv, results.json) under ``root``."""
    config = json.loads(json.dumps(BASE_CONFIG))
    config["name"] = name
    if optimizer is not None:
        config["optimizer"] = optimizer
    if dropout is not None:
        config["model"]["layers"][2] = {"Dropout": dropout}
    folder = Path(root) / f"{stamp}-{name}"
    folder.mkdir(parents=True, exist_ok=True)
    lr = lr_column if lr_column is not None else (config["optimizer"].get("learning_rate") or 0.01)
    rows = []
    for epoch in range(1, epochs + 1):
        progress = 1 - math.exp(-epoch / 2)
        row: dict[str, float] = {"epoch": epoch, "lr": lr}
        row["loss"] = round(1.2 - 0.9 * quality * progress, 6)
        row["accuracy"] = round(0.5 + (quality - 0.5) * progress, 6)
        row["val_loss"] = round(row["loss"] + 0.05, 6)
        row["val_accuracy"] = round(row["accuracy"] - 0.02, 6)
        row["seconds"] = 10.0 + epoch * 0.1
        rows.append(row)
    out = io.StringIO()
    if rows:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    now = datetime.now(UTC)
    info = {
        "status": status,
        "reason": reason,
        "name": name,
        "task": "classification",
        "dataset": config["data"]["dataset"],
        "started_at": (now - timedelta(seconds=65)).isoformat(),
        "ended_at": now.isoformat(),
        "heartbeat_at": (now - timedelta(seconds=5)).isoformat(),
        "command": ["cnnrun", "train", f"configs/{name}.yaml"],
        "seed": 1337,
        "smoke": False,
        "config_file": f"configs/{name}.yaml",
        "versions": {"cnnrun": "0.1.0", "keras": "3.15.1", "tensorflow": "2.21.0"},
        "git_commit": None,
        "host": os.uname().nodename,
        "pid": os.getpid(),
    }
    _atomic(folder / "config.yaml", yaml.safe_dump(config, sort_keys=False))
    _atomic(folder / "run.json", json.dumps(info, indent=2) + "\n")
    _atomic(folder / "metrics.csv", out.getvalue())
    if results and status == "completed" and rows:
        last, best = rows[-1], min(rows, key=lambda r: r["val_loss"])
        res = {
            "test": {
                "loss": round(last["loss"] + 0.03, 6),
                "accuracy": round(last["accuracy"] - 0.01, 6),
            },
            "best": {"epoch": int(best["epoch"]), "monitor": "val_loss", "value": best["val_loss"]},
            "params": {"total": 34826, "trainable": 34826, "non_trainable": 0},
            "epochs_completed": len(rows),
            "wall_time_s": round(sum(r["seconds"] for r in rows) + 3.0, 3),
            "train_samples_per_s": 3700.0,
        }
        _atomic(folder / "results.json", json.dumps(res, indent=2) + "\n")
    return folder


def train_tiny(
    tmp: Path, runs: Path, *extra: str, text: str = TINY, columns: int = 120
) -> tuple[subprocess.CompletedProcess[str], Path | None]:
    """Train the tiny synthetic experiment through the CLI; return the result and its run folder."""
    config = tmp / "tiny.yaml"
    config.write_text(text)
    result = cli("train", config, "--runs-dir", runs, *extra, columns=columns)
    lines = result.stdout.strip().splitlines()
    run = Path(lines[-1]) if lines and Path(lines[-1]).is_dir() else None
    return result, run


def lines_with(text: str, needle: str) -> list[str]:
    """The lines of ``text`` that contain ``needle``."""
    return [line for line in text.splitlines() if needle in line]


def assert_whole_on_a_line(text: str, needle: str, what: Sequence[str] | str = "") -> None:
    """``needle`` (a path, say) must appear unbroken on one line of ``text``."""
    if lines_with(text, needle):
        return
    start = needle[: min(30, len(needle))]
    near = lines_with(text, start) or text.splitlines()[:20]
    near_text = "\n".join(near)
    raise AssertionError(f"{what or needle!s} is not whole on any line; near it:\n{near_text}")
