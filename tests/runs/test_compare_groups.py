"""`cnnrun compare --by-seed` / `--group-by`: groups, mean ± sd (n-1) and n in every format."""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path

import pytest
import typer
from conftest import loaded_after
from run_factory import make_run, metric_rows, results_for
from typer.testing import CliRunner

from cnnrun.cli.runs import compare
from cnnrun.runs.groups import Stat, format_stat, group_runs, stat
from cnnrun.runs.record import load_runs

# (trial, learning rate, seed, test accuracy): lr 0.001 three seeds, lr 0.01 two seeds.
TRIALS = [
    ("sw-001", 0.001, 1, 0.90),
    ("sw-002", 0.001, 2, 0.92),
    ("sw-003", 0.001, 3, 0.94),
    ("sw-004", 0.01, 1, 0.80),
    ("sw-005", 0.01, 2, 0.86),
]


@pytest.fixture
def app() -> typer.Typer:
    app = typer.Typer()
    app.command()(compare)
    app.command("noop")(lambda: None)
    return app


@pytest.fixture
def sweep(tmp_path: Path) -> Path:
    for name, lr, seed, accuracy in TRIALS:
        results = results_for(metric_rows(5), ("accuracy",))
        results["test"] = {"loss": 1.0 - accuracy, "accuracy": accuracy}
        make_run(
            tmp_path,
            name,
            overrides={"optimizer.learning_rate": lr, "seed": seed},
            results=results,
        )
    return tmp_path


def test_stat_is_the_sample_sd() -> None:
    s = stat([0.90, 0.92, 0.94])
    assert s is not None
    assert s.n == 3
    assert s.mean == pytest.approx(0.92)
    assert s.sd == pytest.approx(0.02)
    single = stat([0.5])
    assert single is not None and single.sd is None and single.n == 1


def test_by_seed_groups_runs_that_differ_only_in_seed(sweep: Path) -> None:
    grouping = group_runs(load_runs([sweep]))
    assert grouping.grouped_by == ["seed"]
    assert grouping.keys == ["optimizer.learning_rate"]
    assert [len(g.records) for g in grouping.groups] == [3, 2]  # best first
    first, second = grouping.groups
    assert first.values == {"optimizer.learning_rate": 0.001}
    assert first.stats["test_accuracy"].mean == pytest.approx(0.92)
    assert first.stats["test_accuracy"].sd == pytest.approx(0.02)
    assert first.stats["test_accuracy"].n == 3
    assert second.stats["test_accuracy"].mean == pytest.approx(0.83)
    assert second.stats["test_accuracy"].sd == pytest.approx(math.sqrt(0.0018))
    assert second.stats["test_loss"].mean == pytest.approx(0.17)


def test_group_by_a_key(sweep: Path) -> None:
    grouping = group_runs(load_runs([sweep]), ["seed"])
    by_label = {g.label: g for g in grouping.groups}
    assert set(by_label) == {"seed=1", "seed=2", "seed=3"}
    assert by_label["seed=1"].stats["test_accuracy"].mean == pytest.approx(0.85)
    assert by_label["seed=3"].stats["test_accuracy"].sd is None


