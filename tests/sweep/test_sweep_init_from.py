"""Sweeps of a config with `init_from: FILE.yaml`: each trial's base, shared when the same."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from conftest import TINY
from typer.testing import CliRunner

from cnnrun import runfiles
from cnnrun.cli.app import app
from cnnrun.config.overrides import SYNTHETIC_DATA
from cnnrun.sweep import plan as sw
from cnnrun.sweep.backends import Todo, _child_command

runner = CliRunner()
LR = "optimizer.learning_rate"


def configs(folder: Path) -> Path:
    """base.yaml (the tiny experiment) and child.yaml, which starts from it."""
    (folder / "base.yaml").write_text(TINY.replace("name: tiny", "name: base"))
    child = folder / "child.yaml"
    child.write_text("extends: base.yaml\nname: child\ninit_from: base.yaml\nepochs: 1\n")
    return child


def runs_named(folder: Path, name: str) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir() and p.name.endswith(f"-{name}"))


def test_a_trial_passes_down_its_seed_and_synthetic_as_train_options_would(
    tmp_path: Path,
) -> None:
    overrides = [*SYNTHETIC_DATA, "epochs=2", "seed=5"]
    plan = sw.make_plan(configs(tmp_path), "child", {"mode": "grid"},
                        [{"seed": "1", LR: "0.1"}], overrides, True)  # fmt: skip
    (trial,) = plan.trials
    down = plan.passed_down(trial)
    assert down[: len(SYNTHETIC_DATA)] == list(SYNTHETIC_DATA)
    assert [(o.key, o.value) for o in down[len(SYNTHETIC_DATA) :]] == [("seed", 1)]
    cmd = _child_command(plan, Todo(trial, None), tmp_path)
    assert "--synthetic" in cmd and "--smoke" in cmd
    assert not any(item in cmd for item in SYNTHETIC_DATA)
    assert cmd[cmd.index("--seed") + 1 :][:3] == ["5", "--seed", "1"]  # the trial's last
    assert "epochs=2" in cmd and f"{LR}=0.1" in cmd  # still --set: not passed down


def test_trials_with_the_same_base_share_one_base_run(tmp_path: Path) -> None:
    child = configs(tmp_path)
    res = runner.invoke(app, [
        "sweep", str(child), "--grid", f"{LR}=1e-2,1e-3", "--smoke",
        "--sweep-dir", str(tmp_path / "sweep"),
    ])  # fmt: skip
    assert res.exit_code == 0, res.output
    sweep = tmp_path / "sweep"
    (base,) = runs_named(sweep, "base")
    assert len(runs_named(sweep, "child-t1") + runs_named(sweep, "child-t2")) == 2
    for t in json.loads((sweep / runfiles.SWEEP).read_text())["trials"]:
        config = yaml.safe_load((sweep / t["run_dir"] / runfiles.CONFIG).read_text())
        assert config["init_from"]["run"] == str(base.resolve())


@pytest.mark.slow  # six trainings: ~60 s on a busy 2-core machine
def test_a_seed_grid_gives_each_seed_its_base(tmp_path: Path) -> None:
    child = configs(tmp_path)
    res = runner.invoke(app, [
        "sweep", str(child), "--grid", "seed=1,2", "--grid", f"{LR}=1e-2,1e-3", "--smoke",
        "--sweep-dir", str(tmp_path / "sweep"),
    ])  # fmt: skip
    assert res.exit_code == 0, res.output
    sweep = tmp_path / "sweep"
    bases = runs_named(sweep, "base")
    assert len(bases) == 2  # one per seed, shared by that seed's two learning rates
    seed_of = {str(b.resolve()): json.loads((b / runfiles.RUN).read_text())["seed"] for b in bases}
    plan = json.loads((sweep / runfiles.SWEEP).read_text())
    assert [t["status"] for t in plan["trials"]] == ["completed"] * 4
    for t in plan["trials"]:
        config = yaml.safe_load((sweep / t["run_dir"] / runfiles.CONFIG).read_text())
        assert seed_of[config["init_from"]["run"]] == config["seed"]  # seed N continues seed N


@pytest.mark.slow  # two TensorFlow start-ups at once: ~45 s on a busy 2-core machine
def test_parallel_trials_wait_for_one_base_run(tmp_path: Path) -> None:
    child = configs(tmp_path)
    res = runner.invoke(app, [
        "sweep", str(child), "--grid", f"{LR}=1e-2,1e-3", "--smoke", "--parallel", "2",
        "--sweep-dir", str(tmp_path / "sweep"),
    ])  # fmt: skip
    assert res.exit_code == 0, res.output
    sweep = tmp_path / "sweep"
    (base,) = runs_named(sweep, "base")
    for t in json.loads((sweep / runfiles.SWEEP).read_text())["trials"]:
        config = yaml.safe_load((sweep / t["run_dir"] / runfiles.CONFIG).read_text())
        assert config["init_from"]["run"] == str(base.resolve())
