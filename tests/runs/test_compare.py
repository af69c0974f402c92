"""`cnnrun compare`: rows, sorting, the four formats, warnings and exit codes."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from conftest import REPO, loaded_after
from rich.console import Console
from run_factory import make_run
from typer.testing import CliRunner

from cnnrun.cli.runs import compare, show
from cnnrun.runs.cells import format_duration, format_metric, format_value
from cnnrun.runs.compare import build_comparison, elide_chains, render_json, render_tables
from cnnrun.runs.record import load_run, load_runs


@pytest.fixture
def app() -> typer.Typer:
    app = typer.Typer()
    app.command()(compare)
    app.command()(show)
    return app


@pytest.fixture
def runs(tmp_path: Path) -> Path:
    """Five runs: three completed (different optimizers/dropout), one running, one failed."""
    root = tmp_path / "runs"
    make_run(root, "adam", stamp="20240101-120000", quality=0.90)
    make_run(
        root,
        "sgd",
        stamp="20240101-130000",
        quality=0.80,
        overrides={"optimizer.name": "sgd", "optimizer.learning_rate": 0.01},
    )
    make_run(
        root,
        "drop",
        stamp="20240101-140000",
        quality=0.95,
        overrides={"model.layers[2].Dropout": 0.5},
    )
    make_run(root, "live", stamp="20240101-150000", status="running", epochs=2)
    make_run(
        root,
        "boom",
        stamp="20240101-160000",
        status="failed",
        reason="OOM",
        epochs=1,
        results=False,
    )
    return root


def invoke(app: typer.Typer, *args: str) -> typer.testing.Result:
    return CliRunner().invoke(app, ["compare", *map(str, args)])


def as_json(app: typer.Typer, *args: str) -> dict:
    result = invoke(app, *args, "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


# --- rows and sorting ----------------------------------------------------------------


def test_json_rows_default_sort_is_test_accuracy_best_first(app, runs) -> None:
    data = as_json(app, runs)
    assert data["version"] == 1
    assert data["sort"] == {"key": "test_accuracy", "descending": True}
    assert data["main_metric"] == "accuracy"
    names = [r["run"] for r in data["runs"]]
    assert names == [
        "20240101-140000-drop",
        "20240101-120000-adam",
        "20240101-130000-sgd",
        "20240101-150000-live",  # no test metrics: last, by name
        "20240101-160000-boom",
    ]
    assert [r["status"] for r in data["runs"]] == [
        "completed",
        "completed",
        "completed",
        "running",
        "failed",
    ]
    accuracies = [r["test"].get("accuracy") for r in data["runs"][:3]]
    assert accuracies == sorted(accuracies, reverse=True)
    assert data["differing_keys"] == [
        "model.layers[2].Dropout",
        "optimizer.name",
        "optimizer.learning_rate",
    ]


def test_json_run_fields(app, runs) -> None:
    first, *_, failed = as_json(app, runs)["runs"]
    assert list(first) == [
        "run",
        "path",
        "status",
        "reason",
        "task",
        "dataset",
        "params",
        "epochs_done",
        "best",
        "test",
        "wall_time_s",
        "samples_per_s",
        "config",
        "warnings",
    ]
    assert first["params"] == 34826 and first["epochs_done"] == 5
    assert first["best"]["monitor"] == "val_loss" and first["best"]["epoch"] == 5
    assert first["config"] == {
        "model.layers[2].Dropout": 0.5,
        "optimizer.name": "adam",
        "optimizer.learning_rate": 0.001,
    }
    assert failed["reason"] == "OOM" and failed["test"] == {} and failed["params"] is None


@pytest.mark.parametrize(
    ("key", "label", "first"),
    [
        ("test_loss", "test_loss", "drop"),
        ("loss", "test_loss", "drop"),
        ("val_loss", "val_loss", "drop"),
        ("val_accuracy", "val_accuracy", "drop"),
        ("optimizer.learning_rate", "optimizer.learning_rate", "adam"),
        ("epochs_done", "epochs_done", "adam"),
        ("epochs_completed", "epochs_done", "adam"),
        ("wall_time", "wall_time", "boom"),
        ("run", "run", "adam"),
        ("name", "run", "adam"),
    ],
)
def test_sort_keys(app, runs, key: str, label: str, first: str) -> None:
    data = as_json(app, runs, "--sort", key)
    assert data["sort"]["key"] == label
    assert data["runs"][0]["run"].endswith(first)


def test_losses_sort_ascending_and_missing_values_go_last(app, runs) -> None:
    data = as_json(app, runs, "--sort", "test_loss")
    assert data["sort"]["descending"] is False
    losses = [r["test"].get("loss") for r in data["runs"]]
    assert losses[:3] == sorted(losses[:3]) and losses[3:] == [None, None]


def test_val_loss_sort_includes_runs_without_results(app, runs) -> None:
    data = as_json(app, runs, "--sort", "val_loss")
    best = [(r["best"]["monitor"], r["best"]["value"]) for r in data["runs"]]
    assert {monitor for monitor, _ in best} == {"val_loss"}
    assert [v for _, v in best] == sorted(v for _, v in best)  # all 5 ranked, lowest first


def test_unknown_sort_key_exits_2_with_a_suggestion(app, runs) -> None:
    result = invoke(app, runs, "--sort", "acuracy")
    assert result.exit_code == 2
    assert "Did you mean 'accuracy'" in result.stderr
    assert result.stderr.rstrip().endswith("Received: 'acuracy'")


def test_segmentation_runs_sort_by_their_main_metric(app, tmp_path) -> None:
    for i, quality in enumerate([0.7, 0.9, 0.8]):
        make_run(
            tmp_path,
            f"seg{i}",
            stamp=f"20240101-00000{i}",
            metrics=("mean_iou",),
            quality=quality,
            overrides={"task": "segmentation", "metrics": ["mean_iou"]},
        )
    data = as_json(app, tmp_path)
    assert data["main_metric"] == "mean_iou"
    assert data["sort"] == {"key": "test_mean_iou", "descending": True}
    assert [r["run"][-4:] for r in data["runs"]] == ["seg1", "seg2", "seg0"]


# --- formats -------------------------------------------------------------------------


def test_csv_columns_and_values(app, runs) -> None:
    result = invoke(app, runs, "--format", "csv")
    assert result.exit_code == 0
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert rows[0] == [
        "run",
        "status",
        "dataset",
        "params",
        "epochs_done",
        "best_monitor",
        "best_value",
        "best_epoch",
        "test_loss",
        "test_accuracy",
        "wall_time_s",
        "samples_per_s",
        "model.layers[2].Dropout",
        "optimizer.name",
        "optimizer.learning_rate",
    ]
    assert len(rows) == 6
    drop = dict(zip(rows[0], rows[1], strict=True))
    assert drop["run"] == "20240101-140000-drop"
    assert drop["model.layers[2].Dropout"] == "0.5"
    assert float(drop["test_accuracy"]) == load_run(runs / drop["run"]).test["accuracy"]
    failed = dict(zip(rows[0], rows[5], strict=True))
    assert failed["status"] == "failed" and failed["test_accuracy"] == ""


def test_markdown_table(app, runs) -> None:
    result = invoke(app, runs, "--format", "markdown")
    assert result.exit_code == 0
    lines = result.stdout.strip().splitlines()
    cells = [[c.strip() for c in line.strip("|").split("|")] for line in lines]
    assert cells[0] == [
        "run",
        "status",
        "dataset",
        "params",
        "epochs_done",
        "best val_loss",
        "test_loss",
        "test_accuracy",
        "wall_time",
        "samples/s",
        "model.layers[2].Dropout",
        "optimizer.name",
        "optimizer.learning_rate",
    ]
    assert cells[1][:4] == ["---", "---", "---", "---:"]
    assert len(lines) == 2 + 5
    assert cells[2][:2] == ["20240101-140000-drop", "completed"]
    assert cells[2][3] == "34,826"
    assert cells[5][1] == "running" and cells[5][6] == "—"
    assert "\x1b" not in result.stdout and "━" not in result.stdout  # plain text


def test_table_format_shows_every_column(app, runs) -> None:
    result = invoke(app, runs)  # not a terminal: as wide as needed, one table
    assert result.exit_code == 0
    header = next(line for line in result.stdout.splitlines() if "run" in line and "┃" in line)
    headers = [h.strip() for h in header.strip("┃ ").split("┃")]
    assert headers[0] == "run" and headers[-1] == "optimizer.learning_rate"
    assert len(headers) == 13
    assert result.stdout.count("20240101-") == 5
    assert "sorted by test_accuracy (best first)" in result.stdout


def test_narrow_terminal_splits_results_and_config_in_two_tables(runs) -> None:
    comparison = build_comparison([r for r in load_runs([runs]) if r.is_run])
    assert len(render_tables(comparison, width=1000)) == 1
    results, config = render_tables(comparison, width=90)
    assert [c.header for c in config.columns] == [
        "run",
        "model.layers[2].Dropout",
        "optimizer.name",
        "optimizer.learning_rate",
    ]
    assert results.columns[-1].header == "samples/s"
    out = io.StringIO()
    Console(file=out, width=90).print(config)
    assert max(map(len, out.getvalue().splitlines())) <= 90


def test_layer_lists_of_different_length_are_one_readable_column(app, tmp_path) -> None:
    make_run(tmp_path, "small", stamp="20240101-000001")
    layers = [
        {"Conv2D": {"filters": 32, "kernel_size": 3}},
        {"Conv2D": {"filters": 64, "kernel_size": 3}},
        "BatchNormalization",
        {"Dropout": 0.25},
        {"MaxPooling2D": [2, 2]},
        "Flatten",
        {"Dense": {"units": 10}},
    ]
    make_run(tmp_path, "big", stamp="20240101-000002", overrides={"model.layers": layers})
    data = as_json(app, tmp_path, "--sort", "run")
    assert data["differing_keys"] == ["model.layers"]
    chains = [r["config"]["model.layers"] for r in data["runs"]]
    assert chains[1] == "Conv2D(32,3)→Conv2D(64,3)→BN→Dropout(0.25)→MaxPool(2x2)→Flatten→Dense(10)"
    markdown = invoke(app, tmp_path, "--format", "markdown", "--sort", "run").stdout
    assert "| Conv2D(32,3)→Conv2D(64,3)→BN→… |" in markdown
    assert "| Conv2D(32,3)→BN→… |" in markdown


def test_elide_chains_keeps_one_layer_of_context() -> None:
    assert elide_chains(["A→B→C→D→E", "A→B→X→D→E"]) == ["…→B→C→D→…", "…→B→X→D→…"]
    assert elide_chains(["A→B", "A→B→C"]) == ["…→B", "…→B→C"]
    assert elide_chains(["A→B"]) == ["A→B"]


def test_json_turns_non_finite_numbers_into_null(tmp_path) -> None:
    run = make_run(tmp_path)
    results = json.loads((run / "results.json").read_text())
    results["test"]["loss"] = float("nan")
    (run / "results.json").write_text(json.dumps(results))
    data = json.loads(render_json(build_comparison([load_run(run)])))
    assert data["runs"][0]["test"]["loss"] is None


def test_yaml_dates_in_configs_do_not_break_json(tmp_path) -> None:
    a = load_run(make_run(tmp_path, "a", stamp="20240101-000001"))
    b = load_run(make_run(tmp_path, "b", stamp="20240101-000002"))
    (b.path / "config.yaml").write_text(b.config_text + "created: 2024-01-02\n")
    data = json.loads(render_json(build_comparison([a, load_run(b.path)])))
    assert data["differing_keys"] == ["created"]
    assert data["runs"][1]["config"] == {"created": "2024-01-02"}


@pytest.mark.parametrize(
    ("function", "value", "text"),
    [
        (format_metric, 0.93125, "0.9313"),
        (format_metric, 0.00012, "1.200e-04"),
        (format_metric, None, "—"),
        (format_duration, 42.04, "42.0s"),
        (format_duration, 185, "3m05s"),
        (format_duration, 7620, "2h07m"),
        (format_value, 1e-4, "0.0001"),
        (format_value, True, "true"),
        (format_value, [2, 2], "[2, 2]"),
    ],
)
def test_cell_formatting(function, value, text) -> None:
    assert function(value) == text


# --- broken folders, warnings, exit codes ------------------------------------------------


def test_garbage_and_non_runs_warn_once_each_and_still_compare(app, runs) -> None:
    (runs / "empty").mkdir()
    make_run(runs, "garbage", stamp="20240101-170000", results="{oops")
    stale = make_run(
        runs, "dead", stamp="20240101-180000", status="running", heartbeat_age_s=900, host="x"
    )
    result = invoke(app, runs, runs / "nope", "--format", "json")
    assert result.exit_code == 0
    warnings = result.stderr.strip().splitlines()
    assert len(warnings) == 3
    assert warnings[0].startswith("warning: ") and "garbage" in warnings[0]
    assert "skipped" in warnings[1] and "empty" in warnings[1]
    assert "skipped" in warnings[2] and "nope" in warnings[2]
    statuses = {r["run"]: r["status"] for r in json.loads(result.stdout)["runs"]}
    assert statuses["20240101-170000-garbage"] == "broken"
    assert statuses[stale.name] == "stale"
    assert len(statuses) == 7


def test_exit_1_when_no_run_can_be_read(app, tmp_path) -> None:
    (tmp_path / "empty").mkdir()
    result = invoke(app, tmp_path / "empty", tmp_path / "missing")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.strip().splitlines()[-1] == (
        "error: no run could be read from the paths given"
    )


def test_plot_writes_a_png(app, runs, tmp_path) -> None:
    out = tmp_path / "cmp.png"
    result = invoke(app, runs, "--plot", out, "--metric", "loss", "--format", "csv")
    assert result.exit_code == 0, result.output
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"curves: {out}" in result.stderr
    assert result.stdout.startswith("run,status")  # stdout stays plain CSV


def test_plot_with_an_unknown_metric_exits_2(app, runs, tmp_path) -> None:
    result = invoke(app, runs, "--plot", tmp_path / "x.png", "--metric", "iou")
    assert result.exit_code == 2
    assert "expected one of accuracy, loss. Received: 'iou'" in result.stderr
    assert not (tmp_path / "x.png").exists()


# --- no TensorFlow, and the real CLI -------------------------------------------------------


def _run_python(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "tests")])}
    return subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, timeout=120
    )


def test_compare_and_show_import_no_tensorflow(runs) -> None:
    run = runs / "20240101-120000-adam"
    assert run.is_dir()
    commands = [
        ["compare", str(runs), "--format", "json"],
        ["compare", str(runs)],
        ["show", str(run)],
    ]
    assert loaded_after(commands, ("tensorflow", "keras", "matplotlib")) == []


def _real_cli_available() -> bool:
    return (REPO / "cnnrun" / "cli" / "__init__.py").exists()


@pytest.mark.skipif(not _real_cli_available(), reason="cnnrun/cli.py is not written yet")
def test_real_cli_registers_compare_and_show_without_tensorflow(runs) -> None:
    code = """