def test_json_format(app: typer.Typer, sweep: Path) -> None:
    result = CliRunner().invoke(app, ["compare", str(sweep), "--by-seed", "--format", "json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["grouped_by"] == ["seed"]
    first = document["groups"][0]
    assert first["n"] == 3 and len(first["runs"]) == 3
    assert first["config"] == {"optimizer.learning_rate": 0.001}
    accuracy = first["metrics"]["test_accuracy"]
    assert accuracy["mean"] == pytest.approx(0.92)
    assert accuracy["sd"] == pytest.approx(0.02)
    assert accuracy["n"] == 3


def test_csv_format(app: typer.Typer, sweep: Path) -> None:
    result = CliRunner().invoke(app, ["compare", str(sweep), "--by-seed", "--format", "csv"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) == 2
    assert float(rows[1]["test_accuracy_mean"]) == pytest.approx(0.83)
    assert float(rows[1]["test_accuracy_sd"]) == pytest.approx(math.sqrt(0.0018))
    assert rows[1]["test_accuracy_n"] == "2"
    assert rows[1]["optimizer.learning_rate"] == "0.01"


def test_markdown_and_table_formats(app: typer.Typer, sweep: Path) -> None:
    markdown = CliRunner().invoke(app, ["compare", str(sweep), "--by-seed", "--format", "markdown"])
    assert markdown.exit_code == 0, markdown.output
    assert "| test_accuracy |" in markdown.stdout.splitlines()[0].replace(" ", " ")
    assert "0.9200 ± 0.0200" in markdown.stdout
    assert "0.8300 ± 0.0424" in markdown.stdout
    table = CliRunner().invoke(
        app, ["compare", str(sweep), "--group-by", "optimizer.learning_rate"]
    )
    assert table.exit_code == 0, table.output
    assert "0.9200 ± 0.0200" in table.stdout
    assert "optimizer.learning_rate=0.001" in table.stdout


def test_both_options_or_a_plot_are_refused(app: typer.Typer, sweep: Path) -> None:
    both = CliRunner().invoke(app, ["compare", str(sweep), "--by-seed", "--group-by", "name"])
    assert both.exit_code == 2
    bad_sort = CliRunner().invoke(app, ["compare", str(sweep), "--by-seed", "--sort", "nope"])
    assert bad_sort.exit_code == 2
    assert "nope" in bad_sort.output


def test_grouped_compare_imports_no_tensorflow(sweep: Path) -> None:
    commands = [
        ["compare", str(sweep), "--by-seed", "--format", "json"],
        ["compare", str(sweep), "--group-by", "seed"],
    ]
    assert loaded_after(commands, ("tensorflow", "keras")) == []


def test_a_run_from_before_a_key_existed_groups_with_the_newer_runs(tmp_path: Path) -> None:
    """An older config.yaml lacks keys added since (their defaults are the old behaviour)."""
    from run_factory import make_config

    for seed, accuracy in ((1, 0.90), (2, 0.92), (3, 0.94)):
        config = make_config({"seed": seed}, name=f"bn-{seed}")
        config["name"] = "bn"
        if seed == 1:  # written before init_from and data.drop_remainder existed
            config.pop("init_from", None)
            config["data"].pop("drop_remainder", None)
        else:
            config["init_from"] = None
            config["data"]["drop_remainder"] = False
        results = results_for(metric_rows(5), ("accuracy",))
        results["test"] = {"loss": 1.0 - accuracy, "accuracy": accuracy}
        make_run(tmp_path, f"bn-{seed}", config=config, results=results)
    grouping = group_runs(load_runs([tmp_path]))
    assert [len(g.records) for g in grouping.groups] == [3]
    assert grouping.groups[0].stats["test_accuracy"].mean == pytest.approx(0.92)


def test_a_key_that_really_differs_still_splits_the_groups(tmp_path: Path) -> None:
    from run_factory import make_config

    for seed, drop in ((1, True), (2, False)):
        config = make_config({"seed": seed}, name=f"bn-{seed}")
        config["name"] = "bn"
        config["data"]["drop_remainder"] = drop
        make_run(tmp_path, f"bn-{seed}", config=config)
    grouping = group_runs(load_runs([tmp_path]))
    assert sorted(len(g.records) for g in grouping.groups) == [1, 1]
    assert grouping.keys == ["data.drop_remainder"]


@pytest.mark.parametrize(
    ("stat", "metric", "text"),
    [
        (Stat(0.9917, 0.0004042, 3), "test_accuracy", "0.9917 ± 0.0004"),
        (Stat(0.9917, 0.00001, 3), "test_accuracy", "0.9917 ± 0.0000"),
        (Stat(2360.7, 514.38, 3), "wall_time_s", "2,360.7 ± 514.4"),
        (Stat(5.0, 0.0, 3), "epochs_done", "5.0 ± 0.0"),
        (Stat(0.0004, 0.0001, 3), "test_loss", "4.000e-04 ± 1.000e-04"),
    ],
)
def test_the_spread_is_written_in_the_means_notation(stat, metric, text) -> None:
    assert format_stat(stat, 3, metric) == text
