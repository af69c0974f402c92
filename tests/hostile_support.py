"""Helpers for the hostile-input tests of issue 15 (test_yaml_bounds.py, test_run_lock.py, ...).

Most of those tests drive ``python -m cnnrun ...`` in a subprocess (cwd a temporary
folder, no GPU, TensorFlow quiet), with a time limit and, where a test feeds something
that could blow up, a memory limit (RLIMIT_AS) or a file-size limit (RLIMIT_FSIZE).
Nothing here imports cnnrun. Tests that train (TensorFlow in a subprocess) are `slow`.
"""

from __future__ import annotations

import hashlib
import json
import os
import resource
import shutil
import signal
import struct
import subprocess
import sys
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conftest import TINY

REPO = Path(__file__).resolve().parents[1]
GiB = 1 << 30
MiB = 1 << 20

# A small valid experiment on generated data (trains in about a second once TF is loaded).

# Trains for minutes (many epochs of many batches): for tests that stop it midway.
LONG = TINY.replace("limit: 96", "limit: 4000").replace("epochs: 2", "epochs: 500")

# An .npz data set of 12x12 grey images and 3 classes, read from `data.path`.
NPZ_CONFIG = """\
name: npz
seed: 7
data: {{dataset: npz, path: {path}, validation_split: 0.25, batch_size: 16}}
model:
  input_shape: [12, 12, 1]
  layers:
    - Flatten
    - Dense: {{units: 3, activation: softmax}}
optimizer: {{name: adam, learning_rate: 1.0e-2}}
loss: {loss}
metrics: [accuracy]
epochs: 1
"""


def _pythonpath() -> str:
    """Where the package lives: ``src/`` today, the repository root after the move."""
    src = REPO / "src"
    return str(src if (src / "cnnrun").is_dir() else REPO)


def cli_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        TF_CPP_MIN_LOG_LEVEL="2",
        CUDA_VISIBLE_DEVICES="",
        CNNRUN_OFFLINE="1",
        PYTHONPATH=_pythonpath(),
        COLUMNS="400",  # Rich's width when not a terminal: long paths stay on one line
    )
    env.update(extra)
    return env


def limits(mem: int | None = None, fsize: int | None = None):  # noqa: ANN201
    """A ``preexec_fn`` that caps the child's address space and file sizes, in its own group."""

    def apply() -> None:
        os.setpgrp()  # so a timeout can kill the whole group
        if mem is not None:
            resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
        if fsize is not None:
            # Python ignores SIGXFSZ, so an oversized write fails with OSError (EFBIG).
            resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))

    return apply


@dataclass(repr=False)
class Result:
    """What a finished (or timed-out) command gave."""

    args: list[str]
    returncode: int | None  # None: killed at the time limit
    stdout: str
    stderr: str
    seconds: float

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def __repr__(self) -> str:  # shown when an assertion fails
        return (
            f"cnnrun {' '.join(self.args)}\n  exit {self.returncode} after {self.seconds:.1f} s"
            f"\n--- stdout (tail) ---\n{self.stdout[-2500:]}"
            f"\n--- stderr (tail) ---\n{self.stderr[-4000:]}"
        )


def command(*args: object) -> list[str]:
    return [sys.executable, "-m", "cnnrun", *map(str, args)]


def cnnrun(
    *args: object,
    cwd: Path,
    timeout: float = 180,
    mem: int | None = None,
    fsize: int | None = None,
    env: dict[str, str] | None = None,
) -> Result:
    """Run ``cnnrun ARGS`` and wait (killing its process group at ``timeout``)."""
    cmd = command(*args)
    t0 = time.monotonic()
    proc = subprocess.Popen(
        cmd,
        cwd=cwd,
        env=env or cli_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        errors="replace",
        preexec_fn=limits(mem, fsize),
    )
    try:
        out, err = proc.communicate(timeout=timeout)
        code: int | None = proc.returncode
    except subprocess.TimeoutExpired:
        kill_group(proc)
        out, err = proc.communicate()
        code = None
        err += f"\n[test: killed after the {timeout:.0f} s limit]"
    return Result([str(a) for a in args], code, out, err, time.monotonic() - t0)