import json, sys
from typer.testing import CliRunner
from cnnrun.cli.app import app
result = CliRunner().invoke(app, ["compare", sys.argv[1], "--format", "json"])
shown = CliRunner().invoke(app, ["show", json.loads(result.stdout)["runs"][0]["path"]])
print(json.dumps({"codes": [result.exit_code, shown.exit_code],
                  "runs": len(json.loads(result.stdout)["runs"]),
                  "heavy": sorted(m for m in ("tensorflow", "keras") if m in sys.modules)}))
"""
    done = _run_python(code, str(runs))
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report == {"codes": [0, 0], "runs": 5, "heavy": []}


def test_benchmark_code_loads_200_runs() -> None:
    """The timing itself is in `make bench` (benchmarks/bench_compare.py), not asserted here."""
    sys.path.insert(0, str(REPO / "benchmarks"))
    from bench_compare import compare_in_process, measure

    result = measure(200, 1, compare_in_process)
    assert result["runs_loaded"] == 200


def test_config_keys_named_like_a_column_are_prefixed(app, tmp_path) -> None:
    make_run(tmp_path, "a", stamp="20240101-000001", overrides={"epochs": 5, "status": 1})
    make_run(
        tmp_path,
        "b",
        stamp="20240101-000002",
        overrides={"epochs": 30, "status": 2, "data.dataset": "x"},
    )
    data = as_json(app, tmp_path, "--sort", "run")
    assert data["differing_keys"] == ["epochs", "status"]  # data.dataset: the dataset column
    assert [r["config"] for r in data["runs"]] == [
        {"epochs": 5, "status": 1},
        {"epochs": 30, "status": 2},
    ]
    header = invoke(app, tmp_path, "--format", "csv").stdout.splitlines()[0].split(",")
    assert header[4] == "epochs_done" and header[-2:] == ["epochs", "config.status"]
    assert len(header) == len(set(header))
