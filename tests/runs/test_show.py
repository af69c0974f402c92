"""`cnnrun show`: one run's status, config, per-epoch metrics, results and files."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
import typer
from rich.console import Console
from run_factory import make_run
from typer.testing import CliRunner

from cnnrun import runfiles
from cnnrun.cli.runs import compare, show
from cnnrun.runs.record import load_run
from cnnrun.runs.show import print_run


@pytest.fixture
def app() -> typer.Typer:
    app = typer.Typer()
    app.command()(compare)
    app.command()(show)
    return app


def invoke(app: typer.Typer, path: Path) -> typer.testing.Result:
    return CliRunner().invoke(app, ["show", str(path)], env={"COLUMNS": "300"})


def metric_rows(output: str) -> list[list[str]]:
    """The per-epoch table's data rows, as cells."""
    rows = []
    for line in output.splitlines():
        cells = [c.strip() for c in line.strip().strip("│").split("│")]
        if line.lstrip().startswith("│") and cells[0].isdigit():
            rows.append(cells)
    return rows


def test_show_completed_run(app, tmp_path) -> None:
    run = make_run(tmp_path, "base", epochs=4, lr_decay=0.5)
    (run / runfiles.CURVES).write_bytes(b"png")
    (run / runfiles.CHECKPOINTS).mkdir()
    (run / runfiles.BEST_MODEL).write_bytes(b"")
    result = invoke(app, run)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "20240101-120000-base" in out
    assert "status       completed" in out
    assert "command      cnnrun train configs/base.yaml" in out
    assert "Config (config.yaml)" in out and "learning_rate: 0.001" in out
    rows = metric_rows(out)
    assert [r[0] for r in rows] == ["1", "2", "3", "4"]
    assert [r[1] for r in rows] == ["0.001", "0.0005", "0.00025", "0.000125"]
    best = [r for r in rows if "◀ best val_loss" in r[-1]]
    assert len(best) == 1 and best[0][0] == "4"
    results = load_run(run).results
    assert results is not None
    accuracy = f"{results['test']['accuracy']:.4f}"
    assert re.search(rf"test accuracy +{accuracy} *\n", out)
    assert "total params" in out and "34,826" in out
    assert re.search(rf"picture +{re.escape(str(run / runfiles.CURVES))} *\n", out)
    assert re.search(rf"best model +{re.escape(str(run / runfiles.BEST_MODEL))} *\n", out)
    assert "Warnings" not in out


def test_show_stale_run_gives_status_and_reason(app, tmp_path) -> None:
    run = make_run(tmp_path, status="running", epochs=2, heartbeat_age_s=1800, host="gpu-box")
    out = invoke(app, run).stdout
    assert "status       stale" in out
    assert "no heartbeat for 30 minutes" in out
    assert re.search(r"heartbeat +\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \(30m0\ds ago\)", out)
    assert "results.json not written yet" not in out  # stale, not running
    assert "results.json missing or unreadable" in out
    assert len(metric_rows(out)) == 2


def test_show_running_run_without_epochs(app, tmp_path) -> None:
    run = make_run(tmp_path, status="running", epochs=0)
    out = invoke(app, run).stdout
    assert "status       running" in out
    assert "no completed epoch yet" in out
    assert "results.json not written yet" in out
    assert "no pictures or checkpoints yet" in out


def test_show_broken_run_lists_its_warnings(app, tmp_path) -> None:
    run = make_run(tmp_path, results="garbage")
    result = invoke(app, run)
    assert result.exit_code == 0
    assert "status       broken" in result.stdout
    assert "reason       completed but results.json is missing or unreadable" in result.stdout
    assert "Warnings" in result.stdout and "• results.json is unreadable" in result.stdout


def test_show_failed_run_reason(tmp_path) -> None:
    run = make_run(tmp_path, status="failed", reason="ValueError: bad shape", results=False)
    buffer = io.StringIO()
    print_run(load_run(run), Console(file=buffer, width=100))
    assert "reason       ValueError: bad shape" in buffer.getvalue()


def test_show_says_when_a_run_was_resumed_and_lists_its_error_logs(tmp_path) -> None:
    run = make_run(tmp_path, status="failed", reason="OSError: disk full", results=False)
    record = json.loads((run / runfiles.RUN).read_text())
    record["resumes"] = [
        {"at": "2024-01-01T13:00:00+00:00", "from_epoch": 2, "previous_status": "running"},
        {"at": "2024-01-01T14:00:00+00:00", "from_epoch": 4, "previous_status": "failed",
         "error_log": "error-before-resume-2.log"},
    ]  # fmt: skip
    (run / runfiles.RUN).write_text(json.dumps(record))
    (run / runfiles.ERROR_LOG).write_text("trace\n")
    (run / runfiles.EARLIER_ERROR_LOG.format(2)).write_text("old trace\n")
    buffer = io.StringIO()
    print_run(load_run(run), Console(file=buffer, width=200))
    out = buffer.getvalue()
    assert (
        "resumed      after epoch 2 (process died) on 2024-01-01 13:00:00, "
        "after epoch 4 (failed) on 2024-01-01 14:00:00"
    ) in out
    assert re.search(r"error log\s+\S+/error\.log", out)
    assert re.search(r"earlier error log\s+\S+/error-before-resume-2\.log", out)


def test_the_end_of_a_resumed_run_says_its_stopped_time_is_included(tmp_path) -> None:
    run = make_run(tmp_path)
    record = json.loads((run / runfiles.RUN).read_text())
    record.update(started_at="2024-01-01T08:00:00+00:00", ended_at="2024-01-01T13:00:00+00:00")
    (run / runfiles.RUN).write_text(json.dumps(record))
    assert re.search(r"ended\s+2024-01-01 13:00:00 \(after 5h00m\)", _shown(run))
    record["resumes"] = [{"at": "2024-01-01T11:00:00+00:00", "from_epoch": 2}]
    (run / runfiles.RUN).write_text(json.dumps(record))
    out = _shown(run)
    assert "13:00:00 (5h00m after the start, stopped time included)" in out, out
    assert "after epoch 2 (?) on 2024-01-01 11:00:00" in out, out


def _shown(run) -> str:
    buffer = io.StringIO()
    print_run(load_run(run), Console(file=buffer, width=200))
    return buffer.getvalue()


def test_show_folder_that_is_not_a_run_exits_1(app, tmp_path) -> None:
    (tmp_path / "empty").mkdir()
    result = invoke(app, tmp_path / "empty")
    assert result.exit_code == 1
    assert "is not a run folder" in result.stderr


def test_show_parent_folder_suggests_a_run(app, tmp_path) -> None:
    make_run(tmp_path, "a", stamp="20240101-000001")
    make_run(tmp_path, "b", stamp="20240101-000002")
    result = invoke(app, tmp_path)
    assert result.exit_code == 1
    assert "holds 2 runs" in result.stderr and "20240101-000002-b" in result.stderr


def test_show_missing_path_is_a_usage_error(app, tmp_path) -> None:
    assert invoke(app, tmp_path / "nope").exit_code == 2
