"""Runs without a test set (``data.test_split: 0``: ``"test": null``) in compare and show."""

import json

from run_factory import make_run, metric_rows, results_for
from typer.testing import CliRunner

from cnnrun.cli.app import app
from cnnrun.runs.record import load_run

RUNNER = CliRunner()


def no_test_run(root, name="oxford_pets_unet", stamp="20240102-120000"):
    results = results_for(metric_rows(3, metrics=()), ())
    results["test"] = None
    return make_run(root, name, stamp=stamp, metrics=(), epochs=3, results=results)


def test_show_says_there_is_no_test_set(tmp_path):
    run = no_test_run(tmp_path)
    assert json.loads((run / "results.json").read_text())["test"] is None
    assert load_run(run).test == {}
    res = RUNNER.invoke(app, ["show", str(run)], env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    assert "— (no test set)" in res.output


def test_compare_shows_a_dash_for_the_run_without_a_test_set(tmp_path):
    with_test = make_run(tmp_path, "fashion_bn", metrics=())
    without = no_test_run(tmp_path)
    res = RUNNER.invoke(app, ["compare", str(with_test), str(without)], env={"COLUMNS": "250"})
    assert res.exit_code == 0, res.output
    row = next(line for line in res.output.splitlines() if "oxford_pets_unet" in line)
    assert "—" in row
    # only runs without a test set
    res = RUNNER.invoke(app, ["compare", str(without), str(no_test_run(tmp_path, "b"))])
    assert res.exit_code == 0, res.output
    for fmt in ("csv", "json", "markdown"):
        res = RUNNER.invoke(app, ["compare", str(with_test), str(without), "--format", fmt])
        assert res.exit_code == 0, (fmt, res.output)
