"""Issue 13: piped output (not a terminal) is whole lines, full paths, no wrapping.

Today `show` and `data list` cut paths to ``…/checkpoin…`` and `train` / `sweep` hard-wrap
the start-up line at 80 columns, so the run folder's path is split over two lines. Each
test runs the CLI with stdout piped and a fixed COLUMNS (80 and 120), under a folder whose
paths are wider than either.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_helpers import (
    LONG,
    TINY,
    assert_whole_on_a_line,
    cli,
    cli_env,
    lines_with,
    make_run,
    train_tiny,
)

WIDTHS = [80, 120]


@pytest.fixture
def long_run(tmp_path: Path) -> Path:
    """A completed run (with a picture and checkpoints) whose paths are over 120 characters."""
    run = make_run(tmp_path / LONG / "runs", "fashion_bn")
    (run / "checkpoints").mkdir()
    for name in ("best.keras", "last.keras"):
        (run / "checkpoints" / name).write_bytes(b"not a real model")
    (run / "curves.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    assert len(str(run / "checkpoints" / "best.keras")) > 120
    return run


@pytest.mark.parametrize("columns", WIDTHS)
def test_show_prints_full_paths(long_run, columns):
    result = cli("show", long_run, columns=columns)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for path in (
        long_run,
        long_run / "curves.png",
        long_run / "checkpoints" / "best.keras",
        long_run / "checkpoints" / "last.keras",
    ):
        assert_whole_on_a_line(out, str(path))
    assert "…" not in out, "piped output must not be abbreviated:\n" + "\n".join(
        lines_with(out, "…")
    )
    assert "val_accuracy" in out  # the metrics table's headers are whole too


@pytest.mark.parametrize("columns", WIDTHS)
def test_data_list_prints_full_paths(tmp_path, columns):
    keras_home = tmp_path / LONG / "keras"
    (keras_home / "datasets").mkdir(parents=True)
    mnist = keras_home / "datasets" / "mnist.npz"
    mnist.write_bytes(b"")  # only its presence matters to `data list`
    env = cli_env(columns, KERAS_HOME=str(keras_home))
    env.pop("CNNRUN_DATA", None)
    result = cli("data", "list", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert_whole_on_a_line(result.stdout, str(mnist))
    assert "…" not in result.stdout, "\n".join(lines_with(result.stdout, "…"))


@pytest.mark.parametrize("columns", WIDTHS)
def test_train_start_up_line_is_one_line_with_the_whole_run_folder(tmp_path, columns):
    runs = tmp_path / LONG / "runs"
    result, run = train_tiny(tmp_path, runs, "--epochs", "1", columns=columns)
    assert result.returncode == 0 and run is not None, result.stderr[-3000:]
    # the last line is the run folder; the start-up line names it too, on one line
    start = lines_with(result.stdout, "parameters;")
    assert len(start) == 1, result.stdout
    assert str(run) in start[0], "the start-up line is wrapped:\n" + result.stdout


def test_sweep_start_up_lines_are_whole(tmp_path):
    config = tmp_path / "tiny.yaml"
    config.write_text(TINY)
    runs = tmp_path / LONG / "runs"
    result = cli("sweep", config, "--grid", "epochs=1", "--runs-dir", runs, columns=80)
    assert result.returncode == 0, result.stderr[-3000:]
    sweep_dir = Path(result.stdout.strip().splitlines()[-1])
    plan = json.loads((sweep_dir / "sweep.json").read_text())
    trial_dirs = [p for p in sweep_dir.iterdir() if p.is_dir()]
    assert len(trial_dirs) == 1, (plan, trial_dirs)
    start = lines_with(result.stdout, "parameters;")
    assert len(start) == 1, result.stdout
    assert str(trial_dirs[0]) in start[0], "the trial's start-up line is wrapped:\n" + result.stdout
    assert_whole_on_a_line(result.stdout, str(sweep_dir))
