"""Smoke-training a shipped config in-process, for the tests of configs/."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from conftest import CONFIGS
from typer.testing import CliRunner

from cnnrun.cli.app import app


def config_named(stem: str) -> Path:
    """The shipped config ``configs/<stem>.yaml``."""
    return next(p for p in CONFIGS if p.stem == stem)


def smoke_train(config: Path, runs_dir: Path, overrides: Sequence[str] = ()) -> Path:
    """``cnnrun train CONFIG --smoke --synthetic --set ...``; the run folder it completed."""
    sets = [arg for s in overrides for arg in ("--set", s)]
    res = CliRunner().invoke(
        app, ["train", str(config), "--smoke", "--synthetic", "--runs-dir", str(runs_dir), *sets]
    )
    assert res.exit_code == 0, res.output
    run = runs_dir / res.output.strip().splitlines()[-1].rsplit("/", 1)[-1]
    results = json.loads((run / "results.json").read_text())
    assert results["epochs_completed"] >= 1
    return run