def start(*args: object, cwd: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
    """Start ``cnnrun ARGS`` in the background (own process group), output piped."""
    return subprocess.Popen(
        command(*args),
        cwd=cwd,
        env=env or cli_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        errors="replace",
        preexec_fn=limits(),
    )


def finish(proc: subprocess.Popen, args: list[str], t0: float, timeout: float = 180) -> Result:
    """Wait for a process from :func:`start`."""
    try:
        out, err = proc.communicate(timeout=timeout)
        code: int | None = proc.returncode
    except subprocess.TimeoutExpired:
        kill_group(proc)
        out, err = proc.communicate()
        code = None
    return Result(args, code, out, err, time.monotonic() - t0)


def kill_group(proc: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass


def error_lines(res: Result) -> list[str]:
    return [line for line in res.stderr.splitlines() if line.startswith("error:")]


def assert_clean_error(res: Result, code: int, *needles: str) -> str:
    """Exit ``code``, no traceback, exactly one ``error:`` line (which holds ``needles``).

    Returns the error line.
    """
    assert res.returncode == code, res
    for bad in ("Traceback", "During handling", "MemoryError", "RecursionError"):
        assert bad not in res.output, res
    lines = error_lines(res)
    assert len(lines) == 1, res
    line = lines[0]
    assert len(line) < 600, res
    for needle in needles:
        assert needle in res.stderr, f"{needle!r} not in stderr\n{res}"
    return line


def no_traceback(res: Result) -> None:
    for bad in ("Traceback", "During handling", "MemoryError", "RecursionError"):
        assert bad not in res.output, res


def run_folders(runs: Path) -> list[Path]:
    """The run folders directly under ``runs`` (none when it does not exist)."""
    if not runs.is_dir():
        return []
    return sorted(p for p in runs.iterdir() if p.is_dir())


def last_line(res: Result) -> str:
    lines = res.stdout.strip().splitlines()
    return lines[-1].strip() if lines else ""


def record(run: Path) -> dict:
    return json.loads((run / "run.json").read_text())


def snapshot(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` (relative path -> sha256), to check nothing changed."""
    out = {}
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            out[str(p.relative_to(folder))] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


# ---------------------------------------------------------------------------------------
# One trained run per test session, copied by the tests that change it

_TRAINED: dict[str, Path] = {}


def trained_run(factory) -> Path:  # noqa: ANN001 - pytest's TempPathFactory
    """A completed 2-epoch run of :data:`TINY` (trained once per session). Do not modify."""
    if "tiny" not in _TRAINED:
        root = factory.mktemp("trained")
        (root / "tiny.yaml").write_text(TINY)
        res = cnnrun("train", "tiny.yaml", "--runs-dir", "runs", cwd=root, timeout=300)
        assert res.returncode == 0, res
        run = root / last_line(res)
        assert record(run)["status"] == "completed", res
        _TRAINED["tiny"] = run
    return _TRAINED["tiny"]


def copy_run(factory, dest: Path) -> Path:  # noqa: ANN001
    """A private copy of :func:`trained_run` at ``dest/<run name>`` (hard links kept)."""
    src = trained_run(factory)
    target = dest / src.name
    shutil.copytree(src, target, symlinks=True)
    return target


def wait_for(predicate, timeout: float = 120.0, proc: subprocess.Popen | None = None) -> None:  # noqa: ANN001
    """Poll ``predicate()`` until true; fail if ``proc`` ends first or time runs out."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return
        if proc is not None and proc.poll() is not None:
            out, err = proc.communicate()
            raise AssertionError(f"the process ended first (exit {proc.returncode})\n{err[-3000:]}")
        time.sleep(0.02)
    raise AssertionError("timed out waiting")


# ---------------------------------------------------------------------------------------
# Files


def png_of_zeros(path: Path, width: int, height: int, bit_depth: int = 1) -> Path:
    """A valid greyscale PNG of ``width x height`` zeros, written without holding its pixels.

    At 1 bit per pixel a 20000x20000 picture is a ~50 KB file; at 8 bits a 10000x10000 one
    is ~97 KB: decompression bombs.
    """

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\x00" * (1 + (width * bit_depth + 7) // 8)
    comp = zlib.compressobj(9)
    parts, left, block = [], height, row * 256
    while left:
        n = min(256, left)
        parts.append(comp.compress(block if n == 256 else row * n))
        left -= n
    parts.append(comp.flush())
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, 0, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", b"".join(parts))
        + chunk(b"IEND", b"")
    )  # fmt: skip
    return path


def fake_completed_run(dest: Path) -> Path:
    """A run folder as a completed 2-epoch run of :data:`TINY` leaves it, without training.

    Enough for the checks `train --resume` makes before TensorFlow loads (run.json,
    config.yaml, metrics.csv, checkpoints/state.json); the checkpoints are placeholders.
    """
    run = dest / "20260101-000000-tiny"
    (run / "checkpoints").mkdir(parents=True)
    (run / "config.yaml").write_text(TINY)
    (run / "run.json").write_text(
        json.dumps({"status": "completed", "name": "tiny", "epochs_completed": 2, "pid": 1})
    )
    (run / "metrics.csv").write_text(
        "epoch,lr,accuracy,loss,val_accuracy,val_loss,seconds\n"
        "1,0.01,0.4,1.09,0.5,1.05,0.8\n2,0.01,0.6,0.98,0.6,0.97,0.3\n"
    )
    epochs = [
        {"epoch": e, "checkpoint": f"checkpoints/epoch-{e:04d}.keras", "callbacks": {}, "rng": {}}
        for e in (1, 2)
    ]
    (run / "checkpoints" / "state.json").write_text(json.dumps({"epochs": epochs}))
    for e in (1, 2):
        (run / "checkpoints" / f"epoch-{e:04d}.keras").write_bytes(b"PK placeholder")
    return run


def small_arrays(**changes: Any) -> dict[str, Any]:
    """Arrays of a tiny classification data set (12x12 grey, 3 classes), keras.datasets layout.

    Each keyword replaces one array (``y_train=...``), to make it hostile.
    """
    import numpy as np

    rng = np.random.default_rng(0)
    data = {
        "x_train": rng.integers(0, 255, (64, 12, 12), dtype=np.uint8),
        "y_train": rng.integers(0, 3, 64),
        "x_test": rng.integers(0, 255, (32, 12, 12), dtype=np.uint8),
        "y_test": rng.integers(0, 3, 32),
    }
    data.update(changes)
    return data
