"""`compare` shows the config's `expect:` outcome; `train --check` exits non-zero on a miss."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
import typer
from run_factory import make_run, metric_rows, results_for
from typer.testing import CliRunner

from cnnrun.cli.runs import compare
from cnnrun.runs.compare import build_comparison, columns, display_rows, expect_summary
from cnnrun.runs.record import load_runs

runner = CliRunner()


def _entry(met, value=0.9, condition=">= 0.92", note=None):
    entry = {"condition": condition, "value": value, "met": met}
    if note:
        entry["note"] = note
    return entry


def _results(expect=None):
    rows = metric_rows(5)
    results = results_for(rows, ("accuracy",))
    if expect is not None:
        results["expect"] = expect
    return results


@pytest.fixture
def app() -> typer.Typer:
    app = typer.Typer()
    app.command()(compare)
    app.command("noop")(lambda: None)  # keep `compare` a sub-command
    return app


@pytest.fixture
def runs(tmp_path: Path) -> Path:
    root = tmp_path / "runs"
    met = {"test.accuracy": _entry(True, 0.93)}
    missed = {"test.accuracy": _entry(False, 0.9), "test.loss": _entry(True, 0.2, "<= 0.3")}
    smoke = {"test.accuracy": _entry(None, 0.4, note="skipped: smoke run")}
    make_run(root, "met", stamp="20240101-120000", results=_results(met))
    make_run(root, "missed", stamp="20240101-130000", results=_results(missed))
    make_run(root, "smoke", stamp="20240101-140000", results=_results(smoke))
    make_run(root, "plain", stamp="20240101-150000", results=_results())
    return root


@pytest.mark.parametrize(
    ("checked", "text"),
    [
        (None, "—"),
        ({}, "—"),
        ({"a": _entry(True)}, "met 1/1"),
        ({"a": _entry(True), "b": _entry(True)}, "met 2/2"),
        ({"a": _entry(False), "b": _entry(True)}, "MISSED 1/2"),
        ({"a": _entry(False)}, "MISSED 0/1"),
        ({"a": _entry(None)}, "skipped"),
        ({"a": _entry(True), "b": _entry(None)}, "met 1/1, 1 skipped"),
        ({"a": "garbage"}, "MISSED 0/1"),
    ],
)
def test_expect_summary(checked, text):
    assert expect_summary(checked) == text


def test_table_and_markdown_have_an_expect_column(app, runs):
    comparison = build_comparison(load_runs([runs]))
    names = columns(comparison)
    assert names.index("expect") == names.index("test_accuracy") + 1
    cells = {row[0].rsplit("-", 1)[-1]: row[names.index("expect")] for row in
             display_rows(comparison)}  # fmt: skip
    assert cells == {"met": "met 1/1", "missed": "MISSED 1/2", "smoke": "skipped", "plain": "—"}
    res = runner.invoke(app, ["compare", str(runs)])
    assert res.exit_code == 0, res.output
    assert "expect" in res.stdout and "MISSED 1/2" in res.stdout and "met 1/1" in res.stdout
    md = runner.invoke(app, ["compare", str(runs), "--format", "markdown"]).stdout
    assert "| expect |" in md.splitlines()[0] and "| MISSED 1/2 |" in md


def test_csv_and_json_carry_it(app, runs):
    text = runner.invoke(app, ["compare", str(runs), "--format", "csv"]).stdout
    rows = {r["run"].rsplit("-", 1)[-1]: r for r in csv.DictReader(io.StringIO(text))}
    assert rows["missed"]["expect"] == "MISSED 1/2" and rows["plain"]["expect"] == ""
    doc = json.loads(runner.invoke(app, ["compare", str(runs), "--format", "json"]).stdout)
    assert doc["version"] == 1
    by = {r["run"].rsplit("-", 1)[-1]: r for r in doc["runs"]}
    assert by["missed"]["expect"]["test.accuracy"] == _entry(False, 0.9)
    assert by["smoke"]["expect"]["test.accuracy"]["met"] is None
    assert by["plain"]["expect"] is None


def test_no_expect_column_when_no_run_has_expectations(app, tmp_path):
    make_run(tmp_path / "runs", "a", stamp="20240101-120000")
    make_run(tmp_path / "runs", "b", stamp="20240101-130000", quality=0.8)
    res = runner.invoke(app, ["compare", str(tmp_path / "runs"), "--format", "json"])
    assert all("expect" not in r for r in json.loads(res.stdout)["runs"])
    text = runner.invoke(app, ["compare", str(tmp_path / "runs"), "--format", "csv"]).stdout
    assert "expect" not in text.splitlines()[0]


def test_a_missed_expectation_fails_check_and_shows_in_compare(tiny_config, tmp_path):
    from cnnrun.cli.app import app as cli

    tiny_config.write_text(
        tiny_config.read_text() + 'expect: {test.accuracy: ">= 1.01", test.loss: "< 100"}\n'
    )
    res = runner.invoke(cli, ["train", str(tiny_config), "--runs-dir", str(tmp_path / "runs"),
                              "--epochs", "1", "--check"])  # fmt: skip
    assert res.exit_code == 3, res.output
    assert "expectation not met: test.accuracy" in res.output
    run = Path(res.stdout.strip().splitlines()[-1])
    assert run.is_dir()
    shown = runner.invoke(cli, ["compare", str(run)])
    assert shown.exit_code == 0 and "MISSED 1/2" in shown.stdout
    doc = json.loads(runner.invoke(cli, ["compare", str(run), "--format", "json"]).stdout)
    assert doc["runs"][0]["expect"]["test.accuracy"]["met"] is False
    assert doc["runs"][0]["expect"]["test.loss"]["met"] is True
