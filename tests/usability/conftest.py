"""Fixtures of the issue-13 usability tests (helpers: usability_helpers.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from usability_helpers import make_run, train_tiny


@pytest.fixture
def compare_runs(tmp_path: Path) -> Path:
    """Four runs that differ in optimizer and dropout; one of them failed."""
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
    tmp = tmp_path_factory.mktemp("trained")
    result, run = train_tiny(tmp, tmp / "runs", "--epochs", "1")
    assert result.returncode == 0 and run is not None, result.stderr[-3000:]
    return run
