"""`init_from: RUN_DIR`: a run starts from a completed run's weights (the chapter's §5.4)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import yaml
from init_from_support import kernel, write
from typer.testing import CliRunner

from cnnrun import runfiles
from cnnrun.cli.app import app

runner = CliRunner()


def train(config: Path, runs: Path) -> Path:
    res = runner.invoke(app, ["train", str(config), "--runs-dir", str(runs)])
    assert res.exit_code == 0, res.output
    return Path(res.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def base_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("base")
    return train(write(folder, "base.yaml"), folder / "runs")


def test_a_run_starts_from_the_weights_of_another(base_run: Path, tmp_path: Path) -> None:
    # A learning rate of ~0: the child ends where it started, at the base run's weights.
    (tmp_path / "sub").mkdir()
    relative = os.path.relpath(base_run, tmp_path / "sub")  # relative to the config file
    config = write(tmp_path / "sub", "child.yaml", lr=1e-12, extra=f"init_from: {relative}")
    fresh = write(tmp_path / "sub", "fresh.yaml", lr=1e-12)
    child = train(config, tmp_path / "runs")
    scratch = train(fresh, tmp_path / "runs")
    np.testing.assert_allclose(kernel(child), kernel(base_run), atol=1e-6)
    assert not np.allclose(kernel(scratch), kernel(base_run), atol=1e-3)
    saved = yaml.safe_load((child / runfiles.CONFIG).read_text())
    assert saved["init_from"] == {"run": str(base_run.resolve()), "checkpoint": "last"}
    for name in (runfiles.RESULTS, runfiles.RUN):
        recorded = json.loads((child / name).read_text())["init_from"]
        assert recorded["run"] == str(base_run.resolve())
        assert recorded["checkpoint"] == "last" and recorded["epochs"] == 1


def test_a_run_that_is_not_completed_is_refused_before_a_folder_exists(
    base_run: Path, tmp_path: Path
) -> None:
    failed = tmp_path / "failed"
    failed.mkdir()
    info = json.loads((base_run / runfiles.RUN).read_text())
    (failed / runfiles.RUN).write_text(json.dumps({**info, "status": "failed"}))
    for target, message in [(failed, "not a completed run"), (tmp_path / "nope", "not a folder")]:
        config = write(tmp_path, "child.yaml", extra=f"init_from: {target}")
        res = runner.invoke(app, ["train", str(config), "--runs-dir", str(tmp_path / "runs")])
        assert res.exit_code == 1, res.output
        assert message in " ".join(res.output.split())
        assert not (tmp_path / "runs").exists()


def test_a_model_of_other_shapes_is_refused_naming_the_layer(
    base_run: Path, tmp_path: Path
) -> None:
    config = write(
        tmp_path, "child.yaml", filters=8, extra=f"init_from: {{run: {base_run}, checkpoint: best}}"
    )
    res = runner.invoke(app, ["train", str(config), "--runs-dir", str(tmp_path / "runs")])
    assert res.exit_code == 2, res.output
    text = " ".join(res.output.split())
    assert "init_from" in text and "'conv2d'" in text
    assert not (tmp_path / "runs").exists()


def test_resume_continues_from_its_own_checkpoints(base_run: Path, tmp_path: Path) -> None:
    """--resume neither checks nor loads the source again (here it is gone)."""
    import shutil

    source = tmp_path / "source"
    shutil.copytree(base_run, source)
    config = write(tmp_path, "child.yaml", lr=1e-12, extra=f"init_from: {source}")
    child = train(config, tmp_path / "runs")
    before = kernel(child)
    shutil.rmtree(source)
    res = runner.invoke(app, ["train", "--resume", str(child), "--epochs", "2"])
    assert res.exit_code == 0, res.output
    assert json.loads((child / runfiles.RUN).read_text())["epochs_completed"] == 2
    np.testing.assert_allclose(kernel(child), before, atol=1e-6)
    assert json.loads((child / runfiles.RESULTS).read_text())["init_from"]["run"] == str(source)
