"""`init_from: FILE.yaml`: the base experiment is trained first as its own run, or reused."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from init_from_support import kernel, write
from typer.testing import CliRunner

from cnnrun import runfiles
from cnnrun.cli.app import app

runner = CliRunner()


def runs_named(runs: Path, name: str) -> list[Path]:
    return sorted(p for p in runs.iterdir() if p.is_dir() and p.name.endswith(f"-{name}"))


def train(*args: str) -> tuple[Path, str]:
    res = runner.invoke(app, ["train", *args])
    assert res.exit_code == 0, res.output
    return Path(res.stdout.strip().splitlines()[-1]), " ".join(res.output.split())


def test_the_base_is_trained_first_then_reused(tmp_path: Path) -> None:
    # The child's learning rate is ~0: it ends where it started, at the base run's weights.
    write(tmp_path / "configs", "base.yaml", "base")
    child = write(tmp_path / "configs", "child.yaml", "child", lr=1e-12,
                  extra="init_from: base.yaml")  # fmt: skip
    runs = tmp_path / "runs"
    first, out = train(str(child), "--runs-dir", str(runs))
    (base_run,) = runs_named(runs, "base")
    assert f"init_from: training {tmp_path / 'configs' / 'base.yaml'} first" in out
    assert json.loads((base_run / runfiles.RUN).read_text())["status"] == "completed"
    np.testing.assert_allclose(kernel(first), kernel(base_run), atol=1e-6)
    recorded = {"run": str(base_run.resolve()), "checkpoint": "last"}
    assert yaml.safe_load((first / runfiles.CONFIG).read_text())["init_from"] == recorded
    for name in (runfiles.RESULTS, runfiles.RUN):
        source = json.loads((first / name).read_text())["init_from"]
        assert source["run"] == str(base_run.resolve()) and source["epochs"] == 1

    second, out = train(str(child), "--runs-dir", str(runs))
    assert f"init_from: reusing {base_run}" in out
    assert len(runs_named(runs, "base")) == 1 and len(runs_named(runs, "child")) == 2
    assert yaml.safe_load((second / runfiles.CONFIG).read_text())["init_from"] == recorded

    # The resolved config.yaml names the run: training it again trains nothing first.
    third, out = train(str(first / runfiles.CONFIG), "--runs-dir", str(runs))
    assert "init_from:" not in out
    assert len(runs_named(runs, "base")) == 1 and len(runs_named(runs, "child")) == 3
    assert json.loads((third / runfiles.RUN).read_text())["init_from"]["run"] == recorded["run"]


def test_seed_synthetic_and_smoke_pass_down_and_nothing_else(tmp_path: Path) -> None:
    write(tmp_path, "base.yaml", "base", dataset="mnist")
    child = write(tmp_path, "child.yaml", "child",
                  extra="init_from: {config: base.yaml, checkpoint: best}")  # fmt: skip
    runs = tmp_path / "runs"
    args = ["--runs-dir", str(runs), "--seed", "7", "--synthetic", "--smoke", "--epochs", "2"]
    run, _ = train(str(child), *args, "--name", "other", "--set", "optimizer.learning_rate=0.1")
    (base_run,) = runs_named(runs, "base")  # --name did not pass down
    base_record = json.loads((base_run / runfiles.RUN).read_text())
    assert base_record["seed"] == 7 and base_record["smoke"] is True
    base_config = yaml.safe_load((base_run / runfiles.CONFIG).read_text())
    assert base_config["data"]["dataset"] == "synthetic"  # --synthetic did (not mnist)
    assert base_config["epochs"] == 1  # --epochs did not
    assert base_config["optimizer"]["learning_rate"] == 0.5  # --set did not
    config = yaml.safe_load((run / runfiles.CONFIG).read_text())
    assert config["init_from"] == {"run": str(base_run.resolve()), "checkpoint": "best"}
    assert config["seed"] == 7 and config["epochs"] == 2

    # A run without --smoke does not reuse the smoke base.
    train(str(child), "--runs-dir", str(runs), "--seed", "7", "--synthetic")
    bases = [json.loads((r / runfiles.RUN).read_text()) for r in runs_named(runs, "base")]
    assert sorted((b["seed"], b["smoke"]) for b in bases) == [(7, False), (7, True)]


def test_a_model_that_does_not_fit_the_base_exits_2_and_creates_no_run(tmp_path: Path) -> None:
    write(tmp_path, "base.yaml", "base")
    child = write(tmp_path, "child.yaml", "child", filters=8, extra="init_from: base.yaml")
    res = runner.invoke(app, ["validate", "--build", str(child)])
    assert res.exit_code == 2, res.output
    text = " ".join(res.output.split())
    assert "init_from" in text and "'conv2d'" in text and "base.yaml" in text
    runs = tmp_path / "runs"
    res = runner.invoke(app, ["train", str(child), "--runs-dir", str(runs)])
    assert res.exit_code == 2, res.output
    assert "'conv2d'" in " ".join(res.output.split())
    assert len(runs_named(runs, "base")) == 1 and runs_named(runs, "child") == []
    # The RUN_DIR form, checked by validate --build against the run's checkpoint.
    (base_run,) = runs_named(runs, "base")
    by_run = write(tmp_path, "by_run.yaml", "child", filters=8, extra=f"init_from: {base_run}")
    res = runner.invoke(app, ["validate", "--build", str(by_run)])
    assert res.exit_code == 2 and "'conv2d'" in " ".join(res.output.split()), res.output
    fits = write(tmp_path, "fits.yaml", "child", extra="init_from: base.yaml")
    res = runner.invoke(app, ["validate", "--build", str(fits)])
    assert res.exit_code == 0, res.output


@pytest.mark.parametrize(
    ("stop", "code", "status"),
    [(KeyboardInterrupt, 130, "interrupted"), (RuntimeError, 1, "failed")],
    ids=["ctrl-c", "failure"],
)
def test_a_base_run_that_stops_is_named_and_no_second_run_is_created(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stop: type, code: int, status: str
) -> None:
    from cnnrun.train import fit

    real = fit.fit_and_evaluate

    def stop_the_base(model, exp, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        if exp.name == "base":
            raise stop("boom")
        return real(model, exp, *args, **kwargs)

    monkeypatch.setattr(fit, "fit_and_evaluate", stop_the_base)
    write(tmp_path, "base.yaml", "base")
    child = write(tmp_path, "child.yaml", "child", extra="init_from: base.yaml")
    runs = tmp_path / "runs"
    res = runner.invoke(app, ["train", str(child), "--runs-dir", str(runs)])
    assert res.exit_code == code, res.output
    (base_run,) = runs_named(runs, "base")
    assert runs_named(runs, "child") == []
    err = " ".join(res.stderr.split())
    hint = f"cnnrun train --resume {base_run}" if code == 130 else f"{base_run}/error.log"
    assert hint in err
    assert f"init_from's base experiment {tmp_path / 'base.yaml'}" in err
    assert f"its run is {base_run}" in err and f"The run of {child} was not created" in err
    assert json.loads((base_run / runfiles.RUN).read_text())["status"] == status
