"""Shared fixtures: tiny experiment files and paths to the optional real data."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

REPO = Path(__file__).resolve().parents[1]
CONFIGS = sorted((REPO / "configs").glob("*.yaml"))
SHARED_DATA = Path(os.environ.get("CNNRUN_SHARED_DATA", REPO.parent / "shared" / "data"))


def loaded_after(commands: list[list[str]], modules: tuple[str, ...]) -> list[str]:
    """Which of ``modules`` a fresh interpreter has imported after running the CLI commands.

    Each command runs through Typer's ``CliRunner`` in that interpreter and must exit 0.
    """
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from cnnrun.cli.app import app\n"
        "r = CliRunner()\n"
        f"for args in {commands!r}:\n"
        "    res = r.invoke(app, args)\n"
        "    assert res.exit_code == 0, (args, res.output)\n"
        f"print([m for m in {modules!r} if m in sys.modules])\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "tests")])}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120
    )
    assert out.returncode == 0, out.stderr
    return ast.literal_eval(out.stdout.strip().splitlines()[-1])


TINY = """\
name: tiny
seed: 7
data:
  dataset: synthetic
  limit: 96
  test_limit: 32
  validation_split: 0.25
  batch_size: 16
model:
  input_shape: [12, 12, 1]
  layers:
    - Conv2D: {filters: 4, kernel_size: 3, activation: relu}
    - MaxPooling2D: [2, 2]
    - Flatten
    - Dense: {units: 3, activation: softmax}
optimizer: {name: adam, learning_rate: 1.0e-2}
loss: sparse_categorical_crossentropy
metrics: [accuracy]
epochs: 2
"""


@pytest.fixture
def tiny_config(tmp_path: Path) -> Path:
    """A small valid experiment on synthetic data that trains in about a second."""
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY)
    return path


@pytest.fixture
def shared_data() -> Path:
    """The real MNIST / Fashion-MNIST files, or skip when they are absent."""
    if not (SHARED_DATA / "mnist.npz").exists():
        pytest.skip(f"real data not found in {SHARED_DATA}")
    return SHARED_DATA


# ---------------------------------------------------------------------------------------
# Fixtures of the tests that drive the CLI as a user does (helpers: cli_helpers.py)


@pytest.fixture
def compare_runs(tmp_path: Path) -> Path:
    """Four runs that differ in optimizer and dropout; one of them failed."""
    from cli_helpers import make_run

    root = tmp_path / "runs"
    make_run(root, "adam", stamp="20240101-120000", quality=0.90)
    make_run(
        root,
        "sgd",
        stamp="20240101-130000",
        quality=0.80,
        optimizer={"name": "sgd", "learning_rate": 0.01},
    )
    make_run(root, "drop", stamp="20240101-140000", quality=0.95, dropout=0.5)
    make_run(root, "boom", stamp="20240101-160000", status="failed", reason="OOM", epochs=1)
    return root


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One completed classification run of the tiny synthetic experiment (about 10 s)."""
    from cli_helpers import train_tiny

    tmp = tmp_path_factory.mktemp("trained")
    result, run = train_tiny(tmp, tmp / "runs", "--epochs", "1")
    assert result.returncode == 0 and run is not None, result.stderr[-3000:]
    return run
